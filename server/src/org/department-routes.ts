import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Department tree maintenance (R12.0). */
export function departmentRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
