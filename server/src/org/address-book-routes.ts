import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';

/** Address book under /api/v1/org/address-book (issue 3 item 9). */
export function addressBookRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
