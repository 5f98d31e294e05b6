import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Workflow delegation routes under /api/v1/workflow (issue 4). */
export function delegationRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
