// A faithful local fake of WeCom's server API (issue 6 item 7, SPEC.md §10), on node:http only.
//
//   const fake = await startFakeWecom({ people: 3000, now: () => clock });
//   new WecomClient({ corpId: fake.corpId, secret: fake.app.secret, agentId: fake.app.agentId, apiBase: fake.url });
//
// Implements: gettoken (per app, same token until expiry, early revocation), the token errors
// 41001/40014/42001, errmsg with the real hint suffix and error-code/error-msg headers, fault injection,
// trusted IPs (60020), OAuth / web-login / jscode codes (single use, 5 minutes, bound to the app and the
// redirect host → 40029 / 50001), getuserdetail with user_ticket (1800 s), contacts (department/list,
// simplelist, get; user/list, simplelist, get, list_id for the 通讯录同步 secret only), message/send with
// visible-range checks, invaliduser (lower-cased), 81013, msgid, response_code (single use, 72 h),
// duplicate check and the silent per-member 30/min, 1000/h drop, update_template_card, recall (24 h),
// jsapi tickets with hourly limits (400 per corp, 100 per app → 45009), and the interaction simulator
// (clickCard, changeContact, verifyCallbackUrl) that POSTs encrypted, signed callbacks to the backend.
// Admin endpoints under /__fake/ drive the same functions over HTTP (npm run fake-wecom, demo mode).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import { Directory, SENSITIVE_USER_FIELDS, type FakeDepartment, type FakeUser } from './directory.ts';

// ---------------------------------------------------------------- options and public types

export interface FakeAppOptions {
  /** Absent for the 通讯录同步 (contact sync) secret. */
  agentId?: number;
  secret: string;
  name?: string;
  /** Callback Token and EncodingAESKey of this app. */
  token?: string;
  encodingAesKey?: string;
  /** Where callbacks of this app are POSTed. */
  callbackUrl?: string;
  /** Visible range: departments (with their subtrees) and single users. Default: the whole corp. */
  visibleDepartments?: number[];
  visibleUsers?: string[];
  /** The 通讯录同步 secret: may call user/list_id. */
  contactSync?: boolean;
  /** Created before 2022-06-20: user/get and user/list still return sensitive fields. */
  legacy?: boolean;
  /** 企业可信IP; empty/absent = any caller (else 60020). */
  trustedIps?: string[];
  /** OAuth / web-login redirect hosts (exact, with port); empty/absent = any (else 50001). */
  redirectHosts?: string[];
}

export interface FakeWecomOptions {
  port?: number;
  host?: string;
  corpId?: string;
  /** Default: one self-built app (agent 1000002) and the contact-sync secret. */
  apps?: FakeAppOptions[];
  /** Members to seed (deterministic hospital); default 40. */
  people?: number;
  /** Access-token lifetime (default 7200 s). */
  tokenTtlSeconds?: number;
  /** Return the same token on repeated gettoken until it expires (default true). */
  sameTokenUntilExpiry?: boolean;
  ticketTtlSeconds?: number;
  /** OAuth / web-login / jscode code lifetime (default 300 s). */
  codeTtlSeconds?: number;
  /** response_code lifetime (default 72 h). */
  responseCodeTtlSeconds?: number;
  /** Injectable clock (ms). */
  now?: () => number;
  /** Callback delivery: attempts (default 3) and per-attempt timeout (default 5000 ms). */
  callbackAttempts?: number;
  callbackTimeoutMs?: number;
  /** Spelling of the vote option ids in template_card_event (SPEC.md §5.3). */
  optionIdSpelling?: 'OptionIds' | 'OpitonIds';
  /** errcode for a used/expired/unknown response_code and for a duplicate task_id (UNVERIFIED; default 40058). */
  invalidResponseCodeErrcode?: number;
  duplicateTaskIdErrcode?: number;
  /** Per member per app (default 30 / 1000), beyond which messages are silently dropped. */
  memberPerMinute?: number;
  memberPerHour?: number;
  /** Ticket fetches per hour (default 400 per corp, 100 per app). */
  corpTicketsPerHour?: number;
  agentTicketsPerHour?: number;
}

export interface FakeApp extends FakeAppOptions {
  token: string;
  encodingAesKey: string;
}

export interface SentMessage {
  msgid: string;
  agentId: number;
  at: number;
  msgtype: string;
  body: Record<string, unknown>;
  /** Recipients the message was delivered to (canonical userids). */
  delivered: string[];
  /** Valid recipients whose copy was silently dropped by the per-member rate limit. */
  dropped: string[];
  invalidUsers: string[];
  invalidParties: string[];
  invalidTags: string[];
  /** For interactive template cards. */
  taskId?: string;
  responseCode?: string;
  /** Not delivered: identical body inside duplicate_check_interval. */
  duplicate: boolean;
  recalled: boolean;
}

export interface CardUpdate {
  at: number;
  agentId: number;
  taskId: string;
  responseCode: string;
  /** Updated recipients (all recipients of the card when atall=1). */
  userids: string[];
  replaceName?: string;
  templateCard?: Record<string, unknown>;
  /** 'api' = update_template_card, 'passive' = update_button reply to a callback. */
  via: 'api' | 'passive';
}

export interface CallbackDelivery {
  url: string;
  /** The exact request, for replays. */
  query: { msg_signature: string; timestamp: string; nonce: string };
  body: string;
  plaintext: string;
  attempts: number;
  status?: number;
  responseBody?: string;
  /** Decrypted passive reply, if the backend answered with one. */
  reply?: string;
  error?: string;
}

export interface Fault {
  errcode: number;
  /** Only this API path (e.g. "/cgi-bin/message/send"); default every business API (not gettoken). */
  path?: string;
  /** The next N matching calls fail (default 1)… */
  times?: number;
  /** …or every N-th matching call fails until cleared. */
  every?: number;
}

export type ContactChange =
  | { changeType: 'create_user'; user: Partial<FakeUser> & { userid: string; name: string; department: number[] }; mode?: 'full' | 'minimal' }
  | { changeType: 'update_user'; userid: string; patch: Partial<FakeUser> & { newUserId?: string }; mode?: 'full' | 'minimal' }
  | { changeType: 'delete_user'; userid: string }
  | { changeType: 'create_party'; department: { id: number; name: string; parentid: number; order?: number } }
  | { changeType: 'update_party'; id: number; patch: { name?: string; parentid?: number; order?: number } }
  | { changeType: 'delete_party'; id: number };

