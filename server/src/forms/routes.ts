import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Custom forms under /api/v1/forms (issue 5). */
export function formRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
