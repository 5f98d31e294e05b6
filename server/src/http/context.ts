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

/** The same, spelled as an audit row's fields (for auditStandalone). */
export function auditActorOf(ctx: AppContext): { actorId: number | null; actorName: string | null; ip: string | null; requestId: string | null } {
  const a = actorOf(ctx);
  return { actorId: a.id, actorName: a.name, ip: a.ip ?? null, requestId: a.requestId ?? null };
}
