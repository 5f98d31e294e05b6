import { Op, UniqueConstraintError, col, fn, inUnitOfWork, type Actor, type Database, type Department, type DeptKind, type Transaction } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';

/**
 * Department tree maintenance (issue 3 item 1, R12.0). The tree keeps a materialised path
 * (`/1/5/9/`, ids from the root) and a level on every row; a move rewrites both for the whole
 * moved subtree in the same transaction, with every department row locked, so concurrent moves
 * are serialised and can never close a loop. Every change is audited with before and after.
 */

export const DEPT_KINDS = ['clinical', 'medtech', 'admin', 'logistics'] as const satisfies readonly DeptKind[];
export const DEPT_KIND_NAMES: Record<DeptKind, string> = { clinical: '临床科室', medtech: '医技科室', admin: '行政职能', logistics: '后勤保障' };

/** the path column is 500 characters */
const MAX_PATH = 500;

export interface PersonRef {
  id: number;
  name: string;
  active: boolean;
}

export interface DeptView {
  id: number;
  code: string;
  name: string;
  parentId: number | null;
  campusId: number | null;
  campusName: string | null;
  kind: DeptKind;
  sort: number;
  enabled: boolean;
  path: string;
  level: number;
  heads: PersonRef[];
  deputies: PersonRef[];
  /** active people whose primary department this is */
  staffCount: number;
  /** active people for whom this is a secondary department (兼职) */
  secondaryCount: number;
  /** active people whose primary department is this one or any below it */
  subtreeStaffCount: number;
}

export interface DeptNode extends DeptView {
  children: DeptNode[];
}

export interface DeptDetail extends DeptView {
  ancestors: { id: number; name: string }[];
  childCount: number;
  leadersInCharge: PersonRef[];
}

export interface DeptCreate {
  code: string;
  name: string;
  parentId: number | null;
  kind: DeptKind;
  campusId?: number | null;
  sort?: number;
  enabled?: boolean;
}

export interface DeptPatch {
  code?: string;
  name?: string;
  parentId?: number | null;
  kind?: DeptKind;
  campusId?: number | null;
  sort?: number;
  enabled?: boolean;
}

type DeptRow = Pick<Department, 'id' | 'code' | 'name' | 'parentId' | 'campusId' | 'kind' | 'sort' | 'enabled' | 'path' | 'level'>;

function snapshot(d: DeptRow): Record<string, unknown> {
  return {
    code: d.code,
    name: d.name,
    parentId: d.parentId,
    campusId: d.campusId,
    kind: d.kind,
    sort: d.sort,
    enabled: !!d.enabled,
    path: d.path,
    level: d.level,
  };
}

function pathIds(path: string): number[] {
  return path
    .split('/')
    .filter(Boolean)
    .map(Number);
}

const field = (path: string, message: string): FieldError[] => [{ path, message }];

