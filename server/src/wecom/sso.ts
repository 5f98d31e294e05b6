import { inUnitOfWork, type User } from '@oa/db';
import { WecomApiError, WecomError } from '@oa/wecom';
import type { AppDeps } from '../deps.ts';
import type { AppContext } from '../http/context.ts';
import { AppError, forbidden, tooManyRequests } from '../http/errors.ts';
import { DeviceCookie } from '../auth/device-cookie.ts';
import { findPersonByWecomId } from './channel.ts';
import { publicBase, type WecomModule } from './module.ts';

/**
 * WeCom sign-in (R20.0, S1; issue 6 item 3): H5 OAuth code, PC web (QR) login code and the
 * mini-program's wx.qy.login code each resolve to a WeCom userid, which must map to an active person
 * (users.wecom_user_id). The session is created exactly as the password sign-in creates it (same
 * session manager, audit row `auth.login`, login-log row), with the method recorded as `wecom`.
 * The jscode2session session_key never leaves this file.
 */

export type WecomLoginVia = 'oauth' | 'qr' | 'miniprogram';

const VIA_NAMES: Record<WecomLoginVia, string> = { oauth: '企业微信网页授权', qr: '企业微信扫码登录', miniprogram: '企业微信小程序' };

/** Sign-in attempts per address per minute through the WeCom endpoints (each costs a WeCom API call). */
const PER_IP_PER_MINUTE = 30;

/** The page a browser is sent to after signing in: a relative path of this site, nothing else (no open redirect). */
export function safeNext(raw: string | undefined | null): string {
  if (!raw) return '/';
  let path = raw;
  // WeCom's `state` allows [a-zA-Z0-9] only: the config endpoint encodes the path as hex
  if (/^(?:[0-9a-f]{2})+$/i.test(raw)) path = Buffer.from(raw, 'hex').toString('utf8');
  if (!path.startsWith('/') || path.startsWith('//') || [...path].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f || ch === '\\')) return '/';
  if (/^\/api(\/|$)/i.test(path) || /^\/wecom(\/|$)/i.test(path)) return '/';
  try {
    const u = new URL(path, 'http://oa.invalid');
    if (u.origin !== 'http://oa.invalid') return '/';
    return u.pathname + u.search + u.hash;
  } catch {
    return '/';
  }
}

/** `state` for WeCom ([a-zA-Z0-9], ≤128 bytes): the hex of the path, or nothing when too long. */
export function stateOf(next: string | undefined): string {
  const path = safeNext(next);
  if (path === '/') return '';
  const hex = Buffer.from(path, 'utf8').toString('hex');
  return hex.length <= 128 ? hex : '';
}

export interface WecomLoginUrls {
  enabled: true;
  corpId: string;
  agentId: number;
  /** H5 inside WeCom: open this (snsapi_base, silent) */
  oauthUrl: string;
  /** PC browser: WeCom web login (QR) */
  qrUrl: string;
}

export function loginUrls(deps: AppDeps, mod: WecomModule, ctx: AppContext, next: string | undefined): WecomLoginUrls {
  const base = deps.config.PUBLIC_URL ? publicBase(deps) : `${ctx.protocol}://${ctx.host}`;
  const state = stateOf(next);
  const { corpId, agentId, oauthBase, loginBase } = mod.settings;
  const oauthRedirect = `${base}/api/v1/auth/wecom/oauth`;
  const qrRedirect = `${base}/api/v1/auth/wecom/qr`;
  const oauth = new URL(`${oauthBase}/connect/oauth2/authorize`);
  oauth.search = new URLSearchParams({ appid: corpId, redirect_uri: oauthRedirect, response_type: 'code', scope: 'snsapi_base', state, agentid: String(agentId) }).toString();
  const qr = new URL(`${loginBase}/wwlogin/sso/login`);
  qr.search = new URLSearchParams({ login_type: 'CorpApp', appid: corpId, agentid: String(agentId), redirect_uri: qrRedirect, state, lang: 'zh' }).toString();
  return { enabled: true, corpId, agentId, oauthUrl: `${oauth.toString()}#wechat_redirect`, qrUrl: qr.toString() };
}

/** A refusal shown to the person (Chinese), with the login-log reason. */
export class WecomLoginRefused extends AppError {
  constructor(status: number, code: string, detail: string) {
    super(status, code, detail);
  }
}

