import type { Database } from '@oa/db';
import { isPermission, type Permission } from './permissions.ts';
import type { Principal } from './principal.ts';
import { passwordExpired } from '../auth/password-policy.ts';
import type { PasswordPolicy } from '../settings/service.ts';

/** Load what access decisions need about a person; null when they may not sign in. */
export async function loadPrincipal(db: Database, userId: number, policy: PasswordPolicy, now: Date): Promise<Principal | null> {
  const { User, UserRole, Role } = db.models;
  const user = await User.findByPk(userId, {
    attributes: ['id', 'username', 'name', 'deptId', 'status', 'mustChangePassword', 'passwordChangedAt', 'passwordHash'],
    raw: true,
  });
  if (!user || user.status !== 'active') return null;
  const links = await UserRole.findAll({ where: { userId }, attributes: ['roleId'], raw: true });
  const roles = links.length ? await Role.findAll({ where: { id: links.map((l) => l.roleId) } }) : [];
  const permissions = new Set<Permission>();
  for (const r of roles) for (const p of r.permissions ?? []) if (isPermission(p)) permissions.add(p);
  const changedAt = user.passwordChangedAt ? new Date(user.passwordChangedAt) : null;
  return {
    userId: user.id,
    username: user.username,
    name: user.name,
    deptId: user.deptId ?? null,
    roles: roles.map((r) => r.code),
    roleNames: roles.map((r) => r.name),
    permissions,
    // Accounts without a local password (WeCom sign-in only) have nothing to expire.
    mustChangePassword: (policy.forceChangeOnFirstLogin && !!user.mustChangePassword) || (!!user.passwordHash && passwordExpired(changedAt, policy, now)),
  };
}
