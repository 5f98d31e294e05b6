import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Personnel files under /api/v1/org/people/:id/file and /api/v1/org/file-fields (issue 3 item 4). */
export function personnelRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
