// WeCom server API client (R20.0 WeCom access, issue 6 item 1; SPEC.md §1, §3-§8).
//
// - Access tokens are cached per app: key (apiBase, corpId, sha256(secret)); a TokenCache may be shared
//   by several clients. A token is used until `refreshAheadMs` before its expiry (at most half of its
//   lifetime ahead), then refreshed; concurrent callers share one gettoken request (single flight).
// - errcode 40001/40014/42001 on a business API: drop the token (only if it is still the cached one),
//   refresh once and retry once.
// - errcode -1 (busy) and 45033 (concurrency): retry with exponential backoff (1 s·2^n, at most 3 times).
// - errcode 45009 (frequency limit): the whole client pauses (≥ 60 s by default, doubling), then retries
//   once; callers arriving during the pause wait for it instead of hammering WeCom.
// - Transport failures (network, timeout, non-JSON) are retried like -1 for GET requests only; a POST
//   such as message/send may have been delivered, so it surfaces as WecomTransportError.
// - Every other errcode is thrown as WecomApiError { errcode, errmsg }.
// - `now` and `sleep` are injectable so tests never wait in real time; `stats` counts the HTTP calls
//   made (the WeCom benchmark reports "API calls made").

import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { TOKEN_ERRCODES, WecomApiError, WecomError, WecomTransportError } from './errors.ts';
import type { MessageSendBody, UpdateTemplateCardBody } from './messages.ts';

export const DEFAULT_API_BASE = 'https://qyapi.weixin.qq.com';

export interface WecomClientOptions {
  corpId: string;
  /** The secret of ONE app (self-built app, or the 通讯录同步 secret). */
  secret: string;
  /** The app's agent id; filled into message bodies that do not carry one. */
  agentId?: number;
  /** Default: process.env.WECOM_API_BASE, else https://qyapi.weixin.qq.com. */
  apiBase?: string;
  fetch?: typeof fetch;
  /** Clock in milliseconds (default Date.now). */
  now?: () => number;
  /** Sleep used for backoff (default a real timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Shared token cache; default one cache per client. */
  tokenCache?: TokenCache;
  /** Refresh a token this long before it expires (default 5 min, at most half its lifetime). */
  refreshAheadMs?: number;
  /** Retries on -1 / 45033 / transport errors of GETs (default 3). */
  busyRetries?: number;
  /** First backoff on -1 (default 1000 ms, doubled each time). */
  busyBackoffMs?: number;
  /** Retries after a 45009 pause (default 1). */
  rateLimitRetries?: number;
  /** Pause after 45009 (default 60 000 ms, doubled each time). */
  rateLimitBackoffMs?: number;
  /** Per-request timeout (default 10 000 ms). */
  timeoutMs?: number;
}

export interface CachedToken {
  token: string;
  /** Absolute ms (client clock). */
  expiresAt: number;
  /** Absolute ms after which the token is refreshed before use. */
  refreshAt: number;
}

