/** Response shapes of the OA server (see /api/docs/). */

export interface Me {
  id: number;
  username: string;
  name: string;
  deptId: number | null;
  /** role codes, e.g. `sysadmin` */
  roles: string[];
  /** display names, same order as roles */
  roleNames: string[];
  permissions: string[];
  mustChangePassword: boolean;
  csrfToken: string | null;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface AuditItem {
  seq: number;
  at: string;
  actorId: number | null;
  actorName: string | null;
  ip: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  result: string;
  detail: unknown;
}

export type LoginResult = 'success' | 'failure' | 'locked' | 'rate_limited' | 'disabled' | 'logout';

export interface LoginLogItem {
  id: number;
  at: string;
  username: string;
  userId: number | null;
  ip: string | null;
  userAgent: string | null;
  result: LoginResult | string;
  reason: string | null;
}

/** GET /api/v1/me/password-policy */
export interface PasswordPolicy {
  minLength: number;
  minClasses: number;
  historyCount: number;
  maxAgeDays: number;
  forceChangeOnFirstLogin: boolean;
}
