import getRawBody from 'raw-body';
import { z } from 'zod';
import { UniqueConstraintError } from '@oa/db';
import { parseEvent, verifyUrl, WecomCallbackError, WecomError, type CallbackQuery } from '@oa/wecom';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import type { AppContext } from '../http/context.ts';
import { AppError, badRequest, notFound, payloadTooLarge } from '../http/errors.ts';
import type { AppDeps } from '../deps.ts';
import { EVENT_JOB } from './card-actions.ts';
import { publicBase, wecomOf, type WecomModule } from './module.ts';
import { loginPageWithError, loginUrls, safeNext, setBrowserSession, signInWithCode, wecomOff, type WecomLoginVia } from './sso.ts';

/** Largest callback body read (WeCom's envelopes are a few KB; SPEC.md §2.3). */
const CALLBACK_MAX_BYTES = 64 * 1024;

const CALLBACK_REFUSALS: Record<number, string> = {
  400: '企业微信回调格式错误',
  401: '企业微信回调签名校验失败',
  413: '企业微信回调内容过大',
};

function callbackError(err: unknown): never {
  if (err instanceof WecomCallbackError) throw new AppError(err.httpStatus, `WECOM_CALLBACK_${err.code.toUpperCase()}`, CALLBACK_REFUSALS[err.httpStatus] ?? '企业微信回调无效');
  throw err;
}

function requireWecom(deps: AppDeps): WecomModule {
  const mod = wecomOf(deps);
  if (!mod) throw notFound('本系统未启用企业微信', 'WECOM_DISABLED');
  return mod;
}

/** Store a verified event once (unique dedupe key) and enqueue its job in the same transaction. */
async function storeEvent(deps: AppDeps, kind: string, fromUser: string | null, dedupeKey: string, plaintext: string): Promise<boolean> {
  const { WecomEvent } = deps.db.models;
  try {
    await deps.db.transaction(async (t) => {
      const row = await WecomEvent.create(
        { dedupeKey, kind: kind.slice(0, 64), fromUser: fromUser?.slice(0, 64) ?? null, plaintext, status: 'pending', result: null, receivedAt: deps.clock.now(), processedAt: null },
        { transaction: t },
      );
      await deps.jobs.enqueue(EVENT_JOB, { eventId: row.id }, { transaction: t, dedupeKey: `wecom.event:${row.id}`, maxAttempts: 8 });
    });
    return true;
  } catch (err) {
    if (err instanceof UniqueConstraintError) return false; // WeCom's retry or a replay: already stored, acts once
    throw err;
  }
}

const nextQuery = z.strictObject({ next: z.string().max(1000).optional() });
const codeQuery = z.object({ code: z.string().max(512).optional(), state: z.string().max(256).optional(), appid: z.string().max(64).optional() });

