import type { RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';
import { searchRoutes } from './search-routes.ts';
import { departmentRoutes } from './department-routes.ts';
import { peopleRoutes } from './people-routes.ts';
import { groupRoutes } from './group-routes.ts';
import { importRoutes } from './import-routes.ts';
import { transferRoutes } from './transfer-routes.ts';
import { personnelRoutes } from './personnel-routes.ts';
import { addressBookRoutes } from './address-book-routes.ts';

/** Everything under /api/v1/org (issue 3). */
export function orgRoutes(deps: AppDeps): RouteSpec[] {
  return [...searchRoutes(deps), ...departmentRoutes(deps), ...peopleRoutes(deps), ...groupRoutes(deps), ...importRoutes(deps), ...transferRoutes(deps), ...personnelRoutes(deps), ...addressBookRoutes(deps)];
}
