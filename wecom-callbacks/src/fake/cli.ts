// `npm run fake-wecom`: starts the fake WeCom server (issue 6 item 7) for development and demo mode.
//
// Environment: FAKE_WECOM_PORT (default 3900), FAKE_WECOM_HOST (127.0.0.1), FAKE_WECOM_PEOPLE (3000),
// FAKE_WECOM_CALLBACK_URL (default http://127.0.0.1:3000/wecom/callback), FAKE_WECOM_TOKEN_TTL (7200).
// Prints the WECOM_* settings that point the server at it.

import { startFakeWecom } from './server.ts';

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`环境变量 ${name} 的值无效：${v}`);
    process.exit(78);
  }
  return n;
}

const fake = await startFakeWecom({
  port: intEnv('FAKE_WECOM_PORT', 3900),
  host: process.env.FAKE_WECOM_HOST || '127.0.0.1',
  people: intEnv('FAKE_WECOM_PEOPLE', 3000),
  tokenTtlSeconds: intEnv('FAKE_WECOM_TOKEN_TTL', 7200),
});
fake.setCallbackUrl(process.env.FAKE_WECOM_CALLBACK_URL || 'http://127.0.0.1:3000/wecom/callback');

console.log(`[模拟企业微信] 已启动：${fake.url}（${fake.directory.users.size} 名成员，${fake.directory.departments.size} 个部门）`);
console.log('Point the server at it with:');
console.log(`  WECOM_API_BASE=${fake.url}`);
console.log(`  WECOM_CORP_ID=${fake.corpId}`);
console.log(`  WECOM_AGENT_ID=${fake.app.agentId}`);
console.log(`  WECOM_SECRET=${fake.app.secret}`);
console.log(`  WECOM_TOKEN=${fake.app.token}`);
console.log(`  WECOM_AES_KEY=${fake.app.encodingAesKey}`);
if (fake.contactApp) console.log(`  (contact-sync secret: ${fake.contactApp.secret})`);
console.log(`Callbacks go to ${fake.app.callbackUrl}; drive it with POST ${fake.url}/__fake/click, /__fake/change-contact, /__fake/faults, /__fake/revoke; sign-in page ${fake.url}/connect/oauth2/authorize?redirect_uri=…`);

const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
