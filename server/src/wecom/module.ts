import { DEFAULT_API_BASE, JsapiTicketCache, WecomClient, type CallbackConfig, type WecomClientOptions, type WecomEvent } from '@oa/wecom';
import type { AppDeps } from '../deps.ts';

/**
 * The WeCom module of the server (R20.0, issue 6): one API client and JS-SDK ticket cache per app,
 * the callback configuration, and a registry of event handlers (the card-click handler here; contact
 * sync registers change_contact). `wecomOf(deps)` is null when WeCom is switched off (no WECOM_*).
 */

export interface WecomSettings {
  corpId: string;
  agentId: number;
  apiBase: string;
  /** where the browser goes for H5 OAuth (open.weixin.qq.com, or the fake) */
  oauthBase: string;
  /** where the browser goes for PC web (QR) login (login.work.weixin.qq.com, or the fake) */
  loginBase: string;
}

/** Handles one stored callback event inside the `wecom.event` job; returns a short result for the row. */
export type WecomEventHandler = (event: WecomEvent, meta: { eventId: number; dedupeKey: string }) => Promise<string | void>;

export interface WecomModule {
  settings: WecomSettings;
  callback: CallbackConfig;
  client: WecomClient;
  /** the 通讯录同步 secret's client, when WECOM_CONTACT_SECRET is set (contact sync) */
  contactClient: WecomClient | null;
  tickets: JsapiTicketCache;
  /** register the handler of one event kind (`template_card_event`, `change_contact`, …) */
  onEvent(kind: string, handler: WecomEventHandler): void;
  handlerOf(kind: string): WecomEventHandler | undefined;
  /** Rebuild the clients with other options (tests and benchmarks: no real sleeping on backoff). */
  configureClient(overrides: Partial<WecomClientOptions>): void;
}

const modules = new WeakMap<AppDeps, WecomModule | null>();

/** Real WeCom hosts for the browser; a WECOM_API_BASE other than the real API (the fake) serves all three. */
function browserBases(apiBase: string): { oauthBase: string; loginBase: string } {
  if (apiBase.replace(/\/+$/, '') === DEFAULT_API_BASE) return { oauthBase: 'https://open.weixin.qq.com', loginBase: 'https://login.work.weixin.qq.com' };
  const base = apiBase.replace(/\/+$/, '');
  return { oauthBase: base, loginBase: base };
}

function build(deps: AppDeps): WecomModule | null {
  const c = deps.config;
  if (!c.WECOM_CORP_ID || !c.WECOM_AGENT_ID || !c.WECOM_SECRET || !c.WECOM_TOKEN || !c.WECOM_AES_KEY) return null;
  const apiBase = (c.WECOM_API_BASE ?? DEFAULT_API_BASE).replace(/\/+$/, '');
  const settings: WecomSettings = { corpId: c.WECOM_CORP_ID, agentId: c.WECOM_AGENT_ID, apiBase, ...browserBases(apiBase) };
  const now = () => deps.clock.now().getTime();
  const handlers = new Map<string, WecomEventHandler>();
  let overrides: Partial<WecomClientOptions> = {};
  const makeClient = (secret: string, agentId?: number) => new WecomClient({ corpId: settings.corpId, secret, agentId, apiBase, now, ...overrides });
  const mod: WecomModule = {
    settings,
    callback: { token: c.WECOM_TOKEN, encodingAesKey: c.WECOM_AES_KEY, corpId: settings.corpId, maxBodyBytes: 64 * 1024 },
    client: makeClient(c.WECOM_SECRET, settings.agentId),
    contactClient: c.WECOM_CONTACT_SECRET ? makeClient(c.WECOM_CONTACT_SECRET) : null,
    tickets: null as unknown as JsapiTicketCache,
    onEvent(kind, handler) {
      if (handlers.has(kind)) throw new Error(`WeCom event handler for ${kind} registered twice`);
      handlers.set(kind, handler);
    },
    handlerOf: (kind) => handlers.get(kind),
    configureClient(o) {
      overrides = { ...overrides, ...o };
      mod.client = makeClient(c.WECOM_SECRET!, settings.agentId);
      mod.contactClient = c.WECOM_CONTACT_SECRET ? makeClient(c.WECOM_CONTACT_SECRET) : null;
      mod.tickets = new JsapiTicketCache(mod.client, { now });
    },
  };
  mod.tickets = new JsapiTicketCache(mod.client, { now });
  return mod;
}

/** The WeCom module of this app, or null when WeCom is off. Built once per app. */
export function wecomOf(deps: AppDeps): WecomModule | null {
  if (!modules.has(deps)) modules.set(deps, build(deps));
  return modules.get(deps)!;
}

/** The origin and base of the public address (PUBLIC_URL, else this server on HOST:PORT). */
export function publicBase(deps: AppDeps): string {
  if (deps.config.PUBLIC_URL) return deps.config.PUBLIC_URL.replace(/\/+$/, '');
  const host = deps.config.HOST === '0.0.0.0' || deps.config.HOST === '::' ? 'localhost' : deps.config.HOST;
  return `http://${host}:${deps.config.PORT}`;
}

/**
 * The H5 page of a notification link (the staff client's hash routes, miniapp/src/utils/links.ts):
 * `/workflow/tasks/<id>` → `#/pages/approval/task?id=<id>`, instances likewise, other links → the inbox.
 */
export function h5Url(deps: AppDeps, link: string | undefined): string {
  const base = publicBase(deps);
  const path = (link ?? '').split(/[?#]/)[0]!.replace(/\/+$/, '');
  let m = /^\/workflow\/tasks\/(\d+)$/.exec(path);
  if (m) return `${base}/#/pages/approval/task?id=${m[1]}`;
  m = /^\/workflow\/instances\/(\d+)$/.exec(path);
  if (m) return `${base}/#/pages/approval/instance?id=${m[1]}`;
  if (path === '/workflow/delegations') return `${base}/#/pages/me/index`;
  if (/^\/pages\/[a-z0-9/_-]+$/i.test(path)) return `${base}/#${link}`;
  return `${base}/#/pages/inbox/index`;
}
