import { inUnitOfWork, seedDemoHospital, UniqueConstraintError, type DemoSummary } from '@oa/db';
import { BUILTIN_ROLES } from './access/permissions.ts';
import { hashPassword, randomPassword } from './auth/passwords.ts';
import type { AppDeps } from './deps.ts';
import { seedDemoProcesses } from './workflow/demo.ts';

export interface BootstrapResult {
  /** set only on the very first start: the one time the password is shown */
  adminPassword?: string;
  demo?: DemoSummary & { password: string };
}

const SYSTEM = { id: null, name: 'system' };

/** Keep the built-in roles' permissions equal to the catalogue (new permissions arrive with upgrades). */
async function syncBuiltinRoles(deps: AppDeps): Promise<Map<string, number>> {
  const { Role } = deps.db.models;
  return inUnitOfWork(deps.db, SYSTEM, deps.clock.now(), async (uow) => {
    const ids = new Map<string, number>();
    for (const r of BUILTIN_ROLES) {
      const existing = await Role.findOne({ where: { code: r.code }, transaction: uow.t });
      if (!existing) {
        const created = await Role.create({ code: r.code, name: r.name, permissions: r.permissions, builtin: true }, { transaction: uow.t });
        uow.audit({ action: 'role.create', objectType: 'role', objectId: created.id, detail: { code: r.code, permissions: r.permissions } });
        ids.set(r.code, created.id);
      } else {
        if (JSON.stringify(existing.permissions) !== JSON.stringify(r.permissions)) {
          uow.audit({ action: 'role.sync', objectType: 'role', objectId: existing.id, detail: { before: existing.permissions, after: r.permissions } });
          await existing.update({ permissions: r.permissions }, { transaction: uow.t });
        }
        ids.set(r.code, existing.id);
      }
    }
    return ids;
  });
}

/**
 * First start on an empty database: no default accounts (BAR §6 item 15), so `admin` gets a random
 * password shown once and must change it at first sign-in. With demo data on, the demo hospital's
 * staff share one random password, also shown once.
 */
export async function bootstrap(deps: AppDeps, opts: { demo: boolean }): Promise<BootstrapResult> {
  const roles = await syncBuiltinRoles(deps);
  const { User, UserRole, Campus } = deps.db.models;
  const result: BootstrapResult = {};
  if ((await User.count({ where: { username: 'admin' } })) === 0 && (await User.count()) === 0) {
    const password = randomPassword(16);
    const hash = await hashPassword(password);
    try {
      await inUnitOfWork(deps.db, SYSTEM, deps.clock.now(), async (uow) => {
        const admin = await User.create(
          {
            username: 'admin',
            employeeNo: null,
            name: '系统管理员',
            deptId: null,
            postId: null,
            mobile: null,
            email: null,
            wecomUserId: null,
            passwordHash: hash,
            passwordChangedAt: uow.now,
            mustChangePassword: true,
            lockedUntil: null,
          },
          { transaction: uow.t },
        );
        // One bootstrap account holds the three administrator roles until the hospital appoints
        // separate system, security and audit administrators (三员), as 等保 expects.
        await UserRole.bulkCreate(
          ['sysadmin', 'secadmin', 'auditadmin'].map((code) => ({ userId: admin.id, roleId: roles.get(code)! })),
          { transaction: uow.t },
        );
        uow.audit({ action: 'system.bootstrap', objectType: 'user', objectId: admin.id, detail: { username: 'admin' } });
      });
      result.adminPassword = password;
    } catch (err) {
      // Only a race with another instance bootstrapping at the same moment is harmless.
      if (!(err instanceof UniqueConstraintError) || (await User.count({ where: { username: 'admin' } })) === 0) throw err;
    }
  }
  if (opts.demo && (await Campus.count()) === 0) {
    const password = randomPassword(12);
    const passwordHash = await hashPassword(password);
    try {
      const summary = await inUnitOfWork(deps.db, SYSTEM, deps.clock.now(), async (uow) => {
        const s = await seedDemoHospital(deps.db, uow.t, { passwordHash, staffRoleId: roles.get('staff')!, now: uow.now });
        uow.audit({ action: 'system.demo_seed', detail: { campuses: s.campuses, departments: s.departments, staff: s.staff } });
        return s;
      });
      result.demo = { ...summary, password };
    } catch (err) {
      if (!(err instanceof UniqueConstraintError) || (await Campus.count()) === 0) throw err;
    }
    if (result.demo) await seedDemoProcesses(deps);
  }
  return result;
}

/** The lines printed once on first start (README explains them). */
export function credentialLines(r: BootstrapResult): string[] {
  const lines: string[] = [];
  if (r.adminPassword) {
    lines.push(`[首次启动] 管理员账号 admin 的初始密码：${r.adminPassword}  （只显示这一次；首次登录后必须修改）`);
  }
  if (r.demo) {
    lines.push(
      `[演示数据] 已创建演示医院：${r.demo.campuses} 个院区、${r.demo.departments} 个部门、${r.demo.staff} 名员工（工号 10001–${10000 + r.demo.staff}）。`,
      `[演示数据] 所有演示员工的统一密码：${r.demo.password}  （只显示这一次；生产环境请设置 DEMO_DATA=off）`,
      ...r.demo.samples.map((s) => `[演示数据] 示例账号 ${s.username} ${s.name}（${s.dept} ${s.post}）`),
    );
  }
  return lines;
}
