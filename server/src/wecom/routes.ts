import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** WeCom routes: callback, sign-in, JS-SDK signatures (issue 6). */
export function wecomRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