/** Per-app token cache with single-flight refresh. Share one instance to share tokens between clients. */
export class TokenCache {
  private readonly entries = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  /** A usable token for `key`, fetching it (once for all concurrent callers) when missing or due. */
  async get(key: string, now: number, fetcher: () => Promise<CachedToken>): Promise<CachedToken> {
    const cached = this.entries.get(key);
    if (cached && now < cached.refreshAt) return cached;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = fetcher().then(
        (token) => {
          this.entries.set(key, token);
          this.inflight.delete(key);
          return token;
        },
        (err: unknown) => {
          this.inflight.delete(key);
          throw err;
        },
      );
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drop the cached token, but only if it is still `token` (a concurrent refresh may have replaced it). */
  invalidate(key: string, token?: string): void {
    const cached = this.entries.get(key);
    if (cached && (token === undefined || cached.token === token)) this.entries.delete(key);
  }

  peek(key: string): CachedToken | undefined {
    return this.entries.get(key);
  }
}

export interface WecomClientStats {
  /** HTTP requests made to WeCom, gettoken included. */
  calls: number;
  /** gettoken requests. */
  tokenFetches: number;
  /** Retries of any kind (token, busy, rate limit, transport). */
  retries: number;
  /** Requests per API path (e.g. "/cgi-bin/message/send"). */
  byPath: Record<string, number>;
}

/** Fields every WeCom response carries. */
export interface WecomResponse {
  errcode: number;
  errmsg: string;
}

export interface SendResult {
  msgid: string;
  /** For interactive template cards only: single-use code for update_template_card (72 h). */
  responseCode?: string;
  invalidUsers: string[];
  invalidParties: string[];
  invalidTags: string[];
  unlicensedUsers: string[];
}

export interface WecomDepartment {
  id: number;
  name: string;
  name_en?: string;
  department_leader?: string[];
  parentid: number;
  order?: number;
}

export interface WecomExtAttr {
  type: number;
  name: string;
  text?: { value: string };
  web?: { url: string; title: string };
}

/** A member as user/get and user/list return it (sensitive fields only for legacy apps, SPEC.md §7.2). */
export interface WecomUser {
  userid: string;
  name: string;
  department: number[];
  order?: number[];
  position?: string;
  mobile?: string;
  gender?: string;
  email?: string;
  biz_mail?: string;
  is_leader_in_dept?: number[];
  direct_leader?: string[];
  avatar?: string;
  thumb_avatar?: string;
  telephone?: string;
  alias?: string;
  address?: string;
  open_userid?: string;
  main_department?: number;
  status?: number;
  extattr?: { attrs: WecomExtAttr[] };
  external_position?: string;
}

export interface OAuthUserInfo {
  /** Member of the corp (cross-corp members look like "CorpId/userid"). */
  userid?: string;
  /** Only for scope snsapi_privateinfo and members in the app's visible range (valid 1800 s). */
  user_ticket?: string;
  /** Non-member. */
  openid?: string;
  external_userid?: string;
}

export interface JsCodeSession {
  corpid: string;
  userid: string;
  /** Never send to the client (SPEC.md §4). */
  session_key: string;
}

export interface Ticket {
  ticket: string;
  expires_in: number;
}

type QueryValue = string | number | undefined;

const BUSY_ERRCODES: ReadonlySet<number> = new Set([-1, 45033]);

function defaultApiBase(): string {
  return process.env.WECOM_API_BASE || DEFAULT_API_BASE;
}

function splitIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value === '') return [];
  return value.split('|');
}

export class WecomClient {
  readonly corpId: string;
  readonly agentId: number | undefined;
  readonly apiBase: string;
  readonly stats: WecomClientStats = { calls: 0, tokenFetches: 0, retries: 0, byPath: {} };

  private readonly secret: string;
  private readonly tokenKey: string;
  private readonly cache: TokenCache;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly refreshAheadMs: number;
  private readonly busyRetries: number;
  private readonly busyBackoffMs: number;
  private readonly rateLimitRetries: number;
  private readonly rateLimitBackoffMs: number;
  private readonly timeoutMs: number;
  /** 45009 pause: no request leaves before this time (client clock, ms). */
  private pausedUntil = 0;