/** WeCom routes (issue 6 items 2, 3, 4, 6): callback, sign-in, JS-SDK signatures. */
export function wecomRoutes(deps: AppDeps): RouteSpec[] {
  /** GET flows of the browser (H5 OAuth, PC QR): a cookie session and a redirect, or the sign-in page with the reason. */
  const browserSignIn = async (ctx: AppContext, via: WecomLoginVia, query: z.infer<typeof codeQuery>) => {
    const mod = wecomOf(deps);
    const wantsJson = ctx.accepts('html', 'json') === 'json';
    const refuse = (err: AppError) => {
      if (wantsJson) throw err;
      ctx.redirect(loginPageWithError(err.detail));
    };
    if (!mod) return refuse(wecomOff());
    // refused in WeCom (no code appended, SPEC.md §3.2)
    if (!query.code) return refuse(new AppError(401, 'WECOM_LOGIN_CANCELLED', '企业微信登录未完成，请重试或使用账号密码登录'));
    try {
      const s = await signInWithCode(deps, mod, ctx, via, query.code);
      setBrowserSession(deps, ctx, s);
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(safeNext(query.state));
    } catch (err) {
      if (err instanceof AppError && err.status !== 429) return refuse(err);
      throw err;
    }
  };

  return [
    // ── callback (issue 6 item 2, S1): public by nature, authenticated by msg_signature ─────────────
    defineRoute({
      method: 'get',
      path: '/wecom/callback',
      access: 'public',
      summary: '企业微信回调地址校验（GET，返回解密后的 echostr）',
      tags: ['企业微信'],
      handler: (ctx) => {
        const mod = requireWecom(deps);
        let plain: string;
        try {
          plain = verifyUrl(ctx.query as CallbackQuery, mod.callback);
        } catch (err) {
          callbackError(err);
        }
        ctx.type = 'text/plain; charset=utf-8';
        return plain;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/wecom/callback',
      access: 'public',
      summary: '企业微信事件回调（验签、解密、去重后入库，异步处理）',
      tags: ['企业微信'],
      rawBody: { contentType: 'text/xml' },
      handler: async (ctx) => {
        const mod = requireWecom(deps);
        const length = ctx.request.length;
        if (length !== undefined && length > CALLBACK_MAX_BYTES) throw payloadTooLarge('企业微信回调内容过大');
        let raw: string;
        try {
          raw = await getRawBody(ctx.req, { limit: CALLBACK_MAX_BYTES, encoding: 'utf8', length });
        } catch (err) {
          if ((err as { type?: string }).type === 'entity.too.large') throw payloadTooLarge('企业微信回调内容过大');
          throw badRequest('请求体读取失败', undefined, 'BAD_BODY');
        }
        let parsed: ReturnType<typeof parseEvent>;
        try {
          parsed = parseEvent(ctx.query as CallbackQuery, raw, mod.callback);
        } catch (err) {
          callbackError(err);
        }
        const stored = await storeEvent(deps, parsed.event.kind, parsed.event.fromUserName || null, parsed.dedupeKey, parsed.plaintext);
        deps.log.info({ kind: parsed.event.kind, duplicate: !stored }, 'wecom callback');
        // an empty 200 stops WeCom's retries (SPEC.md §2.3); the job does the work
        ctx.type = 'text/plain; charset=utf-8';
        return '';
      },
    }),

    // ── sign-in (issue 6 item 3, R20.0) ──────────────────────────────────────────────────────────
    defineRoute({
      method: 'get',
      path: '/api/v1/auth/wecom/config',
      access: 'public',
      summary: '企业微信登录配置（是否启用、企业 ID、应用 AgentId、网页授权与扫码登录地址）',
      tags: ['认证'],
      query: nextQuery,
      response: z.union([
        z.object({ enabled: z.literal(false) }),
        z.object({ enabled: z.literal(true), corpId: z.string(), agentId: z.number(), oauthUrl: z.string(), qrUrl: z.string() }),
      ]),
      handler: (ctx, { query }) => {
        const mod = wecomOf(deps);
        if (!mod) return { enabled: false as const };
        return loginUrls(deps, mod, ctx, query.next);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/auth/wecom/oauth',
      access: 'public',
      summary: '企业微信网页授权回调（H5）：code 换取身份，建立会话后跳转',
      tags: ['认证'],
      query: codeQuery,
      handler: (ctx, { query }) => browserSignIn(ctx, 'oauth', query),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/auth/wecom/qr',
      access: 'public',
      summary: '企业微信扫码登录回调（电脑浏览器）：code 换取身份，建立会话后跳转',
      tags: ['认证'],
      query: codeQuery,
      handler: (ctx, { query }) => browserSignIn(ctx, 'qr', query),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/wecom/miniprogram',
      access: 'public',
      summary: '企业微信小程序登录：wx.qy.login 的 code 换取会话令牌（Bearer）',
      tags: ['认证'],
      body: z.strictObject({ code: z.string().min(1, '缺少登录 code').max(512) }),
      response: z.object({ token: z.string(), id: z.number(), username: z.string(), name: z.string(), mustChangePassword: z.boolean() }),
      handler: async (ctx, { body }) => {
        const mod = wecomOf(deps);
        if (!mod) throw wecomOff();
        const s = await signInWithCode(deps, mod, ctx, 'miniprogram', body.code);
        ctx.set('Cache-Control', 'no-store');
        const principal = (await deps.sessions.resolve(s.token))?.principal;
        return { token: s.token, id: s.user.id, username: s.user.username, name: s.user.name, mustChangePassword: principal?.mustChangePassword ?? false };
      },
    }),

    // ── JS-SDK (issue 6 item 4) ──────────────────────────────────────────────────────────────────
    defineRoute({
      method: 'get',
      path: '/api/v1/wecom/jssdk-signature',
      access: 'authenticated',
      summary: '企业微信 JS-SDK 签名（wx.config 与 wx.agentConfig），只签本站页面',
      tags: ['企业微信'],
      query: z.strictObject({ url: z.string().min(1).max(2000) }),
      handler: async (ctx, { query }) => {
        const mod = requireWecom(deps);
        let page: URL;
        try {
          page = new URL(query.url);
        } catch {
          throw badRequest('页面地址无效', [{ path: 'url', message: '页面地址无效' }], 'BAD_URL');
        }
        const allowed = new Set([new URL(publicBase(deps)).origin, ...(deps.config.PUBLIC_URL ? [] : [`${ctx.protocol}://${ctx.host}`])]);
        if (!allowed.has(page.origin)) throw badRequest('只能为本系统的页面签名', [{ path: 'url', message: '不是本系统的页面地址' }], 'URL_NOT_ALLOWED');
        try {
          return await mod.tickets.signPage(query.url);
        } catch (err) {
          if (err instanceof WecomError) throw new AppError(503, 'WECOM_UNAVAILABLE', '企业微信服务暂时不可用，请稍后重试', undefined, { 'Retry-After': '30' });
          throw err;
        }
      },
    }),
  ];
}
