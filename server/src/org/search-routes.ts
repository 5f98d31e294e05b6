import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** People search and pickers (R3.17). */
export function searchRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
