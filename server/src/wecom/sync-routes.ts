import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** WeCom contact sync routes (issue 6 item 5, P4). */
export function wecomSyncRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
