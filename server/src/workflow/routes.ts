import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Workflow engine under /api/v1/workflow (issue 4). */
export function workflowRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
