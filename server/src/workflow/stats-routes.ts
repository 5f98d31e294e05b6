import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Workflow stats routes under /api/v1/workflow (issue 4). */
export function statsRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
