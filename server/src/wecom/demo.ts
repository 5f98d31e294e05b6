import { Op, type Database } from '@oa/db';
import { startFakeWecom, type FakeWecom } from '@oa/wecom';
import type { Config } from '../config.ts';

/**
 * Demo mode (issue 6 item 7, R20.0): with WECOM_FAKE=on and no WECOM_* set, `npm start` runs the fake
 * WeCom in-process on 127.0.0.1:3900 and points the server at it, so the WeCom paths (cards, card
 * clicks, OAuth/QR sign-in pages) can be tried without a real corp. Never used when WECOM_* are set.
 */
export interface DemoWecom {
  fake: FakeWecom;
  config: Config;
  /** Local people with a wecomUserId become members of the fake corp (so messages reach them). */
  addPeople(db: Database): Promise<number>;
  close(): Promise<void>;
}

export const DEMO_WECOM_PORT = 3900;

export async function startDemoWecom(config: Config): Promise<DemoWecom | null> {
  if (config.WECOM_FAKE !== 'on' || config.WECOM_CORP_ID) return null;
  const fake = await startFakeWecom({ port: DEMO_WECOM_PORT, host: '127.0.0.1', people: 40 });
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  fake.setCallbackUrl(`http://${host.includes(':') ? `[${host}]` : host}:${config.PORT}/wecom/callback`);
  const next: Config = {
    ...config,
    WECOM_CORP_ID: fake.corpId,
    WECOM_AGENT_ID: fake.app.agentId!,
    WECOM_SECRET: fake.app.secret,
    WECOM_TOKEN: fake.app.token,
    WECOM_AES_KEY: fake.app.encodingAesKey,
    WECOM_API_BASE: fake.url,
    ...(fake.contactApp ? { WECOM_CONTACT_SECRET: fake.contactApp.secret } : {}),
  };
  return {
    fake,
    config: next,
    async addPeople(db) {
      const people = await db.models.User.findAll({ where: { wecomUserId: { [Op.ne]: null }, status: 'active' }, attributes: ['wecomUserId', 'name'], raw: true });
      let added = 0;
      for (const p of people) {
        if (!p.wecomUserId || fake.directory.getUser(p.wecomUserId)) continue;
        fake.directory.addUser({ userid: p.wecomUserId, name: p.name, department: [1] });
        added++;
      }
      return added;
    },
    close: () => fake.close(),
  };
}
