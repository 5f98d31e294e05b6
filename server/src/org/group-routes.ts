import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

export function groupRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
