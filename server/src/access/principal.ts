import type { Permission } from './permissions.ts';

/** The signed-in person as every access decision sees them. */
export interface Principal {
  userId: number;
  username: string;
  name: string;
  deptId: number | null;
  /** role codes */
  roles: string[];
  /** role display names, same order as `roles` */
  roleNames: string[];
  permissions: ReadonlySet<Permission>;
  mustChangePassword: boolean;
}

/** The one place that answers "may this person do that". Modules add resource checks on top. */
export function hasPermission(p: Principal | undefined, perm: Permission): boolean {
  return !!p && p.permissions.has(perm);
}