  constructor(opts: WecomClientOptions) {
    if (!opts.corpId || !opts.secret) throw new WecomError('WeCom corpId and secret are required', 'config_error');
    this.corpId = opts.corpId;
    this.secret = opts.secret;
    this.agentId = opts.agentId;
    this.apiBase = (opts.apiBase || defaultApiBase()).replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => delay(ms));
    this.cache = opts.tokenCache ?? new TokenCache();
    this.refreshAheadMs = opts.refreshAheadMs ?? 5 * 60_000;
    this.busyRetries = opts.busyRetries ?? 3;
    this.busyBackoffMs = opts.busyBackoffMs ?? 1000;
    this.rateLimitRetries = opts.rateLimitRetries ?? 1;
    this.rateLimitBackoffMs = opts.rateLimitBackoffMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    const secretHash = createHash('sha256').update(this.secret).digest('hex').slice(0, 16);
    this.tokenKey = `${this.apiBase}|${this.corpId}|${secretHash}`;
  }

  // ---------------------------------------------------------------- access token (SPEC.md §1)

  /** A valid access token (cached; refreshed ahead of expiry with a single flight). */
  async accessToken(): Promise<string> {
    const entry = await this.cache.get(this.tokenKey, this.now(), () => this.fetchToken());
    return entry.token;
  }

  /** Forget the cached token (e.g. after the secret changed). */
  invalidateToken(): void {
    this.cache.invalidate(this.tokenKey);
  }

  private async fetchToken(): Promise<CachedToken> {
    this.stats.tokenFetches++;
    const res = await this.request<{ access_token: string; expires_in: number }>('GET', '/cgi-bin/gettoken', {
      corpid: this.corpId,
      corpsecret: this.secret,
    });
    const now = this.now();
    const lifetimeMs = Math.max(1, Number(res.expires_in) || 7200) * 1000;
    const ahead = Math.min(this.refreshAheadMs, lifetimeMs / 2);
    return { token: res.access_token, expiresAt: now + lifetimeMs, refreshAt: now + lifetimeMs - ahead };
  }

  // ---------------------------------------------------------------- request core

  /** Call a business API with the access token, applying the retry rules above. */
  async call<T extends object>(method: 'GET' | 'POST', path: string, query: Record<string, QueryValue> = {}, body?: unknown): Promise<T & WecomResponse> {
    let tokenRetried = false;
    let busy = 0;
    let limited = 0;
    for (;;) {
      await this.waitForPause();
      const token = await this.accessToken();
      let res: T & WecomResponse;
      try {
        res = await this.send<T>(method, path, { ...query, access_token: token }, body);
      } catch (err) {
        if (err instanceof WecomTransportError && method === 'GET' && busy < this.busyRetries) {
          await this.backoffBusy(busy++);
          continue;
        }
        throw err;
      }
      const errcode = Number(res.errcode ?? 0);
      if (errcode === 0) return res;
      if (TOKEN_ERRCODES.has(errcode) && !tokenRetried) {
        tokenRetried = true;
        this.stats.retries++;
        this.cache.invalidate(this.tokenKey, token);
        continue;
      }
      if (BUSY_ERRCODES.has(errcode) && busy < this.busyRetries) {
        await this.backoffBusy(busy++);
        continue;
      }
      if (errcode === 45009) {
        this.pause(this.rateLimitBackoffMs * 2 ** limited);
        if (limited++ < this.rateLimitRetries) {
          this.stats.retries++;
          continue;
        }
      }
      throw new WecomApiError(path, errcode, String(res.errmsg ?? ''), res as Record<string, unknown>);
    }
  }

  /** gettoken: no access token; -1 and 45009 handled like business calls, everything else thrown. */
  private async request<T extends object>(method: 'GET' | 'POST', path: string, query: Record<string, QueryValue>): Promise<T & WecomResponse> {
    let busy = 0;
    let limited = 0;
    for (;;) {
      await this.waitForPause();
      let res: T & WecomResponse;
      try {
        res = await this.send<T>(method, path, query);
      } catch (err) {
        if (err instanceof WecomTransportError && busy < this.busyRetries) {
          await this.backoffBusy(busy++);
          continue;
        }
        throw err;
      }
      const errcode = Number(res.errcode ?? 0);
      if (errcode === 0) return res;
      if (BUSY_ERRCODES.has(errcode) && busy < this.busyRetries) {
        await this.backoffBusy(busy++);
        continue;
      }
      if (errcode === 45009) {
        this.pause(this.rateLimitBackoffMs * 2 ** limited);
        if (limited++ < this.rateLimitRetries) {
          this.stats.retries++;
          continue;
        }
      }
      throw new WecomApiError(path, errcode, String(res.errmsg ?? ''), res as Record<string, unknown>);
    }
  }

  private async backoffBusy(attempt: number): Promise<void> {
    this.stats.retries++;
    await this.sleep(this.busyBackoffMs * 2 ** attempt);
  }

  private pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private async waitForPause(): Promise<void> {
    const wait = this.pausedUntil - this.now();
    if (wait > 0) await this.sleep(wait);
  }

  private async send<T>(method: 'GET' | 'POST', path: string, query: Record<string, QueryValue>, body?: unknown): Promise<T & WecomResponse> {
    const url = new URL(this.apiBase + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    this.stats.calls++;
    this.stats.byPath[path] = (this.stats.byPath[path] ?? 0) + 1;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json; charset=utf-8' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new WecomTransportError(path, (err as Error).message);
    }
    const text = await response.text().catch(() => '');
    if (response.status !== 200) throw new WecomTransportError(path, `HTTP ${response.status}`, response.status);
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
      return parsed as T & WecomResponse;
    } catch {
      throw new WecomTransportError(path, 'response is not JSON', response.status);
    }
  }

  // ---------------------------------------------------------------- messages (SPEC.md §5)

  /** POST /cgi-bin/message/send. Partial failures are returned, not thrown; all invalid → 81013 thrown. */
  async sendMessage(body: MessageSendBody): Promise<SendResult> {
    const agentid = body.agentid ?? this.requireAgentId();
    const res = await this.call<{ msgid?: string; response_code?: string; invaliduser?: string; invalidparty?: string; invalidtag?: string; unlicenseduser?: string }>(
      'POST',
      '/cgi-bin/message/send',
      {},
      { ...body, agentid },
    );
    return {
      msgid: String(res.msgid ?? ''),
      responseCode: res.response_code || undefined,
      invalidUsers: splitIds(res.invaliduser),
      invalidParties: splitIds(res.invalidparty),
      invalidTags: splitIds(res.invalidtag),
      unlicensedUsers: splitIds(res.unlicenseduser),
    };
  }

  /** POST /cgi-bin/message/update_template_card (response_code is single use, 72 h). */
  async updateTemplateCard(body: UpdateTemplateCardBody): Promise<{ invalidUsers: string[] }> {
    const agentid = body.agentid ?? this.requireAgentId();
    const res = await this.call<{ invaliduser?: string[] | string }>('POST', '/cgi-bin/message/update_template_card', {}, { ...body, agentid });
    return { invalidUsers: splitIds(res.invaliduser) };
  }

  /** POST /cgi-bin/message/recall (messages of the last 24 hours). */
  async recallMessage(msgid: string): Promise<void> {
    await this.call('POST', '/cgi-bin/message/recall', {}, { msgid });
  }

  // ---------------------------------------------------------------- contacts (SPEC.md §7)

  /** GET /cgi-bin/department/list: the whole visible tree (or the subtree of `id`). */
  async listDepartments(id?: number): Promise<WecomDepartment[]> {
    const res = await this.call<{ department?: WecomDepartment[] }>('GET', '/cgi-bin/department/list', { id });
    return res.department ?? [];
  }

  /** GET /cgi-bin/department/simplelist: ids only (the doc's recommended cheap variant). */
  async listDepartmentIds(id?: number): Promise<Array<{ id: number; parentid: number; order?: number }>> {
    const res = await this.call<{ department_id?: Array<{ id: number; parentid: number; order?: number }> }>('GET', '/cgi-bin/department/simplelist', { id });
    return res.department_id ?? [];
  }

  /** GET /cgi-bin/department/get. */
  async getDepartment(id: number): Promise<WecomDepartment> {
    const res = await this.call<{ department: WecomDepartment }>('GET', '/cgi-bin/department/get', { id });
    return res.department;
  }

  /** GET /cgi-bin/user/list: the members of ONE department (not recursive). */
  async listUsers(departmentId: number): Promise<WecomUser[]> {
    const res = await this.call<{ userlist?: WecomUser[] }>('GET', '/cgi-bin/user/list', { department_id: departmentId });
    return res.userlist ?? [];
  }

  /** GET /cgi-bin/user/simplelist. */
  async listUsersSimple(departmentId: number): Promise<Array<{ userid: string; name: string; department: number[]; open_userid?: string }>> {
    const res = await this.call<{ userlist?: Array<{ userid: string; name: string; department: number[]; open_userid?: string }> }>('GET', '/cgi-bin/user/simplelist', {
      department_id: departmentId,
    });
    return res.userlist ?? [];
  }

  /** GET /cgi-bin/user/get. */
  async getUser(userid: string): Promise<WecomUser> {
    const res = await this.call<WecomUser>('GET', '/cgi-bin/user/get', { userid });
    const { errcode: _e, errmsg: _m, ...user } = res;
    return user as WecomUser;
  }

  /** POST /cgi-bin/user/list_id: one page (only with the 通讯录同步 secret; limit 1..10000). */
  async listUserIdsPage(cursor = '', limit = 10_000): Promise<{ nextCursor: string; deptUser: Array<{ userid: string; department: number }> }> {
    const res = await this.call<{ next_cursor?: string; dept_user?: Array<{ userid: string; department: number }> }>('POST', '/cgi-bin/user/list_id', {}, cursor ? { cursor, limit } : { limit });
    return { nextCursor: res.next_cursor ?? '', deptUser: res.dept_user ?? [] };
  }

  /** All (userid, department) pairs via user/list_id, following cursors until next_cursor is empty. */
  async listAllUserIds(limit = 10_000): Promise<Array<{ userid: string; department: number }>> {
    const all: Array<{ userid: string; department: number }> = [];
    let cursor = '';
    for (;;) {
      const page = await this.listUserIdsPage(cursor, limit);
      all.push(...page.deptUser);
      if (!page.nextCursor) return all;
      cursor = page.nextCursor;
    }
  }

  // ---------------------------------------------------------------- sign-in (SPEC.md §3, §4)

  /** GET /cgi-bin/auth/getuserinfo: H5 OAuth code → identity. 40029 = invalid/used/expired code. */
  async getUserInfoByCode(code: string): Promise<OAuthUserInfo> {
    const res = await this.call<OAuthUserInfo>('GET', '/cgi-bin/auth/getuserinfo', { code });
    return pick(res, ['userid', 'user_ticket', 'openid', 'external_userid']);
  }

  /** PC web login (企业微信Web登录 / QR): the code is exchanged with the same auth/getuserinfo (SPEC.md §3.2). */
  async exchangeLoginCode(code: string): Promise<OAuthUserInfo> {
    return this.getUserInfoByCode(code);
  }

  /** POST /cgi-bin/auth/getuserdetail (sensitive fields, with a user_ticket from snsapi_privateinfo). */
  async getUserDetail(userTicket: string): Promise<Record<string, unknown> & { userid: string }> {
    const res = await this.call<{ userid: string }>('POST', '/cgi-bin/auth/getuserdetail', {}, { user_ticket: userTicket });
    const { errcode: _e, errmsg: _m, ...detail } = res as Record<string, unknown> & WecomResponse & { userid: string };
    return detail;
  }

  /**
   * GET /cgi-bin/miniprogram/jscode2session: wx.qy.login code → userid (SPEC.md §4). The returned corpid
   * must be ours (a mini program associated with several corps); otherwise a WecomError 'cross_corp'.
   */
  async jscode2session(jsCode: string): Promise<JsCodeSession> {
    const res = await this.call<JsCodeSession>('GET', '/cgi-bin/miniprogram/jscode2session', { js_code: jsCode, grant_type: 'authorization_code' });
    if (res.corpid && res.corpid !== this.corpId) throw new WecomError('jscode2session returned another corp', 'cross_corp');
    return { corpid: res.corpid, userid: res.userid, session_key: res.session_key };
  }

  // ---------------------------------------------------------------- JS-SDK tickets (SPEC.md §6.1)

  /** GET /cgi-bin/get_jsapi_ticket: the corp ticket (wx.config). Cache it: see JsapiTicketCache. */
  async getCorpJsapiTicket(): Promise<Ticket> {
    const res = await this.call<Ticket>('GET', '/cgi-bin/get_jsapi_ticket');
    return { ticket: res.ticket, expires_in: Number(res.expires_in) || 7200 };
  }

  /** GET /cgi-bin/ticket/get?type=agent_config: the app ticket (wx.agentConfig). */
  async getAgentJsapiTicket(): Promise<Ticket> {
    const res = await this.call<Ticket>('GET', '/cgi-bin/ticket/get', { type: 'agent_config' });
    return { ticket: res.ticket, expires_in: Number(res.expires_in) || 7200 };
  }

  private requireAgentId(): number {
    if (this.agentId === undefined) throw new WecomError('agentId is required for messages', 'config_error');
    return this.agentId;
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== '') out[k] = obj[k];
  return out;
}