async function resolveUserid(mod: WecomModule, via: WecomLoginVia, code: string): Promise<string> {
  try {
    if (via === 'miniprogram') {
      const s = await mod.client.jscode2session(code);
      return s.userid; // s.session_key stays here: never stored, never returned
    }
    const info = via === 'qr' ? await mod.client.exchangeLoginCode(code) : await mod.client.getUserInfoByCode(code);
    if (!info.userid) throw new WecomLoginRefused(403, 'WECOM_NOT_MEMBER', '您不是本单位企业微信成员，无法登录本系统');
    return info.userid;
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof WecomApiError && err.errcode === 40029) throw new WecomLoginRefused(401, 'WECOM_CODE_INVALID', '企业微信登录凭证无效或已过期，请重新进入');
    if (err instanceof WecomApiError && err.errcode === 50001) throw new WecomLoginRefused(502, 'WECOM_REDIRECT_NOT_TRUSTED', '企业微信授权回调域名未配置为可信域名，请联系信息科');
    if (err instanceof WecomError && err.code === 'cross_corp') throw new WecomLoginRefused(403, 'WECOM_OTHER_CORP', '该小程序登录来自其他企业，无法登录本系统');
    throw new WecomLoginRefused(502, 'WECOM_UNAVAILABLE', '企业微信服务暂时不可用，请稍后重试或使用账号密码登录');
  }
}

async function logLogin(deps: AppDeps, ctx: AppContext, username: string, userId: number | null, result: 'success' | 'failure' | 'disabled', reason: string): Promise<void> {
  await deps.db.models.LoginLog.create({
    at: deps.clock.now(),
    username: username.slice(0, 64),
    userId,
    ip: ctx.state.ip,
    userAgent: ctx.get('user-agent')?.slice(0, 255) || null,
    result,
    reason: reason.slice(0, 255),
  });
}

export interface WecomSignIn {
  token: string;
  csrfToken: string;
  user: User;
}

/**
 * code → userid → person → new session. Throws WecomLoginRefused (logged in the login log) for an
 * invalid code, a non-member, an unknown userid or a disabled person.
 */
export async function signInWithCode(deps: AppDeps, mod: WecomModule, ctx: AppContext, via: WecomLoginVia, code: string): Promise<WecomSignIn> {
  const ipKey = `wecom-login-ip:${ctx.state.ip}`;
  if ((await deps.limiter.hit(ipKey, 60_000)) > PER_IP_PER_MINUTE) throw tooManyRequests('企业微信登录尝试过于频繁，请稍后再试', 60);
  // method recorded in the login log's reason: the table has no method column (see report of issue 6)
  const method = `wecom:${via}`;
  let userid: string;
  try {
    userid = await resolveUserid(mod, via, code);
  } catch (err) {
    if (err instanceof AppError) await logLogin(deps, ctx, method, null, 'failure', `${method} ${err.detail}`);
    throw err;
  }
  const user = await findPersonByWecomId(deps, userid);
  if (!user) {
    await logLogin(deps, ctx, `wecom:${userid}`, null, 'failure', `${method} 企业微信账号 ${userid} 未关联本系统人员`);
    throw new WecomLoginRefused(403, 'WECOM_USER_UNKNOWN', `您的企业微信账号（${userid}）尚未关联本系统人员，请联系信息科开通后再登录`);
  }
  if (user.status !== 'active') {
    await logLogin(deps, ctx, user.username, user.id, 'disabled', `${method} 账号已停用`);
    throw new WecomLoginRefused(403, 'ACCOUNT_DISABLED', '您的账号已停用，无法登录本系统，请联系信息科');
  }
  await deps.limiter.undo(ipKey);
  const actor = { id: user.id, name: user.username, ip: ctx.state.ip, requestId: ctx.state.requestId };
  await inUnitOfWork(deps.db, actor, deps.clock.now(), async (uow) => {
    uow.audit({ action: 'auth.login', objectType: 'user', objectId: user.id, detail: { method: 'wecom', via, wecomUserId: userid } });
  });
  await logLogin(deps, ctx, user.username, user.id, 'success', `${method} ${VIA_NAMES[via]}`);
  // signing in again from the same browser replaces its previous session (as the password sign-in)
  if (ctx.state.sessionId) await deps.sessions.revoke(ctx.state.sessionId);
  const { token, record } = await deps.sessions.create(user.id, { ip: ctx.state.ip, userAgent: ctx.get('user-agent') || null });
  return { token, csrfToken: record.csrfToken, user };
}

/** Browser flows: the session cookie (and the device cookie, as the password sign-in sets it). */
export function setBrowserSession(deps: AppDeps, ctx: AppContext, s: WecomSignIn): void {
  deps.sessions.setCookie(ctx, s.token);
  const devCookie = deps.deviceCookie.add(ctx.cookies.get(DeviceCookie.NAME), s.user.username);
  ctx.cookies.set(DeviceCookie.NAME, devCookie, { httpOnly: true, sameSite: 'lax', secure: deps.config.cookieSecure, path: '/api/v1/auth', maxAge: DeviceCookie.MAX_AGE_MS });
}

/** Where a refused browser sign-in lands: the sign-in page with the Chinese reason. */
export function loginPageWithError(detail: string): string {
  return `/#/pages/login/index?error=${encodeURIComponent(detail)}`;
}

export const wecomOff = () => forbidden('本系统未启用企业微信登录，请使用账号密码登录', 'WECOM_DISABLED');
