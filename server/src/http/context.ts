import type { Context, ParameterizedContext } from 'koa';
import type { Logger } from 'pino';
import type { Principal } from '../access/principal.ts';
import type { Actor } from '@oa/db';

export interface SessionInfo {
  id: string;
  csrfToken: string;
  expiresAt: Date;
}

export interface AppState {
  requestId: string;
  log: Logger;
  ip: string;
  principal?: Principal;
  /** cookie session: carries the CSRF token checked on unsafe methods */
  session?: SessionInfo;
  /** id of the session (cookie or Bearer) that authenticated this request */
  sessionId?: string;
}

export type AppContext = ParameterizedContext<AppState> & Context;

/** Who is acting in this request, for audit rows. */
export function actorOf(ctx: AppContext): Actor {
  const p = ctx.state.principal;
  return { id: p?.userId ?? null, name: p?.username ?? null, ip: ctx.state.ip, requestId: ctx.state.requestId };
}