export interface FakeWecom {
  url: string;
  port: number;
  corpId: string;
  /** The self-built app (first app with an agent id). */
  app: FakeApp;
  /** The contact-sync secret's app, if configured. */
  contactApp?: FakeApp;
  apps: FakeApp[];
  directory: Directory;
  messages: SentMessage[];
  cardUpdates: CardUpdate[];
  recalls: Array<{ at: number; msgid: string; agentId: number }>;
  deliveries: CallbackDelivery[];
  /** Every API request: path, errcode answered, time. */
  calls: Array<{ path: string; errcode: number; at: number }>;
  /** Requests made to `path` (or all API requests). */
  callCount(path?: string): number;
  close(): Promise<void>;
  /** Tokens of one app (default all apps) answer `errcode` from now on (default 40014). */
  revokeTokens(opts?: { agentId?: number; secret?: string; errcode?: 40014 | 42001 }): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Mints a single-use code as WeCom would after sign-in (SPEC.md §3, §4). */
  mintCode(opts: { kind: 'oauth' | 'web_login' | 'jscode'; userid: string; agentId?: number; redirectHost?: string; scope?: 'snsapi_base' | 'snsapi_privateinfo' }): string;
  setCallbackUrl(url: string, agentId?: number): void;
  /** "Person X clicks button K on card T": POSTs a template_card_event to the backend. */
  clickCard(opts: { userid: string; taskId?: string; responseCode?: string; buttonKey: string; agentId?: number; selectedItems?: Array<{ questionKey: string; optionIds: string[] }> }): Promise<CallbackDelivery>;
  /** Applies a contact change to the directory and POSTs the change_contact event. */
  changeContact(change: ContactChange, opts?: { agentId?: number }): Promise<CallbackDelivery>;
  /** POSTs any plaintext message XML as a callback (e.g. enter_agent). */
  sendCallback(plaintextXml: string, opts?: { agentId?: number }): Promise<CallbackDelivery>;
  /** Sends a delivery's exact request again (WeCom retry / replay). */
  replay(delivery: CallbackDelivery): Promise<CallbackDelivery>;
  /** GET URL verification with an encrypted echostr; ok when the body is exactly the plaintext. */
  verifyCallbackUrl(opts?: { agentId?: number; timeoutMs?: number }): Promise<{ ok: boolean; status?: number; body?: string; expected: string; ms: number }>;
  /** Cards sent per task id (latest message). */
  card(taskId: string, agentId?: number): SentMessage | undefined;
}

// ---------------------------------------------------------------- implementation

const DEFAULT_CORP = 'wwfakecorp0000001';
const DEFAULT_AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

const ERRMSG: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40003: 'invalid userid',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40035: 'invalid parameter',
  40056: 'invalid agentid',
  40058: 'invalid parameter',
  41001: 'access_token missing',
  42001: 'access_token expired',
  44004: 'empty content',
  45009: 'api freq out of limit',
  45033: 'api concurrent out of limit',
  47001: 'data format error',
  48002: 'api forbidden',
  50001: 'redirect_url not authorised',
  60011: 'no privilege to access/modify contact/party/agent ',
  60020: 'not allow to access from your ip',
  60111: 'userid not found',
  60123: 'invalid party id',
  81013: 'user & party & tag all invalid',
  301002: 'no privilege to operate the agent',
};

class ApiFault extends Error {
  constructor(
    readonly errcode: number,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(String(errcode));
  }
}

interface TokenEntry {
  token: string;
  app: FakeApp;
  expiresAt: number;
  revokedWith?: number;
}

interface CodeEntry {
  kind: 'oauth' | 'web_login' | 'jscode';
  userid: string;
  agentId?: number;
  redirectHost?: string;
  scope: string;
  expiresAt: number;
  used: boolean;
}

interface ResponseCodeEntry {
  agentId: number;
  taskId: string;
  expiresAt: number;
  used: boolean;
}

interface CardState {
  agentId: number;
  taskId: string;
  cardType: string;
  msgid: string;
  recipients: string[];
}