export class DepartmentService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  // ---------------------------------------------------------------- reading

  /** The whole tree (a forest when there are several roots), siblings by `sort` then id. */
  async tree(opts: { enabledOnly?: boolean } = {}): Promise<DeptNode[]> {
    const { Department } = this.db.models;
    const rows = (await Department.findAll({
      order: [
        ['sort', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    })) as DeptRow[];
    const deco = await this.decorate(rows, null);
    const nodes = new Map<number, DeptNode>(rows.map((r) => [r.id, { ...deco(r), children: [] }]));
    const roots: DeptNode[] = [];
    for (const r of rows) {
      const node = nodes.get(r.id)!;
      const parent = r.parentId !== null ? nodes.get(r.parentId) : undefined;
      if (parent && parent.id !== node.id) parent.children.push(node);
      else roots.push(node);
    }
    // subtree head counts, children before parents; a damaged loop cannot recurse forever
    const seen = new Set<number>();
    const total = (n: DeptNode): number => {
      if (seen.has(n.id)) return 0;
      seen.add(n.id);
      n.subtreeStaffCount = n.staffCount + n.children.reduce((s, c) => s + total(c), 0);
      return n.subtreeStaffCount;
    };
    roots.forEach(total);
    if (!opts.enabledOnly) return roots;
    const prune = (list: DeptNode[]): DeptNode[] => list.filter((n) => n.enabled).map((n) => ({ ...n, children: prune(n.children) }));
    return prune(roots);
  }

  async get(id: number, t?: Transaction): Promise<DeptDetail> {
    const { Department, LeaderInCharge, User } = this.db.models;
    const row = (await Department.findByPk(id, { raw: true, transaction: t })) as DeptRow | null;
    if (!row) throw notFound('部门不存在');
    const deco = await this.decorate([row], t ?? null);
    const ancestorIds = pathIds(row.path).filter((x) => x !== row.id);
    const ancestors = ancestorIds.length ? await Department.findAll({ where: { id: ancestorIds }, attributes: ['id', 'name'], raw: true, transaction: t }) : [];
    const byId = new Map(ancestors.map((a) => [a.id, a]));
    const subtree = await Department.findAll({ where: { path: { [Op.like]: `${row.path}%` } }, attributes: ['id'], raw: true, transaction: t });
    const subtreeIds = [...new Set([row.id, ...subtree.map((d) => d.id)])];
    const charge = await LeaderInCharge.findAll({ where: { deptId: id }, order: [['userId', 'ASC']], raw: true, transaction: t });
    return {
      ...deco(row),
      subtreeStaffCount: await User.count({ where: { deptId: subtreeIds, status: 'active' }, transaction: t }),
      ancestors: ancestorIds.flatMap((a) => {
        const d = byId.get(a);
        return d ? [{ id: d.id, name: d.name }] : [];
      }),
      childCount: await Department.count({ where: { parentId: id }, transaction: t }),
      leadersInCharge: await this.refs(
        charge.map((c) => c.userId),
        t,
      ),
    };
  }

  private async refs(ids: number[], t?: Transaction): Promise<PersonRef[]> {
    if (!ids.length) return [];
    const rows = await this.db.models.User.findAll({ where: { id: ids }, attributes: ['id', 'name', 'status'], raw: true, transaction: t });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids
      .map((i) => byId.get(i))
      .filter((r): r is (typeof rows)[number] => !!r)
      .map((r) => ({ id: r.id, name: r.name, active: r.status === 'active' }));
  }

  /** Leaders, head counts and campus names for `rows` (all departments when it is the whole tree). */
  private async decorate(rows: DeptRow[], t: Transaction | null): Promise<(r: DeptRow) => DeptView> {
    const { DeptLeader, User, UserDept, Campus } = this.db.models;
    const transaction = t ?? undefined;
    const ids = rows.map((r) => r.id);
    const leaders = await DeptLeader.findAll({
      where: { deptId: ids },
      order: [
        ['sort', 'ASC'],
        ['userId', 'ASC'],
      ],
      raw: true,
      transaction,
    });
    const people = new Map((await this.refs([...new Set(leaders.map((l) => l.userId))], transaction)).map((p) => [p.id, p]));
    const staff = (await User.findAll({
      attributes: ['deptId', [fn('COUNT', col('id')), 'n']],
      where: { status: 'active', deptId: ids },
      group: ['deptId'],
      raw: true,
      transaction,
    })) as unknown as { deptId: number; n: number | string }[];
    const staffBy = new Map(staff.map((s) => [Number(s.deptId), Number(s.n)]));
    const secondary = await UserDept.findAll({ where: { deptId: ids }, raw: true, transaction });
    const activeSecondary = secondary.length
      ? new Set(
          (await User.findAll({ where: { id: [...new Set(secondary.map((s) => s.userId))], status: 'active' }, attributes: ['id'], raw: true, transaction })).map(
            (u) => u.id,
          ),
        )
      : new Set<number>();
    const secondaryBy = new Map<number, number>();
    for (const s of secondary) if (activeSecondary.has(s.userId)) secondaryBy.set(s.deptId, (secondaryBy.get(s.deptId) ?? 0) + 1);
    const campusIds = [...new Set(rows.map((r) => r.campusId).filter((c): c is number => c !== null))];
    const campuses = new Map(
      campusIds.length ? (await Campus.findAll({ where: { id: campusIds }, attributes: ['id', 'name'], raw: true, transaction })).map((c) => [c.id, c.name]) : [],
    );
    const leadersOf = (deptId: number, kind: 'head' | 'deputy') =>
      leaders
        .filter((l) => l.deptId === deptId && l.kind === kind)
        .map((l) => people.get(l.userId))
        .filter((p): p is PersonRef => !!p);
    return (r) => ({
      id: r.id,
      code: r.code,
      name: r.name,
      parentId: r.parentId,
      campusId: r.campusId,
      campusName: r.campusId !== null ? (campuses.get(r.campusId) ?? null) : null,
      kind: r.kind,
      sort: r.sort,
      enabled: !!r.enabled,
      path: r.path,
      level: r.level,
      heads: leadersOf(r.id, 'head'),
      deputies: leadersOf(r.id, 'deputy'),
      staffCount: staffBy.get(r.id) ?? 0,
      secondaryCount: secondaryBy.get(r.id) ?? 0,
      subtreeStaffCount: staffBy.get(r.id) ?? 0,
    });
  }

  // ---------------------------------------------------------------- checks

  /** Codes are unique without regard to case (MariaDB's collation already compares that way). */
  private async checkCodeFree(code: string, selfId: number | null, t: Transaction): Promise<void> {
    const { Department } = this.db.models;
    const other = await Department.findOne({
      where: {
        [Op.and]: [this.db.sequelize.where(fn('lower', col('code')), code.toLowerCase()), ...(selfId !== null ? [{ id: { [Op.ne]: selfId } }] : [])],
      },
      attributes: ['id', 'name', 'code'],
      transaction: t,
    });
    if (other) throw conflict(`部门编码「${code}」已被部门「${other.name}」使用，请换一个编码`, 'DEPT_CODE_TAKEN');
  }

  private async checkCampus(campusId: number | null | undefined, t: Transaction): Promise<void> {
    if (campusId === null || campusId === undefined) return;
    if (!(await this.db.models.Campus.findByPk(campusId, { attributes: ['id'], transaction: t }))) {
      throw badRequest('所属院区不存在', field('campusId', '院区不存在'), 'CAMPUS_NOT_FOUND');
    }
  }

  /** People named for a department role: they must exist and be active. */
  private async checkPeople(lists: Record<string, number[]>, t: Transaction): Promise<Map<number, string>> {
    const all = [...new Set(Object.values(lists).flat())];
    const rows = all.length ? await this.db.models.User.findAll({ where: { id: all }, attributes: ['id', 'name', 'status'], raw: true, transaction: t }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const errors: FieldError[] = [];
    for (const [key, ids] of Object.entries(lists)) {
      ids.forEach((id, i) => {
        const p = byId.get(id);
        if (!p) errors.push({ path: `${key}[${i}]`, message: `人员（编号 ${id}）不存在` });
        else if (p.status !== 'active') errors.push({ path: `${key}[${i}]`, message: `${p.name}已停用，不能担任部门领导` });
      });
    }
    if (errors.length) throw badRequest(`部门领导设置有误：${errors[0]!.message}`, errors, 'INVALID_PEOPLE');
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  private uniqueViolation(code: string | undefined) {
    return (err: unknown): never => {
      // a concurrent request took the code between our check and our write
      if (err instanceof UniqueConstraintError) throw conflict(`部门编码「${code ?? ''}」已被使用，请换一个编码`, 'DEPT_CODE_TAKEN');
      throw err;
    };
  }

  // ---------------------------------------------------------------- writing

  async create(input: DeptCreate, actor: Actor): Promise<DeptDetail> {
    const { Department } = this.db.models;
    const id = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      let parent: Department | null = null;
      if (input.parentId !== null) {
        // locked: a concurrent move of the parent waits, so the new path is computed from the final one
        parent = await Department.findByPk(input.parentId, { transaction: t, lock: t.LOCK.UPDATE });
        if (!parent) throw badRequest('上级部门不存在', field('parentId', '上级部门不存在'), 'PARENT_NOT_FOUND');
      }
      await this.checkCampus(input.campusId, t);
      await this.checkCodeFree(input.code, null, t);
      let sort = input.sort;
      if (sort === undefined) {
        const last = (await Department.max('sort', { where: { parentId: input.parentId }, transaction: t })) as number | null;
        sort = (last ?? 0) + 1;
      }
      const row = await Department.create(
        {
          code: input.code,
          name: input.name,
          parentId: input.parentId,
          campusId: input.campusId !== undefined ? input.campusId : (parent?.campusId ?? null),
          kind: input.kind,
          sort,
          enabled: input.enabled ?? true,
          path: '/',
          level: 0,
        },
        { transaction: t },
      );
      const path = `${parent ? parent.path : '/'}${row.id}/`;
      if (path.length > MAX_PATH) throw badRequest('部门层级过深，无法再添加下级部门', field('parentId', '层级过深'), 'DEPT_TOO_DEEP');
      await row.update({ path, level: parent ? parent.level + 1 : 0 }, { transaction: t });
      uow.audit({ action: 'org.department.create', objectType: 'department', objectId: row.id, detail: { before: null, after: snapshot(row) } });
      return row.id;
    }).catch(this.uniqueViolation(input.code));
    return this.get(id);
  }

  async update(id: number, patch: DeptPatch, actor: Actor): Promise<DeptDetail> {
    const { Department } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const moving = patch.parentId !== undefined;
      let row: Department | undefined | null;
      let all: Department[] = [];
      if (moving) {
        // A move locks every department row, in id order (so two moves never deadlock): the loop
        // check and the path rewrite see the tree as it is and nobody changes it meanwhile.
        all = await Department.findAll({ order: [['id', 'ASC']], lock: t.LOCK.UPDATE, transaction: t });
        row = all.find((d) => d.id === id);
      } else {
        row = await Department.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      }
      if (!row) throw notFound('部门不存在');
      const before = snapshot(row);
      if (patch.code !== undefined && patch.code !== row.code) await this.checkCodeFree(patch.code, id, t);
      if (patch.campusId !== undefined) await this.checkCampus(patch.campusId, t);
      let descendants = 0;
      if (moving && patch.parentId !== row.parentId) descendants = await this.move(row, patch.parentId!, all, t);
      for (const k of ['code', 'name', 'kind', 'campusId', 'sort', 'enabled'] as const) {
        if (patch[k] !== undefined) row.set(k, patch[k] as never);
      }
      if (!row.changed()) return;
      await row.save({ transaction: t });
      const after = snapshot(row);
      const moved = before.parentId !== after.parentId;
      uow.audit({
        action: moved ? 'org.department.move' : 'org.department.update',
        objectType: 'department',
        objectId: id,
        detail: { before, after, ...(moved ? { descendantsMoved: descendants } : {}) },
      });
    }).catch(this.uniqueViolation(patch.code));
    return this.get(id);
  }

  /**
   * Re-parent `row` (not saved here) and rewrite path and level of everything below it. `all` is
   * every department, locked. Returns how many descendants moved with it.
   */
  private async move(row: Department, parentId: number | null, all: Department[], t: Transaction): Promise<number> {
    const byId = new Map(all.map((d) => [d.id, d]));
    if (parentId === row.id) throw badRequest(`不能把部门「${row.name}」设为它自己的上级部门`, field('parentId', '上级部门不能是部门自身'), 'DEPT_CYCLE');
    let parentPath = '/';
    if (parentId !== null) {
      const parent = byId.get(parentId);
      if (!parent) throw badRequest('上级部门不存在', field('parentId', '上级部门不存在'), 'PARENT_NOT_FOUND');
      // Walk up from the new parent by parentId (the authoritative link): meeting the department
      // itself means the new parent lies inside its subtree and the move would close a loop.
      const chain: number[] = [];
      const seen = new Set<number>();
      for (let p: Department | undefined = parent; p && !seen.has(p.id); p = p.parentId === null ? undefined : byId.get(p.parentId)) {
        if (p.id === row.id) {
          throw conflict(`不能把部门「${row.name}」移到它自己的下级部门「${parent.name}」之下`, 'DEPT_CYCLE');
        }
        seen.add(p.id);
        chain.unshift(p.id);
      }
      parentPath = `/${chain.join('/')}/`;
    }
    row.parentId = parentId;
    const children = new Map<number, Department[]>();
    for (const d of all) {
      if (d.parentId === null || d.id === row.id) continue;
      const list = children.get(d.parentId) ?? [];
      list.push(d);
      children.set(d.parentId, list);
    }
    let descendants = 0;
    const visited = new Set<number>();
    const queue: [Department, string][] = [[row, parentPath]];
    while (queue.length) {
      const [d, above] = queue.shift()!;
      if (visited.has(d.id)) continue;
      visited.add(d.id);
      const path = `${above}${d.id}/`;
      if (path.length > MAX_PATH) throw badRequest('移动后部门层级过深', field('parentId', '层级过深'), 'DEPT_TOO_DEEP');
      d.path = path;
      d.level = pathIds(path).length - 1;
      if (d !== row) {
        descendants++;
        if (d.changed()) await d.save({ transaction: t, fields: ['path', 'level'] });
      }
      for (const c of children.get(d.id) ?? []) queue.push([c, path]);
    }
    return descendants;
  }

  /** Replace the department's heads and deputies (PUT semantics; order = display and approval order). */
  async setLeaders(id: number, input: { heads: number[]; deputies: number[] }, actor: Actor): Promise<DeptDetail> {
    const heads = [...new Set(input.heads)];
    const deputies = [...new Set(input.deputies)];
    const { Department, DeptLeader } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const dept = await Department.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!dept) throw notFound('部门不存在');
      const both = deputies.map((d, i) => [d, i] as const).filter(([d]) => heads.includes(d));
      const names = await this.checkPeople({ heads, deputies }, t);
      if (both.length) {
        throw badRequest(
          `${names.get(both[0]![0])}不能同时是部门负责人和副职`,
          both.map(([d, i]) => ({ path: `deputies[${i}]`, message: `${names.get(d)}已是负责人` })),
          'INVALID_PEOPLE',
        );
      }
      const current = await DeptLeader.findAll({ where: { deptId: id }, order: [['sort', 'ASC'], ['userId', 'ASC']], transaction: t });
      const before = {
        heads: current.filter((l) => l.kind === 'head').map((l) => l.userId),
        deputies: current.filter((l) => l.kind === 'deputy').map((l) => l.userId),
      };
      await DeptLeader.destroy({ where: { deptId: id }, transaction: t });
      await DeptLeader.bulkCreate(
        [...heads.map((userId, sort) => ({ deptId: id, userId, kind: 'head' as const, sort })), ...deputies.map((userId, sort) => ({ deptId: id, userId, kind: 'deputy' as const, sort }))],
        { transaction: t },
      );
      uow.audit({ action: 'org.department.leaders', objectType: 'department', objectId: id, detail: { before, after: { heads, deputies } } });
    });
    return this.get(id);
  }

  /** Replace the leaders in charge (分管领导) of the department. */
  async setLeadersInCharge(id: number, input: { userIds: number[] }, actor: Actor): Promise<DeptDetail> {
    const userIds = [...new Set(input.userIds)];
    const { Department, LeaderInCharge } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const dept = await Department.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!dept) throw notFound('部门不存在');
      await this.checkPeople({ userIds }, t);
      const before = (await LeaderInCharge.findAll({ where: { deptId: id }, order: [['userId', 'ASC']], transaction: t })).map((l) => l.userId);
      await LeaderInCharge.destroy({ where: { deptId: id }, transaction: t });
      await LeaderInCharge.bulkCreate(
        userIds.map((userId) => ({ userId, deptId: id })),
        { transaction: t },
      );
      uow.audit({ action: 'org.department.leaders_in_charge', objectType: 'department', objectId: id, detail: { before: { userIds: before }, after: { userIds } } });
    });
    return this.get(id);
  }

  /**
   * Delete an empty department. Refused while it has sub-departments, people (primary or secondary,
   * disabled ones included: their history points at it) or department-scoped roles; its leader and
   * leader-in-charge rows go with it.
   */
  async remove(id: number, actor: Actor): Promise<void> {
    const { Department, User, UserDept, UserRoleScope, DeptLeader, LeaderInCharge } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      // the department and its children locked in one statement, in id order like a move
      const locked = await Department.findAll({ where: { [Op.or]: [{ id }, { parentId: id }] }, order: [['id', 'ASC']], transaction: t, lock: t.LOCK.UPDATE });
      const dept = locked.find((d) => d.id === id);
      if (!dept) throw notFound('部门不存在');
      const children = locked.filter((d) => d.parentId === id && d.id !== id);
      if (children.length) throw conflict(`部门「${dept.name}」下还有 ${children.length} 个下级部门，请先删除或移走下级部门`, 'DEPT_HAS_CHILDREN');
      const primary = await User.count({ where: { deptId: id }, transaction: t });
      const secondary = await UserDept.count({ where: { deptId: id }, transaction: t });
      if (primary + secondary) {
        const disabled = await User.count({ where: { deptId: id, status: { [Op.ne]: 'active' } }, transaction: t });
        const parts = [primary ? `${primary} 名本部门人员${disabled ? `（其中 ${disabled} 名已停用）` : ''}` : '', secondary ? `${secondary} 名兼职人员` : ''].filter(Boolean).join('、');
        throw conflict(`部门「${dept.name}」还有 ${parts}，请先将人员调出后再删除；也可以改为停用该部门`, 'DEPT_HAS_PEOPLE');
      }
      const scopes = await UserRoleScope.count({ where: { deptId: id }, transaction: t });
      if (scopes) throw conflict(`部门「${dept.name}」还有 ${scopes} 项按本部门授予的角色范围，请先收回后再删除`, 'DEPT_HAS_ROLE_SCOPES');
      const leaders = await DeptLeader.findAll({ where: { deptId: id }, order: [['sort', 'ASC'], ['userId', 'ASC']], transaction: t });
      const charge = await LeaderInCharge.findAll({ where: { deptId: id }, order: [['userId', 'ASC']], transaction: t });
      await DeptLeader.destroy({ where: { deptId: id }, transaction: t });
      await LeaderInCharge.destroy({ where: { deptId: id }, transaction: t });
      await dept.destroy({ transaction: t });
      uow.audit({
        action: 'org.department.delete',
        objectType: 'department',
        objectId: id,
        detail: {
          before: {
            ...snapshot(dept),
            heads: leaders.filter((l) => l.kind === 'head').map((l) => l.userId),
            deputies: leaders.filter((l) => l.kind === 'deputy').map((l) => l.userId),
            leadersInCharge: charge.map((c) => c.userId),
          },
          after: null,
        },
      });
    });
  }
}
