import { z } from 'zod';
import { inUnitOfWork } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { badRequest, conflict, forbidden, notFound } from '../http/errors.ts';
import type { AppDeps } from '../deps.ts';
import { ADMIN_ROLE_CODES, PeopleService, handoverRegistry } from '../org/people.ts';
import { PERMISSIONS } from './permissions.ts';

/**
 * Who appoints administrators (R19, 等保 三员分立): the security administrator. Business roles
 * (组织人事管理员, 人事档案管理员, 流程管理员, …) go through the same rules as the org screens; the three
 * administrator roles are appointed here only, one per person, never by oneself, and the last
 * security administrator cannot be removed. Without this, a fresh installation could not appoint its
 * first organisation or process administrator.
 */
const roleItem = z.strictObject({
  code: z.string().trim().min(1).max(64),
  deptId: z.number().int().positive().optional(),
  subtree: z.boolean().optional(),
});
const idParam = z.strictObject({ id: z.coerce.number().int().positive() });

export function roleRoutes(deps: AppDeps): RouteSpec[] {
  const people = new PeopleService(deps.db, deps.clock, deps.sessions, handoverRegistry(deps));
  const grants = { permission: 'security:grants' } as const;
  const tags = ['安全管理'];
  const notSelf = (ctx: AppContext, id: number) => {
    if (ctx.state.principal!.userId === id) throw forbidden('不能给自己授予或收回角色（三员分立）', 'SELF_APPOINTMENT');
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/security/roles',
      access: 'authenticated',
      summary: '角色目录（编码、名称、权限及其说明）',
      tags,
      handler: async () => {
        const rows = await deps.db.models.Role.findAll({ order: [['id', 'ASC']], raw: false });
        return {
          items: rows.map((r) => ({ code: r.code, name: r.name, builtin: r.builtin, admin: ADMIN_ROLE_CODES.has(r.code), permissions: r.permissions.map((p) => ({ code: p, name: PERMISSIONS[p as keyof typeof PERMISSIONS] ?? p })) })),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/org/catalogue',
      access: 'authenticated',
      summary: '院区、岗位、职称、职务目录（选择框用）',
      tags: ['组织人事'],
      handler: async () => {
        const { Campus, Post, Title, Position } = deps.db.models;
        const [campuses, posts, titles, positions] = await Promise.all([
          Campus.findAll({ attributes: ['id', 'code', 'name'], order: [['sort', 'ASC'], ['id', 'ASC']], raw: true }),
          Post.findAll({ attributes: ['id', 'code', 'name'], order: [['id', 'ASC']], raw: true }),
          Title.findAll({ attributes: ['id', 'code', 'name', 'grade'], order: [['id', 'ASC']], raw: true }),
          Position.findAll({ attributes: ['id', 'code', 'name', 'rank'], order: [['rank', 'DESC'], ['id', 'ASC']], raw: true }),
        ]);
        return { campuses, posts, titles, positions };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/security/people/:id/roles',
      access: grants,
      summary: '安全管理员设置人员的业务角色（组织人事、人事档案、流程管理等；不含三员角色）',
      tags,
      params: idParam,
      body: z.strictObject({ roles: z.array(roleItem).max(100) }),
      handler: (ctx, { params, body }) => {
        notSelf(ctx, params.id);
        return people.setRoles(params.id, body.roles, actorOf(ctx), { userId: ctx.state.principal!.userId, canManage: true });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/security/people/:id/admin-role',
      access: grants,
      summary: '任命或免去三员角色（系统管理员、安全管理员、审计管理员；每人至多一个）',
      tags,
      params: idParam,
      body: z.strictObject({ role: z.enum(['sysadmin', 'secadmin', 'auditadmin'], { error: '只能是 sysadmin、secadmin 或 auditadmin' }).nullable() }),
      handler: async (ctx, { params, body }) => {
        notSelf(ctx, params.id);
        const { User, Role, UserRole } = deps.db.models;
        await inUnitOfWork(deps.db, actorOf(ctx), deps.clock.now(), async (uow) => {
          const t = uow.t;
          const person = await User.findByPk(params.id, { attributes: ['id', 'status'], transaction: t, lock: t.LOCK.UPDATE });
          if (!person) throw notFound('人员不存在');
          if (person.status !== 'active') throw badRequest('人员已停用，不能任命', undefined, 'PERSON_DISABLED');
          const adminRoles = await Role.findAll({ where: { code: [...ADMIN_ROLE_CODES] }, attributes: ['id', 'code'], raw: true, transaction: t });
          const idOf = new Map(adminRoles.map((r) => [r.code, r.id]));
          const codeOf = new Map(adminRoles.map((r) => [r.id, r.code]));
          const held = (await UserRole.findAll({ where: { userId: params.id, roleId: adminRoles.map((r) => r.id) }, transaction: t })).map((r) => codeOf.get(r.roleId)!);
          const secId = idOf.get('secadmin')!;
          if (held.includes('secadmin') && body.role !== 'secadmin') {
            const others = await UserRole.count({ where: { roleId: secId }, transaction: t });
            if (others <= 1) throw conflict('这是最后一名安全管理员，请先任命另一名安全管理员', 'LAST_SECADMIN');
          }
          await UserRole.destroy({ where: { userId: params.id, roleId: adminRoles.map((r) => r.id) }, transaction: t });
          if (body.role) await UserRole.create({ userId: params.id, roleId: idOf.get(body.role)! }, { transaction: t });
          uow.audit({ action: 'security.admin_role', objectType: 'user', objectId: params.id, detail: { before: held, after: body.role ? [body.role] : [] } });
        });
        await deps.sessions.invalidateUser(params.id);
        const roles = await deps.db.models.UserRole.findAll({ where: { userId: params.id }, raw: true });
        const all = new Map((await Role.findAll({ attributes: ['id', 'code'], raw: true })).map((r) => [r.id, r.code]));
        return { userId: params.id, roles: roles.map((r) => all.get(r.roleId)).filter((c): c is string => !!c) };
      },
    }),
  ];
}