function rid(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

function appKey(app: FakeApp): string {
  return `${app.agentId ?? 'contacts'}:${app.secret}`;
}

export async function startFakeWecom(opts: FakeWecomOptions = {}): Promise<FakeWecom> {
  const now = opts.now ?? Date.now;
  const corpId = opts.corpId ?? DEFAULT_CORP;
  const tokenTtl = (opts.tokenTtlSeconds ?? 7200) * 1000;
  const ticketTtl = (opts.ticketTtlSeconds ?? 7200) * 1000;
  const codeTtl = (opts.codeTtlSeconds ?? 300) * 1000;
  const responseCodeTtl = (opts.responseCodeTtlSeconds ?? 72 * 3600) * 1000;
  const sameToken = opts.sameTokenUntilExpiry ?? true;
  const attempts = opts.callbackAttempts ?? 3;
  const callbackTimeout = opts.callbackTimeoutMs ?? 5000;
  const invalidResponseCode = opts.invalidResponseCodeErrcode ?? 40058;
  const duplicateTaskId = opts.duplicateTaskIdErrcode ?? 40058;
  const perMinute = opts.memberPerMinute ?? 30;
  const perHour = opts.memberPerHour ?? 1000;
  const corpTicketsPerHour = opts.corpTicketsPerHour ?? 400;
  const agentTicketsPerHour = opts.agentTicketsPerHour ?? 100;

  const apps: FakeApp[] = (
    opts.apps ?? [
      { agentId: 1000002, secret: 'fake-app-secret', name: '协同办公' },
      { secret: 'fake-contact-secret', name: '通讯录同步', contactSync: true },
    ]
  ).map((a) => ({ ...a, token: a.token ?? 'fakeCallbackToken', encodingAesKey: a.encodingAesKey ?? DEFAULT_AES_KEY }));
  const mainApp = apps.find((a) => a.agentId !== undefined);
  if (!mainApp) throw new Error('the fake needs at least one app with an agentId');
  const contactApp = apps.find((a) => a.contactSync);

  const directory = new Directory();
  directory.seedHospital(opts.people ?? 40);

  const tokens = new Map<string, TokenEntry>();
  const currentToken = new Map<string, TokenEntry>();
  const codes = new Map<string, CodeEntry>();
  const userTickets = new Map<string, { userid: string; agentId?: number; expiresAt: number }>();
  const responseCodes = new Map<string, ResponseCodeEntry>();
  const cards = new Map<string, CardState>();
  const tickets = new Map<string, { expiresAt: number; agentId?: number }>();
  const ticketFetches: { corp: number[]; agent: Map<number, number[]> } = { corp: [], agent: new Map() };
  const memberSends = new Map<string, number[]>();
  const recentBodies = new Map<string, { at: number; msgid: string }>();
  let faults: Array<Fault & { seen: number }> = [];
  let msgSeq = 0;

  const fake = {
    corpId,
    app: mainApp,
    contactApp,
    apps,
    directory,
    messages: [] as SentMessage[],
    cardUpdates: [] as CardUpdate[],
    recalls: [] as Array<{ at: number; msgid: string; agentId: number }>,
    deliveries: [] as CallbackDelivery[],
    calls: [] as Array<{ path: string; errcode: number; at: number }>,
  };

  const appByAgent = (agentId?: number): FakeApp => {
    const a = agentId === undefined ? mainApp : apps.find((x) => x.agentId === agentId);
    if (!a) throw new Error(`no fake app with agentId ${agentId}`);
    return a;
  };

  // ---------------------------------------------------------------- visibility

  const visibleDeps = (app: FakeApp): Set<number> => {
    if (!app.visibleDepartments) return new Set(directory.departments.keys());
    return new Set(app.visibleDepartments.flatMap((d) => directory.subtree(d)));
  };
  const userVisible = (app: FakeApp, u: FakeUser, deps = visibleDeps(app)): boolean =>
    u.department.some((d) => deps.has(d)) || (app.visibleUsers ?? []).some((v) => v.toLowerCase() === u.userid.toLowerCase());
  const userView = (app: FakeApp, u: FakeUser): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...u };
    if (!app.legacy) for (const f of SENSITIVE_USER_FIELDS) delete out[f];
    return out;
  };

  // ---------------------------------------------------------------- token handling

  const issueToken = (app: FakeApp): TokenEntry => {
    const key = appKey(app);
    const cur = currentToken.get(key);
    if (sameToken && cur && !cur.revokedWith && now() < cur.expiresAt) return cur;
    const entry: TokenEntry = { token: `fake_at_${rid(48)}`, app, expiresAt: now() + tokenTtl };
    tokens.set(entry.token, entry);
    currentToken.set(key, entry);
    return entry;
  };

  const authApp = (url: URL): FakeApp => {
    const token = url.searchParams.get('access_token');
    if (!token) throw new ApiFault(41001);
    const entry = tokens.get(token);
    if (!entry) throw new ApiFault(40014);
    if (entry.revokedWith) throw new ApiFault(entry.revokedWith);
    if (now() >= entry.expiresAt) throw new ApiFault(42001);
    return entry.app;
  };

  const takeFault = (path: string): number | undefined => {
    for (const f of faults) {
      const matches = f.path ? f.path === path : path !== '/cgi-bin/gettoken';
      if (!matches) continue;
      f.seen++;
      if (f.every) {
        if (f.seen % f.every === 0) return f.errcode;
        continue;
      }
      if ((f.times ?? 1) > 0) {
        f.times = (f.times ?? 1) - 1;
        if (f.times <= 0) faults = faults.filter((x) => x !== f);
        return f.errcode;
      }
    }
    return undefined;
  };

  // ---------------------------------------------------------------- codes

  const mintCode: FakeWecom['mintCode'] = (o) => {
    const code = `${o.kind === 'jscode' ? 'js' : 'oc'}_${rid(24)}`;
    codes.set(code, { kind: o.kind, userid: o.userid, agentId: o.agentId ?? mainApp.agentId, redirectHost: o.redirectHost, scope: o.scope ?? 'snsapi_base', expiresAt: now() + codeTtl, used: false });
    return code;
  };

  const takeCode = (code: string | null, app: FakeApp, kinds: CodeEntry['kind'][]): CodeEntry => {
    const entry = code ? codes.get(code) : undefined;
    if (!entry || entry.used || now() >= entry.expiresAt || !kinds.includes(entry.kind) || entry.agentId !== app.agentId) throw new ApiFault(40029);
    entry.used = true;
    if (entry.redirectHost && app.redirectHosts?.length && !app.redirectHosts.includes(entry.redirectHost)) throw new ApiFault(50001);
    return entry;
  };

  // ---------------------------------------------------------------- message/send

  const resolveRecipients = (app: FakeApp, body: Record<string, unknown>) => {
    const deps = visibleDeps(app);
    const delivered = new Map<string, string>();
    const invalidUsers: string[] = [];
    const invalidParties: string[] = [];
    const invalidTags: string[] = [];
    const touser = typeof body.touser === 'string' ? body.touser : '';
    const toparty = typeof body.toparty === 'string' || typeof body.toparty === 'number' ? String(body.toparty) : '';
    const totag = typeof body.totag === 'string' || typeof body.totag === 'number' ? String(body.totag) : '';
    if (!touser && !toparty && !totag) throw new ApiFault(40035);
    if (touser === '@all') {
      for (const u of directory.users.values()) if (userVisible(app, u, deps)) delivered.set(u.userid.toLowerCase(), u.userid);
      return { delivered: [...delivered.values()], invalidUsers, invalidParties, invalidTags };
    }
    const users = touser ? touser.split('|') : [];
    const parties = toparty ? toparty.split('|') : [];
    const tags = totag ? totag.split('|') : [];
    if (users.length > 1000 || parties.length > 100 || tags.length > 100) throw new ApiFault(40058);
    for (const id of users) {
      const u = directory.getUser(id);
      if (u && userVisible(app, u, deps)) delivered.set(u.userid.toLowerCase(), u.userid);
      else invalidUsers.push(id.toLowerCase());
    }
    for (const p of parties) {
      const pid = Number(p);
      if (!directory.departments.has(pid) || !deps.has(pid)) {
        invalidParties.push(p);
        continue;
      }
      const sub = new Set(directory.subtree(pid));
      for (const u of directory.users.values()) if (u.department.some((d) => sub.has(d))) delivered.set(u.userid.toLowerCase(), u.userid);
    }
    invalidTags.push(...tags); // the fake has no tags
    return { delivered: [...delivered.values()], invalidUsers, invalidParties, invalidTags };
  };

  const allowedByMemberRate = (agentId: number, userid: string, at: number): boolean => {
    const key = `${agentId}:${userid.toLowerCase()}`;
    const times = (memberSends.get(key) ?? []).filter((t) => t > at - 3_600_000);
    const inMinute = times.filter((t) => t > at - 60_000).length;
    if (inMinute >= perMinute || times.length >= perHour) {
      memberSends.set(key, times);
      return false;
    }
    times.push(at);
    memberSends.set(key, times);
    return true;
  };

  const messageSend = (app: FakeApp, raw: string, body: Record<string, unknown>) => {
    if (app.agentId === undefined) throw new ApiFault(48002);
    if (Number(body.agentid) !== app.agentId) throw new ApiFault(40056);
    const msgtype = String(body.msgtype ?? '');
    const payload = body[msgtype] as Record<string, unknown> | undefined;
    if (!['text', 'textcard', 'markdown', 'news', 'template_card', 'image', 'file', 'voice', 'video', 'mpnews', 'miniprogram_notice'].includes(msgtype) || !payload || typeof payload !== 'object') {
      throw new ApiFault(40058);
    }
    if ((msgtype === 'text' || msgtype === 'markdown') && !String(payload.content ?? '').trim()) throw new ApiFault(44004);
    if (msgtype === 'textcard' && (!payload.title || !payload.description || !payload.url)) throw new ApiFault(40058);
    if (msgtype === 'news') {
      const articles = payload.articles;
      if (!Array.isArray(articles) || articles.length < 1 || articles.length > 8) throw new ApiFault(40058);
    }
    let taskId: string | undefined;
    let interactive = false;
    if (msgtype === 'template_card') {
      const cardType = String(payload.card_type ?? '');
      interactive = ['button_interaction', 'vote_interaction', 'multiple_interaction'].includes(cardType) || !!payload.action_menu;
      if (['text_notice', 'news_notice'].includes(cardType) && !payload.card_action) throw new ApiFault(40058);
      if (interactive) {
        taskId = typeof payload.task_id === 'string' ? payload.task_id : undefined;
        if (!taskId || !/^[0-9A-Za-z_\-@]{1,128}$/.test(taskId)) throw new ApiFault(40058);
        if (cards.has(`${app.agentId}:${taskId}`)) throw new ApiFault(duplicateTaskId);
      }
      if (cardType === 'button_interaction' && (!Array.isArray(payload.button_list) || payload.button_list.length === 0)) throw new ApiFault(40058);
    }
    const r = resolveRecipients(app, body);
    if (r.delivered.length === 0) throw new ApiFault(81013, { invaliduser: r.invalidUsers.join('|') });
    const at = now();
    const msgid = `fake_msg_${++msgSeq}_${rid(6)}`;
    let duplicate = false;
    if (Number(body.enable_duplicate_check) === 1) {
      const interval = Math.min(Number(body.duplicate_check_interval) || 1800, 14400) * 1000;
      const key = `${app.agentId}:${raw}`;
      const prev = recentBodies.get(key);
      if (prev && at - prev.at < interval) duplicate = true;
      else recentBodies.set(key, { at, msgid });
    }
    const delivered: string[] = [];
    const dropped: string[] = [];
    if (!duplicate) for (const u of r.delivered) (allowedByMemberRate(app.agentId, u, at) ? delivered : dropped).push(u);
    let responseCode: string | undefined;
    if (interactive && taskId && !duplicate) {
      responseCode = `rc_${rid(24)}`;
      responseCodes.set(responseCode, { agentId: app.agentId, taskId, expiresAt: at + responseCodeTtl, used: false });
      cards.set(`${app.agentId}:${taskId}`, { agentId: app.agentId, taskId, cardType: String(payload.card_type), msgid, recipients: r.delivered });
    }
    const message: SentMessage = {
      msgid,
      agentId: app.agentId,
      at,
      msgtype,
      body,
      delivered,
      dropped,
      invalidUsers: r.invalidUsers,
      invalidParties: r.invalidParties,
      invalidTags: r.invalidTags,
      ...(taskId ? { taskId } : {}),
      ...(responseCode ? { responseCode } : {}),
      duplicate,
      recalled: false,
    };
    fake.messages.push(message);
    return {
      invaliduser: r.invalidUsers.join('|'),
      invalidparty: r.invalidParties.join('|'),
      invalidtag: r.invalidTags.join('|'),
      unlicenseduser: '',
      msgid,
      ...(responseCode ? { response_code: responseCode } : {}),
    };
  };

  const updateTemplateCard = (app: FakeApp, body: Record<string, unknown>) => {
    if (app.agentId === undefined) throw new ApiFault(48002);
    if (Number(body.agentid) !== app.agentId) throw new ApiFault(40056);
    const code = String(body.response_code ?? '');
    const entry = responseCodes.get(code);
    if (!entry || entry.used || now() >= entry.expiresAt || entry.agentId !== app.agentId) throw new ApiFault(invalidResponseCode);
    const button = body.button as { replace_name?: string } | undefined;
    const templateCard = body.template_card as Record<string, unknown> | undefined;
    if (!button?.replace_name && !templateCard) throw new ApiFault(40058);
    entry.used = true;
    const card = cards.get(`${app.agentId}:${entry.taskId}`);
    const recipients = card?.recipients ?? [];
    let userids: string[];
    const invaliduser: string[] = [];
    if (Number(body.atall) === 1) userids = recipients;
    else {
      userids = [];
      for (const id of Array.isArray(body.userids) ? (body.userids as unknown[]).map(String) : []) {
        const hit = recipients.find((r) => r.toLowerCase() === id.toLowerCase());
        if (hit) userids.push(hit);
        else invaliduser.push(id.toLowerCase());
      }
    }
    fake.cardUpdates.push({
      at: now(),
      agentId: app.agentId,
      taskId: entry.taskId,
      responseCode: code,
      userids,
      ...(button?.replace_name ? { replaceName: button.replace_name } : {}),
      ...(templateCard ? { templateCard } : {}),
      via: 'api',
    });
    return { invaliduser };
  };

  const recall = (app: FakeApp, body: Record<string, unknown>) => {
    const msg = fake.messages.find((m) => m.msgid === body.msgid && m.agentId === app.agentId);
    if (!msg || msg.recalled || now() - msg.at > 24 * 3_600_000) throw new ApiFault(40058);
    msg.recalled = true;
    fake.recalls.push({ at: now(), msgid: msg.msgid, agentId: app.agentId! });
    return {};
  };

  // ---------------------------------------------------------------- tickets

  const fetchTicket = (app: FakeApp, kind: 'corp' | 'agent') => {
    const at = now();
    ticketFetches.corp = ticketFetches.corp.filter((t) => t > at - 3_600_000);
    if (kind === 'corp') {
      if (ticketFetches.corp.length >= corpTicketsPerHour) throw new ApiFault(45009);
      ticketFetches.corp.push(at);
    } else {
      if (app.agentId === undefined) throw new ApiFault(48002);
      const list = (ticketFetches.agent.get(app.agentId) ?? []).filter((t) => t > at - 3_600_000);
      if (list.length >= agentTicketsPerHour) throw new ApiFault(45009);
      list.push(at);
      ticketFetches.agent.set(app.agentId, list);
    }
    const ticket = `fake_${kind}_ticket_${rid(32)}`;
    tickets.set(ticket, { expiresAt: at + ticketTtl, ...(kind === 'agent' ? { agentId: app.agentId } : {}) });
    return { ticket, expires_in: Math.round(ticketTtl / 1000) };
  };

  // ---------------------------------------------------------------- API routing

  const api = (app: FakeApp, path: string, url: URL, raw: string, body: Record<string, unknown>): Record<string, unknown> => {
    const q = (k: string) => url.searchParams.get(k);
    const deps = () => visibleDeps(app);
    switch (path) {
      case '/cgi-bin/message/send':
        return messageSend(app, raw, body);
      case '/cgi-bin/message/update_template_card':
        return updateTemplateCard(app, body);
      case '/cgi-bin/message/recall':
        return recall(app, body);
      case '/cgi-bin/department/list':
      case '/cgi-bin/department/simplelist': {
        const visible = deps();
        let ids: number[];
        if (q('id')) {
          const id = Number(q('id'));
          if (!directory.departments.has(id)) throw new ApiFault(60123);
          if (!visible.has(id)) throw new ApiFault(60011);
          ids = directory.subtree(id);
        } else ids = [...directory.departments.keys()].filter((d) => visible.has(d));
        const list = ids.map((i) => directory.departments.get(i)!).sort((a, b) => a.id - b.id);
        return path.endsWith('simplelist')
          ? { department_id: list.map((d) => ({ id: d.id, parentid: d.parentid, order: d.order })) }
          : { department: list.map((d: FakeDepartment) => ({ ...d })) };
      }
      case '/cgi-bin/department/get': {
        const d = directory.departments.get(Number(q('id')));
        if (!d) throw new ApiFault(60123);
        if (!deps().has(d.id)) throw new ApiFault(60011);
        return { department: { ...d } };
      }
      case '/cgi-bin/user/list':
      case '/cgi-bin/user/simplelist': {
        const depId = Number(q('department_id'));
        if (!directory.departments.has(depId)) throw new ApiFault(60123);
        if (!deps().has(depId)) throw new ApiFault(60011);
        const members = [...directory.users.values()].filter((u) => u.department.includes(depId));
        return {
          userlist: path.endsWith('simplelist')
            ? members.map((u) => ({ userid: u.userid, name: u.name, department: u.department, open_userid: u.open_userid }))
            : members.map((u) => userView(app, u)),
        };
      }
      case '/cgi-bin/user/get': {
        const u = directory.getUser(q('userid') ?? '');
        if (!u) throw new ApiFault(60111);
        if (!userVisible(app, u)) throw new ApiFault(60011);
        return userView(app, u);
      }
      case '/cgi-bin/user/list_id': {
        if (!app.contactSync) throw new ApiFault(48002);
        const limit = body.limit === undefined ? 10000 : Number(body.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new ApiFault(40058);
        const offset = body.cursor ? Number(Buffer.from(String(body.cursor), 'base64url').toString()) : 0;
        if (!Number.isInteger(offset) || offset < 0) throw new ApiFault(40058);
        const pairs = [...directory.users.values()].flatMap((u) => u.department.map((d) => ({ userid: u.userid, department: d })));
        const page = pairs.slice(offset, offset + limit);
        const next = offset + limit < pairs.length ? Buffer.from(String(offset + limit)).toString('base64url') : '';
        return { next_cursor: next, dept_user: page };
      }
      case '/cgi-bin/auth/getuserinfo': {
        const entry = takeCode(q('code'), app, ['oauth', 'web_login']);
        const u = directory.getUser(entry.userid);
        if (!u) return { openid: `o_${Buffer.from(entry.userid).toString('hex')}` };
        const out: Record<string, unknown> = { userid: u.userid };
        if (entry.scope === 'snsapi_privateinfo' && userVisible(app, u)) {
          const ticket = `ut_${rid(32)}`;
          userTickets.set(ticket, { userid: u.userid, agentId: app.agentId, expiresAt: now() + 1_800_000 });
          out.user_ticket = ticket;
        }
        return out;
      }
      case '/cgi-bin/auth/getuserdetail': {
        const t = userTickets.get(String(body.user_ticket ?? ''));
        if (!t || now() >= t.expiresAt || t.agentId !== app.agentId) throw new ApiFault(40058);
        const u = directory.getUser(t.userid);
        if (!u) throw new ApiFault(60111);
        return { userid: u.userid, gender: u.gender, avatar: u.avatar, qr_code: '', mobile: u.mobile, email: u.email, biz_mail: u.biz_mail, address: u.address };
      }
      case '/cgi-bin/miniprogram/jscode2session': {
        if (q('grant_type') !== 'authorization_code') throw new ApiFault(40058);
        const entry = takeCode(q('js_code'), app, ['jscode']);
        const u = directory.getUser(entry.userid);
        if (!u) throw new ApiFault(60111);
        return { corpid: corpId, userid: u.userid, session_key: randomBytes(16).toString('base64') };
      }
      case '/cgi-bin/get_jsapi_ticket':
        return fetchTicket(app, 'corp');
      case '/cgi-bin/ticket/get':
        if (q('type') !== 'agent_config') throw new ApiFault(40058);
        return fetchTicket(app, 'agent');
      default:
        throw new ApiFault(404);
    }
  };

  const sendJson = (res: ServerResponse, errcode: number, extra: Record<string, unknown>, ip: string): void => {
    let errmsg = 'ok';
    if (errcode !== 0) {
      errmsg = `${ERRMSG[errcode] ?? 'error'}, hint: [${Math.floor(now() / 1000)}_${rid(6)}], from ip: ${ip}, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`;
      res.setHeader('error-code', String(errcode));
      res.setHeader('error-msg', encodeURIComponent(errmsg));
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify({ errcode, errmsg, ...extra }));
  };

  const handleApi = (req: IncomingMessage, res: ServerResponse, url: URL, raw: string): void => {
    const path = url.pathname;
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const answer = (errcode: number, extra: Record<string, unknown> = {}) => {
      fake.calls.push({ path, errcode, at: now() });
      sendJson(res, errcode, errcode === 0 ? extra : (extra as Record<string, unknown>), ip);
    };
    try {
      const injected = takeFault(path);
      if (injected !== undefined) throw new ApiFault(injected);
      if (path === '/cgi-bin/gettoken') {
        if (url.searchParams.get('corpid') !== corpId) throw new ApiFault(40013);
        const app = apps.find((a) => a.secret === url.searchParams.get('corpsecret'));
        if (!app) throw new ApiFault(40001);
        if (app.trustedIps?.length && !app.trustedIps.includes(ip)) throw new ApiFault(60020);
        const t = issueToken(app);
        answer(0, { access_token: t.token, expires_in: Math.max(0, Math.round((t.expiresAt - now()) / 1000)) });
        return;
      }
      const app = authApp(url);
      if (app.trustedIps?.length && !app.trustedIps.includes(ip)) throw new ApiFault(60020);
      let body: Record<string, unknown> = {};
      if (req.method === 'POST') {
        try {
          const parsed = JSON.parse(raw || '{}') as unknown;
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch {
          throw new ApiFault(47001);
        }
      }
      answer(0, api(app, path, url, raw, body));
    } catch (err) {
      if (err instanceof ApiFault) {
        if (err.errcode === 404) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
          return;
        }
        answer(err.errcode, err.extra);
        return;
      }
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String((err as Error).stack ?? err));
    }
  };

  // ---------------------------------------------------------------- callbacks (interaction simulator)

  const postCallback = async (app: FakeApp, query: CallbackDelivery['query'], body: string, plaintext: string): Promise<CallbackDelivery> => {
    if (!app.callbackUrl) throw new Error(`fake app ${app.agentId ?? 'contacts'} has no callbackUrl (setCallbackUrl)`);
    const target = new URL(app.callbackUrl);
    for (const [k, v] of Object.entries(query)) target.searchParams.set(k, v);
    const delivery: CallbackDelivery = { url: app.callbackUrl, query, body, plaintext, attempts: 0 };
    for (let i = 0; i < attempts; i++) {
      delivery.attempts++;
      try {
        const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/xml' }, body, signal: AbortSignal.timeout(callbackTimeout) });
        delivery.status = res.status;
        delivery.responseBody = await res.text();
        delete delivery.error;
        if (res.status >= 500) continue;
        break;
      } catch (err) {
        delivery.error = (err as Error).message;
      }
    }
    if (delivery.status === 200 && delivery.responseBody?.includes('<Encrypt>')) {
      try {
        const enc = /<Encrypt><!\[CDATA\[([^\]]+)\]\]><\/Encrypt>/.exec(delivery.responseBody)?.[1] ?? '';
        const sig = /<MsgSignature><!\[CDATA\[([0-9a-f]+)\]\]><\/MsgSignature>/.exec(delivery.responseBody)?.[1] ?? '';
        const ts = /<TimeStamp>(?:<!\[CDATA\[)?(\d+)/.exec(delivery.responseBody)?.[1] ?? '';
        const nonce = /<Nonce>(?:<!\[CDATA\[)?([^\]<]+)/.exec(delivery.responseBody)?.[1] ?? '';
        if (getSignature(app.token, ts, nonce, enc) !== sig) throw new Error('passive reply signature mismatch');
        const out = decrypt(app.encodingAesKey, enc);
        if (out.id !== corpId) throw new Error('passive reply receive id mismatch');
        delivery.reply = out.message;
        recordPassiveReply(app, plaintext, out.message);
      } catch (err) {
        delivery.error = `passive reply rejected: ${(err as Error).message}`;
      }
    }
    fake.deliveries.push(delivery);
    return delivery;
  };

  const recordPassiveReply = (app: FakeApp, requestPlaintext: string, reply: string): void => {
    if (!/<MsgType><!\[CDATA\[update_button\]\]><\/MsgType>|<MsgType>update_button<\/MsgType>/.test(reply)) return;
    const name = /<ReplaceName><!\[CDATA\[([\s\S]*?)\]\]><\/ReplaceName>/.exec(reply)?.[1];
    const taskId = /<TaskId><!\[CDATA\[([\s\S]*?)\]\]><\/TaskId>/.exec(requestPlaintext)?.[1] ?? '';
    const userid = /<FromUserName><!\[CDATA\[([\s\S]*?)\]\]><\/FromUserName>/.exec(requestPlaintext)?.[1] ?? '';
    const code = /<ResponseCode><!\[CDATA\[([\s\S]*?)\]\]><\/ResponseCode>/.exec(requestPlaintext)?.[1] ?? '';
    const entry = responseCodes.get(code);
    if (entry) entry.used = true;
    fake.cardUpdates.push({ at: now(), agentId: app.agentId ?? 0, taskId, responseCode: code, userids: [userid], ...(name !== undefined ? { replaceName: name } : {}), via: 'passive' });
  };

  const cd = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

  const envelope = (app: FakeApp, plaintext: string, agentIdText: string) => {
    const encrypted = encrypt(app.encodingAesKey, plaintext, corpId);
    const timestamp = String(Math.floor(now() / 1000));
    const nonce = String(randomBytes(4).readUInt32BE(0));
    const msg_signature = getSignature(app.token, timestamp, nonce, encrypted);
    const body = `<xml><ToUserName>${cd(corpId)}</ToUserName><Encrypt>${cd(encrypted)}</Encrypt><AgentID>${cd(agentIdText)}</AgentID></xml>`;
    return { query: { msg_signature, timestamp, nonce }, body };
  };

  const sendCallback: FakeWecom['sendCallback'] = async (plaintext, o = {}) => {
    const app = appByAgent(o.agentId);
    const { query, body } = envelope(app, plaintext, String(app.agentId ?? ''));
    return postCallback(app, query, body, plaintext);
  };

  const clickCard: FakeWecom['clickCard'] = async (o) => {
    const app = appByAgent(o.agentId);
    let taskId = o.taskId;
    if (!taskId && o.responseCode) taskId = responseCodes.get(o.responseCode)?.taskId;
    if (!taskId) throw new Error('clickCard needs a taskId or the response_code of a sent card');
    const card = cards.get(`${app.agentId}:${taskId}`);
    if (!card) throw new Error(`no card with task_id ${taskId} was sent by agent ${app.agentId}`);
    const user = card.recipients.find((r) => r.toLowerCase() === o.userid.toLowerCase());
    if (!user) throw new Error(`${o.userid} did not receive card ${taskId}`);
    const responseCode = `rc_${rid(24)}`;
    responseCodes.set(responseCode, { agentId: app.agentId!, taskId, expiresAt: now() + responseCodeTtl, used: false });
    const idsTag = opts.optionIdSpelling ?? 'OptionIds';
    const idTag = idsTag === 'OptionIds' ? 'OptionId' : 'OpitonId';
    const selected = o.selectedItems?.length
      ? `<SelectedItems>${o.selectedItems
          .map((s) => `<SelectedItem><QuestionKey>${cd(s.questionKey)}</QuestionKey><${idsTag}>${s.optionIds.map((id) => `<${idTag}>${cd(id)}</${idTag}>`).join('')}</${idsTag}></SelectedItem>`)
          .join('')}</SelectedItems>`
      : '';
    const plaintext =
      `<xml><ToUserName>${cd(corpId)}</ToUserName><FromUserName>${cd(user)}</FromUserName><CreateTime>${Math.floor(now() / 1000)}</CreateTime>` +
      `<MsgType>${cd('event')}</MsgType><Event>${cd('template_card_event')}</Event><EventKey>${cd(o.buttonKey)}</EventKey><TaskId>${cd(taskId)}</TaskId>` +
      `<CardType>${cd(card.cardType)}</CardType><ResponseCode>${cd(responseCode)}</ResponseCode><AgentID>${app.agentId}</AgentID>${selected}</xml>`;
    return sendCallback(plaintext, { agentId: app.agentId });
  };

  const userXml = (u: FakeUser, mode: 'full' | 'minimal'): string => {
    const parts = [`<UserID>${cd(u.userid)}</UserID>`];
    if (mode === 'minimal') return parts.concat(`<Department>${cd(u.department.join(','))}</Department>`).join('');
    parts.push(
      `<Name>${cd(u.name)}</Name>`,
      `<Department>${cd(u.department.join(','))}</Department>`,
      `<MainDepartment>${u.main_department}</MainDepartment>`,
      `<IsLeaderInDept>${cd(u.is_leader_in_dept.join(','))}</IsLeaderInDept>`,
      `<DirectLeader>${cd(u.direct_leader.join(','))}</DirectLeader>`,
      `<Position>${cd(u.position)}</Position>`,
      `<Mobile>${u.mobile}</Mobile>`,
      `<Gender>${u.gender}</Gender>`,
      `<Email>${cd(u.email)}</Email>`,
      `<Status>${u.status}</Status>`,
      `<Alias>${cd(u.alias)}</Alias>`,
      `<Telephone>${cd(u.telephone)}</Telephone>`,
    );
    const attrs = u.extattr.attrs
      .map((a) => `<Item><Name>${cd(a.name)}</Name><Type>${a.type}</Type>${a.text ? `<Text><Value>${cd(a.text.value)}</Value></Text>` : ''}</Item>`)
      .join('');
    if (attrs) parts.push(`<ExtAttr>${attrs}</ExtAttr>`);
    return parts.join('');
  };

  const changeContact: FakeWecom['changeContact'] = async (change, o = {}) => {
    const head = (type: string) =>
      `<ToUserName>${cd(corpId)}</ToUserName><FromUserName>${cd('sys')}</FromUserName><CreateTime>${Math.floor(now() / 1000)}</CreateTime>` +
      `<MsgType>${cd('event')}</MsgType><Event>${cd('change_contact')}</Event><ChangeType>${type}</ChangeType>`;
    let inner: string;
    switch (change.changeType) {
      case 'create_user': {
        const u = directory.addUser(change.user);
        inner = head('create_user') + userXml(u, change.mode ?? 'full');
        break;
      }
      case 'update_user': {
        const oldId = change.userid;
        const u = directory.updateUser(oldId, change.patch);
        if (!u) throw new Error(`no user ${oldId}`);
        const renamed = change.patch.newUserId && change.patch.newUserId !== oldId;
        inner =
          head('update_user') +
          (renamed ? `<UserID>${cd(oldId)}</UserID><NewUserID>${cd(u.userid)}</NewUserID>` + userXml(u, change.mode ?? 'full').replace(/^<UserID>.*?<\/UserID>/, '') : userXml(u, change.mode ?? 'full'));
        break;
      }
      case 'delete_user':
        directory.removeUser(change.userid);
        inner = head('delete_user') + `<UserID>${cd(change.userid)}</UserID>`;
        break;
      case 'create_party': {
        const d = directory.addDepartment({ ...change.department, order: change.department.order ?? change.department.id });
        inner = head('create_party') + `<Id>${d.id}</Id><Name>${cd(d.name)}</Name><ParentId>${cd(String(d.parentid))}</ParentId><Order>${d.order}</Order>`;
        break;
      }
      case 'update_party': {
        if (!directory.updateDepartment(change.id, change.patch)) throw new Error(`no department ${change.id}`);
        inner =
          head('update_party') +
          `<Id>${change.id}</Id>` +
          (change.patch.name !== undefined ? `<Name>${cd(change.patch.name)}</Name>` : '') +
          (change.patch.parentid !== undefined ? `<ParentId>${cd(String(change.patch.parentid))}</ParentId>` : '');
        break;
      }
      case 'delete_party':
        directory.removeDepartment(change.id);
        inner = head('delete_party') + `<Id>${change.id}</Id>`;
        break;
    }
    const app = appByAgent(o.agentId);
    const plaintext = `<xml>${inner}</xml>`;
    const { query, body } = envelope(app, plaintext, ''); // contact events may carry an empty AgentID (SPEC.md §2.3)
    return postCallback(app, query, body, plaintext);
  };

  const verifyCallbackUrl: FakeWecom['verifyCallbackUrl'] = async (o = {}) => {
    const app = appByAgent(o.agentId);
    if (!app.callbackUrl) throw new Error('no callbackUrl');
    const expected = String(BigInt.asUintN(63, randomBytes(8).readBigUInt64BE(0)));
    const echostr = encrypt(app.encodingAesKey, expected, corpId);
    const timestamp = String(Math.floor(now() / 1000));
    const nonce = String(randomBytes(4).readUInt32BE(0));
    const sig = getSignature(app.token, timestamp, nonce, echostr);
    // SPEC.md §2.2: encode echostr with encodeURIComponent ('+' → %2B)
    const sep = app.callbackUrl.includes('?') ? '&' : '?';
    const target = `${app.callbackUrl}${sep}msg_signature=${sig}&timestamp=${timestamp}&nonce=${nonce}&echostr=${encodeURIComponent(echostr)}`;
    const started = Date.now();
    try {
      const res = await fetch(target, { signal: AbortSignal.timeout(o.timeoutMs ?? 1000) });
      const body = await res.text();
      return { ok: res.status === 200 && body === expected, status: res.status, body, expected, ms: Date.now() - started };
    } catch {
      return { ok: false, expected, ms: Date.now() - started };
    }
  };

  // ---------------------------------------------------------------- OAuth / web login pages (SPEC.md §3)

  const loginPage = (res: ServerResponse, url: URL, kind: 'oauth' | 'web_login'): void => {
    const redirect = url.searchParams.get('redirect_uri') ?? '';
    const state = url.searchParams.get('state') ?? '';
    const agentId = Number(url.searchParams.get('agentid') ?? mainApp.agentId);
    const scope = (url.searchParams.get('scope') as 'snsapi_base' | 'snsapi_privateinfo' | null) ?? 'snsapi_base';
    let target: URL;
    try {
      target = new URL(redirect);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('redirect_uri 无效');
      return;
    }
    const userid = url.searchParams.get('userid');
    if (userid) {
      const code = mintCode({ kind, userid, agentId, redirectHost: target.host, scope });
      target.searchParams.set('code', code);
      if (state) target.searchParams.set('state', state);
      res.writeHead(302, { location: target.toString() }).end();
      return;
    }
    const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const people = [...directory.users.values()].slice(0, 30);
    const link = (u: string) => {
      const l = new URL(url.toString());
      l.searchParams.set('userid', u);
      return esc(l.pathname + l.search);
    };
    const html =
      `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>模拟企业微信登录</title><body>` +
      `<h1>模拟企业微信${kind === 'oauth' ? '网页授权' : '扫码登录'}</h1><p>选择一位测试用户：</p><ul>` +
      people.map((u) => `<li><a href="${link(u.userid)}">${esc(u.name)}（${esc(u.userid)}）</a></li>`).join('') +
      `</ul><form method="get">${[...url.searchParams].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('')}` +
      `<label>其他 userid：<input name="userid"></label><button>登录</button></form></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  };

  // ---------------------------------------------------------------- admin endpoints (/__fake/)

  const admin = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
    switch (path) {
      case '/__fake/state':
        return {
          corpId,
          apps: apps.map((a) => ({ agentId: a.agentId, name: a.name, secret: a.secret, token: a.token, encodingAesKey: a.encodingAesKey, callbackUrl: a.callbackUrl, contactSync: !!a.contactSync })),
          departments: directory.departments.size,
          users: directory.users.size,
          messages: fake.messages.length,
          calls: fake.calls.length,
        };
      case '/__fake/messages':
        return fake.messages;
      case '/__fake/card-updates':
        return fake.cardUpdates;
      case '/__fake/deliveries':
        return fake.deliveries;
      case '/__fake/faults':
        handle.injectFault(body as unknown as Fault);
        return {};
      case '/__fake/faults/clear':
        handle.clearFaults();
        return {};
      case '/__fake/revoke':
        handle.revokeTokens(body as Parameters<FakeWecom['revokeTokens']>[0]);
        return {};
      case '/__fake/codes':
        return { code: mintCode(body as Parameters<FakeWecom['mintCode']>[0]) };
      case '/__fake/callback-url':
        handle.setCallbackUrl(String(body.url), body.agentId === undefined ? undefined : Number(body.agentId));
        return {};
      case '/__fake/click':
        return clickCard(body as Parameters<FakeWecom['clickCard']>[0]);
      case '/__fake/change-contact':
        return changeContact(body as unknown as ContactChange);
      case '/__fake/verify-url':
        return verifyCallbackUrl({});
      default:
        return undefined;
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 8 * 1024 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake.local');
      if (url.pathname.startsWith('/cgi-bin/')) return handleApi(req, res, url, raw);
      if (url.pathname === '/connect/oauth2/authorize') return loginPage(res, url, 'oauth');
      if (url.pathname === '/wwlogin/sso/login' || url.pathname === '/wwopen/sso/qrConnect') return loginPage(res, url, 'web_login');
      if (url.pathname.startsWith('/__fake/')) {
        let body: Record<string, unknown> = {};
        try {
          body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        } catch {
          res.writeHead(400).end('bad json');
          return;
        }
        admin(url.pathname, body).then(
          (out) => {
            if (out === undefined) res.writeHead(404).end('not found');
            else res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(out));
          },
          (err: Error) => res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(err.message),
        );
        return;
      }
      res.writeHead(404).end('not found');
    });
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';

  const handle: FakeWecom = {
    ...fake,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    callCount: (path?: string) => (path ? fake.calls.filter((c) => c.path === path).length : fake.calls.length),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    revokeTokens: (o = {}) => {
      for (const t of tokens.values()) {
        if (o.agentId !== undefined && t.app.agentId !== o.agentId) continue;
        if (o.secret !== undefined && t.app.secret !== o.secret) continue;
        t.revokedWith = o.errcode ?? 40014;
      }
    },
    injectFault: (f) => {
      faults.push({ ...f, times: f.every ? undefined : (f.times ?? 1), seen: 0 });
    },
    clearFaults: () => {
      faults = [];
    },
    mintCode,
    setCallbackUrl: (url, agentId) => {
      if (agentId === undefined) for (const a of apps) a.callbackUrl = url;
      else appByAgent(agentId).callbackUrl = url;
    },
    clickCard,
    changeContact,
    sendCallback,
    replay: (d) => {
      const app = apps.find((a) => a.callbackUrl === d.url) ?? mainApp;
      return postCallback(app, d.query, d.body, d.plaintext);
    },
    verifyCallbackUrl,
    card: (taskId, agentId) => {
      const a = agentId ?? mainApp.agentId;
      for (let i = fake.messages.length - 1; i >= 0; i--) {
        const m = fake.messages[i]!;
        if (m.taskId === taskId && m.agentId === a) return m;
      }
      return undefined;
    },
  };
  return handle;
}
