import { emitWorkflowEvent } from '../workflow/triggers.ts';
import {
  Op,
  OptimisticLockError,
  UniqueConstraintError,
  col,
  fn,
  inUnitOfWork,
  literal,
  type Actor,
  type Database,
  type Transaction,
  type UnitOfWork,
  type User,
  type UserStatus,
} from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, forbidden, notFound, type FieldError } from '../http/errors.ts';
import { hashPassword, normaliseUsername, randomPassword } from '../auth/passwords.ts';

/**
 * People (issue 3 items 1 and 10, R12.0–R12.2): the paged personnel list, one person's record,
 * creating and changing people, secondary departments, roles (global or scoped to departments),
 * disabling with a named successor (handover) and enabling again. People are never deleted.
 *
 * Reading is open to everyone signed in, but ordinary staff see only what a picker shows (name,
 * employee number, department, post, title, position, work phone, and the personal mobile only
 * where the person allows it); org:manage sees the whole record. Every change is audited with
 * before and after; password hashes never enter the audit detail.
 */

// ---------------------------------------------------------------- handover

/**
 * Moves a disabled person's open work to their successor, inside the disabling transaction. It
 * may return a summary (what moved) for the audit row; throwing an AppError refuses the disable.
 */
export type HandoverFn = (fromUserId: number, toUserId: number, uow: UnitOfWork) => Promise<Record<string, unknown> | void>;

/** Modules with open work (workflow, documents …) register here; disabling a person runs them all. */
export class HandoverRegistry {
  private readonly handlers = new Map<string, HandoverFn>();

  register(name: string, handover: HandoverFn): void {
    if (this.handlers.has(name)) throw new Error(`handover "${name}" registered twice`);
    this.handlers.set(name, handover);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }

  /** Run every registered handover in registration order; returns each one's summary. */
  async run(fromUserId: number, toUserId: number, uow: UnitOfWork): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, handover] of this.handlers) out[name] = (await handover(fromUserId, toUserId, uow)) ?? {};
    return out;
  }
}

const registries = new WeakMap<Database, HandoverRegistry>();

/** The handover registry of one application (keyed by its database: tests run several apps in a process). */
export function handoverRegistry(deps: { db: Database }): HandoverRegistry {
  let r = registries.get(deps.db);
  if (!r) {
    r = new HandoverRegistry();
    registries.set(deps.db, r);
  }
  return r;
}

export interface HandoverSummary {
  movedLeaders: { deptId: number; kind: string }[];
  movedLeadersInCharge: number[];
  handover: Record<string, unknown>;
}

/**
 * What disabling a person hands to their successor, inside the caller's unit of work: department
 * leadership (a deputy made head where both led), the departments they oversee, and every
 * registered kind of open work. One place for the people API, the Excel import and WeCom sync.
 */
export async function handOverInUnit(db: Database, handovers: HandoverRegistry, uow: UnitOfWork, from: number, to: number): Promise<HandoverSummary> {
  const { DeptLeader, LeaderInCharge } = db.models;
  const t = uow.t;
  const leads = await DeptLeader.findAll({ where: { userId: from }, transaction: t });
  const theirs = leads.length ? await DeptLeader.findAll({ where: { userId: to, deptId: leads.map((l) => l.deptId) }, transaction: t }) : [];
  const movedLeaders: { deptId: number; kind: string }[] = [];
  for (const l of leads) {
    const existing = theirs.find((x) => x.deptId === l.deptId);
    movedLeaders.push({ deptId: l.deptId, kind: l.kind });
    await DeptLeader.destroy({ where: { deptId: l.deptId, userId: from }, transaction: t });
    if (!existing) await DeptLeader.create({ deptId: l.deptId, userId: to, kind: l.kind, sort: l.sort }, { transaction: t });
    else if (existing.kind !== 'head' && l.kind === 'head') await DeptLeader.update({ kind: 'head', sort: l.sort }, { where: { deptId: l.deptId, userId: to }, transaction: t });
  }
  const charge = await LeaderInCharge.findAll({ where: { userId: from }, raw: true, transaction: t });
  if (charge.length) {
    const already = new Set((await LeaderInCharge.findAll({ where: { userId: to, deptId: charge.map((c) => c.deptId) }, raw: true, transaction: t })).map((c) => c.deptId));
    await LeaderInCharge.destroy({ where: { userId: from }, transaction: t });
    const add = charge.filter((c) => !already.has(c.deptId)).map((c) => ({ userId: to, deptId: c.deptId }));
    if (add.length) await LeaderInCharge.bulkCreate(add, { transaction: t });
  }
  const handover = await handovers.run(from, to, uow);
  return { movedLeaders, movedLeadersInCharge: charge.map((c) => c.deptId), handover };
}

// ---------------------------------------------------------------- types

/** Administrator roles of the 三员 separation: never granted or revoked through the org screens. */
export const ADMIN_ROLE_CODES: ReadonlySet<string> = new Set(['sysadmin', 'secadmin', 'auditadmin']);

export const PEOPLE_SORTS = ['employeeNo', 'name', 'dept', 'sort'] as const;
export type PeopleSort = (typeof PEOPLE_SORTS)[number];

export interface Viewer {
  userId: number;
  /** holds org:manage: sees the whole record */
  canManage: boolean;
}

export interface Ref {
  id: number;
  name: string;
}

export interface PersonRef extends Ref {
  active: boolean;
}

/** What everyone signed in may see (a picker's fields); the rest only with org:manage. */
export interface PersonView {
  id: number;
  name: string;
  employeeNo: string | null;
  status: UserStatus;
  dept: Ref | null;
  post: Ref | null;
  title: Ref | null;
  position: Ref | null;
  workPhone: string | null;
  /** null when the person keeps it private and the viewer lacks org:manage */
  mobile: string | null;
  // org:manage only
  username?: string;
  email?: string | null;
  gender?: string | null;
  mobilePublic?: boolean;
  sort?: number;
  superiorId?: number | null;
  successorId?: number | null;
  version?: number;
}

export interface RoleGrant {
  code: string;
  name: string;
  /** null: held for the whole hospital */
  dept: Ref | null;
  subtree: boolean;
}

export interface PersonDetail extends PersonView {
  secondaryDepts: Ref[];
  superior: PersonRef | null;
  // org:manage only
  successor?: PersonRef | null;
  roles?: RoleGrant[];
  mustChangePassword?: boolean;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface PeopleListQuery {
  page: number;
  pageSize: number;
  sort: PeopleSort;
  order: 'asc' | 'desc';
  deptId?: number;
  includeSubtree: boolean;
  includeSecondary: boolean;
  status?: UserStatus;
  postId?: number;
  titleId?: number;
  positionId?: number;
}

interface PersonFields {
  name: string;
  deptId: number;
  postId?: number | null;
  titleId?: number | null;
  positionId?: number | null;
  superiorId?: number | null;
  workPhone?: string | null;
  mobile?: string | null;
  mobilePublic?: boolean;
  email?: string | null;
  gender?: string | null;
  sort?: number;
}

export interface PersonCreate extends PersonFields {
  employeeNo?: string | null;
  /** login name; defaults to the employee number */
  username?: string;
}

export type PersonPatch = Partial<PersonFields> & { employeeNo?: string | null; username?: string; version: number };

export interface RoleInput {
  code: string;
  deptId?: number;
  subtree?: boolean;
}

const LIST_ATTRS = [
  'id',
  'username',
  'employeeNo',
  'name',
  'deptId',
  'postId',
  'titleId',
  'positionId',
  'workPhone',
  'mobile',
  'mobilePublic',
  'email',
  'gender',
  'status',
  'sort',
  'superiorId',
  'successorId',
  'version',
] as const;
type Row = Pick<User, (typeof LIST_ATTRS)[number]>;

/** What the audit keeps of a person: never the password hash, counters or search keys. */
function snapshot(u: Row): Record<string, unknown> {
  return {
    username: u.username,
    employeeNo: u.employeeNo,
    name: u.name,
    deptId: u.deptId,
    postId: u.postId,
    titleId: u.titleId,
    positionId: u.positionId,
    superiorId: u.superiorId,
    workPhone: u.workPhone,
    mobile: u.mobile,
    mobilePublic: !!u.mobilePublic,
    email: u.email,
    gender: u.gender,
    sort: u.sort,
    status: u.status,
    successorId: u.successorId,
  };
}

const field = (path: string, message: string): FieldError[] => [{ path, message }];
const STALE = '该人员信息已被他人修改，请刷新后重新编辑';

/** Errors the database raises for concurrent requests, as Chinese 409s. */
function concurrency(err: unknown): never {
  if (err instanceof OptimisticLockError) throw conflict(STALE, 'VERSION_CONFLICT');
  if (err instanceof UniqueConstraintError) {
    const what = `${JSON.stringify(err.fields ?? {})} ${err.message} ${String((err.parent as { sqlMessage?: string } | undefined)?.sqlMessage ?? '')}`;
    if (/employee_no/i.test(what)) throw conflict('工号已被其他人员使用', 'EMPLOYEE_NO_TAKEN');
    if (/username/i.test(what)) throw conflict('登录名已被其他人员使用', 'USERNAME_TAKEN');
    throw conflict('数据已被其他请求同时修改，请刷新后重试', 'CONCURRENT_CHANGE');
  }
  const code = (err as { parent?: { code?: string } }).parent?.code;
  if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY') {
    throw conflict('数据正被其他请求同时修改，请稍后重试', 'CONCURRENT_CHANGE');
  }
  throw err;
}

export class PeopleService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly sessions: { invalidateUser(id: number): Promise<void>; revokeUser(id: number): Promise<void> },
    private readonly handovers: HandoverRegistry,
  ) {}

  // ---------------------------------------------------------------- reading

  /**
   * One page of people. A fixed number of queries whatever the page size: the count, the page,
   * and one lookup each for the departments, posts, titles and positions on it.
   */
  async list(q: PeopleListQuery, viewer: Viewer): Promise<{ total: number; page: number; pageSize: number; items: PersonView[] }> {
    const { User, Department, UserDept } = this.db.models;
    const where: Record<string | symbol, unknown> = {};
    if (q.status) where.status = q.status;
    if (q.postId) where.postId = q.postId;
    if (q.titleId) where.titleId = q.titleId;
    if (q.positionId) where.positionId = q.positionId;
    if (q.deptId !== undefined) {
      let deptIds = [q.deptId];
      if (q.includeSubtree) {
        const dept = await Department.findByPk(q.deptId, { attributes: ['id', 'path'], raw: true });
        if (!dept) throw badRequest('部门不存在', field('deptId', '部门不存在'), 'DEPT_NOT_FOUND');
        const below = await Department.findAll({ where: { path: { [Op.like]: `${dept.path}%` } }, attributes: ['id'], raw: true });
        deptIds = [...new Set([q.deptId, ...below.map((d) => d.id)])];
      }
      if (q.includeSecondary) {
        const secondary = await UserDept.findAll({ where: { deptId: deptIds }, attributes: ['userId'], raw: true });
        where[Op.or] = [{ deptId: deptIds }, { id: [...new Set(secondary.map((s) => s.userId))] }];
      } else {
        where.deptId = deptIds;
      }
    }
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    const order: [unknown, string][] = [];
    switch (q.sort) {
      case 'employeeNo':
        order.push(['employeeNo', dir]);
        break;
      case 'name':
        // pinyin keeps Chinese names in dictionary order (张 after 王), whatever the collation
        order.push(['pinyin', dir], ['name', dir]);
        break;
      case 'dept':
        order.push([await this.treeOrder(), dir], ['sort', 'ASC'], ['pinyin', 'ASC']);
        break;
      case 'sort':
        order.push(['sort', dir], ['pinyin', 'ASC']);
        break;
    }
    order.push(['id', dir]);
    const total = await User.count({ where });
    const rows = (await User.findAll({
      where,
      attributes: [...LIST_ATTRS],
      order: order as never,
      offset: (q.page - 1) * q.pageSize,
      limit: q.pageSize,
      raw: true,
    })) as Row[];
    const view = await this.viewer(rows, viewer);
    return { total, page: q.page, pageSize: q.pageSize, items: rows.map(view) };
  }

  /**
   * Department tree order (siblings by sort, then id; depth first) as an SQL expression on
   * `dept_id`: people without a department last. Departments number in the hundreds.
   */
  private async treeOrder(): Promise<unknown> {
    const rows = await this.db.models.Department.findAll({ attributes: ['id', 'parentId', 'sort'], raw: true });
    const ids = new Set(rows.map((r) => r.id));
    const children = new Map<number | null, typeof rows>();
    for (const r of rows) {
      const parent = r.parentId !== null && ids.has(r.parentId) && r.parentId !== r.id ? r.parentId : null;
      const list = children.get(parent) ?? [];
      list.push(r);
      children.set(parent, list);
    }
    for (const list of children.values()) list.sort((a, b) => a.sort - b.sort || a.id - b.id);
    const rank = new Map<number, number>();
    const stack = [...(children.get(null) ?? [])].reverse();
    while (stack.length) {
      const d = stack.pop()!;
      if (rank.has(d.id)) continue;
      rank.set(d.id, rank.size);
      stack.push(...[...(children.get(d.id) ?? [])].reverse());
    }
    if (!rank.size) return literal('0');
    // integers only: nothing user-supplied reaches the SQL text
    const cases = [...rank].map(([id, r]) => `WHEN ${Math.trunc(id)} THEN ${r}`).join(' ');
    return literal(`CASE dept_id ${cases} ELSE ${rank.size} END`);
  }

  /** Turns rows into views, with one query per lookup table for the whole set. */
  private async viewer(rows: Row[], viewer: Viewer): Promise<(r: Row) => PersonView> {
    const { Department, Post, Title, Position } = this.db.models;
    const ids = (k: 'deptId' | 'postId' | 'titleId' | 'positionId') => [...new Set(rows.map((r) => r[k]).filter((x): x is number => x !== null))];
    const names = async (model: typeof Department | typeof Post | typeof Title | typeof Position, list: number[]) =>
      new Map(
        list.length ? ((await (model as typeof Post).findAll({ where: { id: list }, attributes: ['id', 'name'], raw: true })) as Ref[]).map((x) => [x.id, x.name]) : [],
      );
    const [depts, posts, titles, positions] = await Promise.all([
      names(Department, ids('deptId')),
      names(Post, ids('postId')),
      names(Title, ids('titleId')),
      names(Position, ids('positionId')),
    ]);
    const ref = (m: Map<number, string>, id: number | null): Ref | null => (id !== null && m.has(id) ? { id, name: m.get(id)! } : null);
    return (r) => {
      const v: PersonView = {
        id: r.id,
        name: r.name,
        employeeNo: r.employeeNo,
        status: r.status,
        dept: ref(depts, r.deptId),
        post: ref(posts, r.postId),
        title: ref(titles, r.titleId),
        position: ref(positions, r.positionId),
        workPhone: r.workPhone,
        mobile: viewer.canManage || r.mobilePublic || r.id === viewer.userId ? r.mobile : null,
      };
      if (viewer.canManage) {
        Object.assign(v, {
          username: r.username,
          email: r.email,
          gender: r.gender,
          mobilePublic: !!r.mobilePublic,
          sort: r.sort,
          superiorId: r.superiorId,
          successorId: r.successorId,
          version: r.version,
        });
      }
      return v;
    };
  }

  async get(id: number, viewer: Viewer, t?: Transaction): Promise<PersonDetail> {
    const { User, UserDept, Department, UserRole, UserRoleScope, Role } = this.db.models;
    const transaction = t;
    const row = (await User.findByPk(id, { attributes: [...LIST_ATTRS, 'mustChangePassword', 'createdAt', 'updatedAt'], raw: true, transaction })) as
      | (Row & Pick<User, 'mustChangePassword' | 'createdAt' | 'updatedAt'>)
      | null;
    if (!row) throw notFound('人员不存在');
    const view = (await this.viewer([row], viewer))(row);
    const secondary = await UserDept.findAll({ where: { userId: id }, attributes: ['deptId'], raw: true, transaction });
    const refs = await this.personRefs([row.superiorId, row.successorId].filter((x): x is number => x !== null), transaction);
    const globalRoles = viewer.canManage ? await UserRole.findAll({ where: { userId: id }, attributes: ['roleId'], raw: true, transaction }) : [];
    const scoped = viewer.canManage ? await UserRoleScope.findAll({ where: { userId: id }, raw: true, transaction }) : [];
    const deptIds = [...new Set([...secondary.map((s) => s.deptId), ...scoped.map((s) => s.deptId)])];
    const depts = new Map(
      deptIds.length ? (await Department.findAll({ where: { id: deptIds }, attributes: ['id', 'name'], raw: true, transaction })).map((d) => [d.id, d.name]) : [],
    );
    const roleIds = [...new Set([...globalRoles.map((r) => r.roleId), ...scoped.map((s) => s.roleId)])];
    const roles = new Map(
      roleIds.length ? (await Role.findAll({ where: { id: roleIds }, attributes: ['id', 'code', 'name'], raw: true, transaction })).map((r) => [r.id, r]) : [],
    );
    const detail: PersonDetail = {
      ...view,
      secondaryDepts: secondary
        .map((s) => ({ id: s.deptId, name: depts.get(s.deptId) ?? '' }))
        .filter((d) => d.name)
        .sort((a, b) => a.id - b.id),
      superior: row.superiorId !== null ? (refs.get(row.superiorId) ?? null) : null,
    };
    if (viewer.canManage) {
      const grants: RoleGrant[] = [];
      for (const g of globalRoles) {
        const r = roles.get(g.roleId);
        if (r) grants.push({ code: r.code, name: r.name, dept: null, subtree: false });
      }
      grants.sort((a, b) => a.code.localeCompare(b.code));
      const scopedGrants: RoleGrant[] = [];
      for (const s of scoped) {
        const r = roles.get(s.roleId);
        if (r) scopedGrants.push({ code: r.code, name: r.name, dept: { id: s.deptId, name: depts.get(s.deptId) ?? '' }, subtree: !!s.subtree });
      }
      grants.push(...scopedGrants.sort((a, b) => a.code.localeCompare(b.code) || a.dept!.id - b.dept!.id));
      Object.assign(detail, {
        successor: row.successorId !== null ? (refs.get(row.successorId) ?? null) : null,
        roles: grants,
        mustChangePassword: !!row.mustChangePassword,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      });
    }
    return detail;
  }

  private async personRefs(ids: number[], t?: Transaction): Promise<Map<number, PersonRef>> {
    if (!ids.length) return new Map();
    const rows = await this.db.models.User.findAll({ where: { id: [...new Set(ids)] }, attributes: ['id', 'name', 'status'], raw: true, transaction: t });
    return new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, active: r.status === 'active' }]));
  }

  // ---------------------------------------------------------------- checks

  /**
   * The department a person is put into: it must exist and be enabled. Locked (shared lock would
   * do, but SQLite and SQL Server only know one kind here): a concurrent delete of the department
   * waits for this transaction and then sees the person, so it can never orphan them.
   */
  private async lockDept(deptId: number, t: Transaction, path = 'deptId'): Promise<void> {
    const dept = await this.db.models.Department.findByPk(deptId, { attributes: ['id', 'name', 'enabled'], transaction: t, lock: t.LOCK.UPDATE });
    if (!dept) throw badRequest('所属部门不存在', field(path, '部门不存在'), 'DEPT_NOT_FOUND');
    if (!dept.enabled) throw badRequest(`部门「${dept.name}」已停用，不能再调入人员`, field(path, '部门已停用'), 'DEPT_DISABLED');
  }

  private async checkLookups(input: { postId?: number | null; titleId?: number | null; positionId?: number | null }, t: Transaction): Promise<void> {
    const { Post, Title, Position } = this.db.models;
    const checks = [
      ['postId', Post, '岗位'],
      ['titleId', Title, '职称'],
      ['positionId', Position, '职务'],
    ] as const;
    for (const [key, model, label] of checks) {
      const id = input[key];
      if (id === null || id === undefined) continue;
      if (!(await (model as typeof Post).findByPk(id, { attributes: ['id'], transaction: t }))) {
        throw badRequest(`${label}不存在`, field(key, `${label}不存在`), `${key.replace('Id', '').toUpperCase()}_NOT_FOUND`);
      }
    }
  }

  private async checkEmployeeNoFree(employeeNo: string, selfId: number | null, t: Transaction): Promise<void> {
    const other = await this.db.models.User.findOne({
      where: {
        [Op.and]: [this.db.sequelize.where(fn('lower', col('employee_no')), employeeNo.toLowerCase()), ...(selfId !== null ? [{ id: { [Op.ne]: selfId } }] : [])],
      },
      attributes: ['id', 'name'],
      transaction: t,
    });
    if (other) throw conflict(`工号「${employeeNo}」已被「${other.name}」使用，工号必须全院唯一`, 'EMPLOYEE_NO_TAKEN');
  }

  private async checkUsernameFree(username: string, selfId: number | null, t: Transaction): Promise<void> {
    // stored names are already NFKC + lower case (IA-1): equality is enough
    const other = await this.db.models.User.findOne({
      where: { username, ...(selfId !== null ? { id: { [Op.ne]: selfId } } : {}) },
      attributes: ['id', 'name'],
      transaction: t,
    });
    if (other) throw conflict(`登录名「${username}」已被「${other.name}」使用（登录名不区分大小写和全角半角）`, 'USERNAME_TAKEN');
  }

  /**
   * A direct superior must exist, be active, and not lead back to the person: walking up the
   * explicit superiors from the new one must never meet the person. The chain is read with row
   * locks, so two crossing changes (A→B while B→A) cannot both pass: one waits, or the database
   * picks one as a deadlock victim, which is answered as a 409.
   */
  private async checkSuperior(person: { id: number; name: string } | null, superiorId: number, t: Transaction): Promise<void> {
    const personId = person?.id ?? null;
    const { User } = this.db.models;
    if (personId !== null && superiorId === personId) {
      throw badRequest('不能把人员设为自己的直接上级', field('superiorId', '直接上级不能是本人'), 'SUPERIOR_CYCLE');
    }
    const load = (id: number) => User.findByPk(id, { attributes: ['id', 'name', 'status', 'superiorId'], transaction: t, lock: t.LOCK.UPDATE });
    const sup = await load(superiorId);
    if (!sup) throw badRequest('直接上级不存在', field('superiorId', '人员不存在'), 'SUPERIOR_NOT_FOUND');
    if (sup.status !== 'active') throw badRequest(`${sup.name}已停用，不能担任直接上级`, field('superiorId', '该人员已停用'), 'SUPERIOR_DISABLED');
    if (personId === null) return;
    const chain = [sup.name];
    const seen = new Set<number>([sup.id]);
    for (let cur = sup; cur.superiorId !== null; ) {
      if (cur.superiorId === personId) {
        throw badRequest(
          `不能把「${sup.name}」设为${person!.name}的直接上级：上级链「${[...chain, person!.name].join(' → ')}」又回到了${person!.name}本人，会形成循环`,
          field('superiorId', '上级关系不能形成循环'),
          'SUPERIOR_CYCLE',
        );
      }
      if (seen.has(cur.superiorId)) break; // an old loop that does not involve this person
      const next = await load(cur.superiorId);
      if (!next) break;
      seen.add(next.id);
      chain.push(next.name);
      cur = next;
    }
  }

  // ---------------------------------------------------------------- writing

  /** Create a person with the `staff` role and a random initial password (shown once). */
  async create(input: PersonCreate, actor: Actor, viewer: Viewer): Promise<{ person: PersonDetail; initialPassword: string }> {
    const { User, Role, UserRole } = this.db.models;
    const employeeNo = input.employeeNo ? input.employeeNo.normalize('NFKC').trim() : null;
    const rawName = input.username ?? employeeNo;
    if (!rawName) throw badRequest('请填写工号或登录名', field('username', '没有工号时必须填写登录名'), 'USERNAME_REQUIRED');
    const username = normaliseUsername(rawName);
    if (!username) throw badRequest('登录名不能为空', field('username', '登录名不能为空'), 'USERNAME_REQUIRED');
    const initialPassword = randomPassword();
    const passwordHash = await hashPassword(initialPassword);
    const id = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      await this.checkUsernameFree(username, null, t);
      if (employeeNo) await this.checkEmployeeNoFree(employeeNo, null, t);
      await this.lockDept(input.deptId, t);
      await this.checkLookups(input, t);
      if (input.superiorId !== undefined && input.superiorId !== null) await this.checkSuperior(null, input.superiorId, t);
      const staff = await Role.findOne({ where: { code: 'staff' }, attributes: ['id'], transaction: t });
      if (!staff) throw new Error('built-in role "staff" missing');
      const row = await User.create(
        {
          username,
          employeeNo,
          name: input.name,
          deptId: input.deptId,
          postId: input.postId ?? null,
          titleId: input.titleId ?? null,
          positionId: input.positionId ?? null,
          superiorId: input.superiorId ?? null,
          workPhone: input.workPhone ?? null,
          mobile: input.mobile ?? null,
          mobilePublic: input.mobilePublic ?? false,
          email: input.email ?? null,
          gender: input.gender ?? null,
          sort: input.sort ?? 0,
          wecomUserId: null,
          passwordHash,
          passwordChangedAt: uow.now,
          mustChangePassword: true,
          lockedUntil: null,
          successorId: null,
        },
        { transaction: t },
      );
      await UserRole.create({ userId: row.id, roleId: staff.id }, { transaction: t });
      uow.audit({ action: 'org.person.create', objectType: 'user', objectId: row.id, detail: { before: null, after: { ...snapshot(row), roles: ['staff'] } } });
      // an onboarding process may start for the new person (R3.12)
      await emitWorkflowEvent(this.db, t, 'org.person.created', { subjectUserId: row.id }, uow.now);
      return row.id;
    }).catch(concurrency);
    return { person: await this.get(id, viewer), initialPassword };
  }

  /** Change a person's record; `version` must be the one the editor read (optimistic concurrency). */
  async update(id: number, patch: PersonPatch, actor: Actor, viewer: Viewer): Promise<PersonDetail> {
    const { User } = this.db.models;
    let changed = false;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const row = await User.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!row) throw notFound('人员不存在');
      if (row.version !== patch.version) throw conflict(STALE, 'VERSION_CONFLICT');
      const before = snapshot(row);
      if (patch.username !== undefined) {
        const username = normaliseUsername(patch.username);
        if (!username) throw badRequest('登录名不能为空', field('username', '登录名不能为空'), 'USERNAME_REQUIRED');
        if (username !== row.username) await this.checkUsernameFree(username, id, t);
        row.username = username;
      }
      if (patch.employeeNo !== undefined) {
        const employeeNo = patch.employeeNo ? patch.employeeNo.normalize('NFKC').trim() : null;
        if (employeeNo && employeeNo !== row.employeeNo) await this.checkEmployeeNoFree(employeeNo, id, t);
        row.employeeNo = employeeNo || null;
      }
      if (patch.deptId !== undefined && patch.deptId !== row.deptId) await this.lockDept(patch.deptId, t);
      await this.checkLookups(
        {
          postId: patch.postId !== row.postId ? patch.postId : undefined,
          titleId: patch.titleId !== row.titleId ? patch.titleId : undefined,
          positionId: patch.positionId !== row.positionId ? patch.positionId : undefined,
        },
        t,
      );
      if (patch.superiorId !== undefined && patch.superiorId !== null && patch.superiorId !== row.superiorId) await this.checkSuperior(row, patch.superiorId, t);
      for (const k of ['name', 'deptId', 'postId', 'titleId', 'positionId', 'superiorId', 'workPhone', 'mobile', 'mobilePublic', 'email', 'gender', 'sort'] as const) {
        if (patch[k] !== undefined) row.set(k, patch[k] as never);
      }
      if (!row.changed()) return;
      // the model's version column adds `WHERE version = …` and increments it
      await row.save({ transaction: t });
      changed = true;
      uow.audit({ action: 'org.person.update', objectType: 'user', objectId: id, detail: { before, after: snapshot(row) } });
    }).catch(concurrency);
    // name and department are part of what a session knows about its person
    if (changed) await this.sessions.invalidateUser(id);
    return this.get(id, viewer);
  }

  /**
   * Change fields of one person inside the caller's unit of work (transfers, information changes,
   * batch changes): the same locks, checks, optimistic version and before/after audit as `update`.
   * `version`, when given, must be the one the caller read. Returns whether anything changed; the
   * caller invalidates the person's sessions after commit (`afterChange`).
   */
  async changeInUnit(
    uow: UnitOfWork,
    id: number,
    patch: Partial<Pick<PersonFields, 'deptId' | 'postId' | 'titleId' | 'positionId' | 'workPhone' | 'mobile' | 'mobilePublic' | 'email' | 'gender'>>,
    o: { action: string; version?: number; detail?: Record<string, unknown>; path?: string },
  ): Promise<boolean> {
    const t = uow.t;
    const row = await this.db.models.User.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
    if (!row) throw badRequest('人员不存在', o.path ? field(o.path, '人员不存在') : undefined, 'PERSON_NOT_FOUND');
    if (o.version !== undefined && row.version !== o.version) throw conflict(STALE, 'VERSION_CONFLICT');
    const before = snapshot(row);
    if (patch.deptId !== undefined && patch.deptId !== row.deptId) await this.lockDept(patch.deptId, t);
    await this.checkLookups(
      {
        postId: patch.postId !== row.postId ? patch.postId : undefined,
        titleId: patch.titleId !== row.titleId ? patch.titleId : undefined,
        positionId: patch.positionId !== row.positionId ? patch.positionId : undefined,
      },
      t,
    );
    for (const k of ['deptId', 'postId', 'titleId', 'positionId', 'workPhone', 'mobile', 'mobilePublic', 'email', 'gender'] as const) {
      if (patch[k] !== undefined) row.set(k, patch[k] as never);
    }
    if (!row.changed()) return false;
    // the model's version column adds `WHERE version = …` and increments it
    await row.save({ transaction: t });
    uow.audit({ action: o.action, objectType: 'user', objectId: id, detail: { before, after: snapshot(row), ...(o.detail ?? {}) } });
    return true;
  }

  /** After a unit of work that used `changeInUnit` committed: sessions reload what they know of these people. */
  async afterChange(ids: Iterable<number>): Promise<void> {
    for (const id of new Set(ids)) await this.sessions.invalidateUser(id);
  }

  /** Database errors of concurrent writers as Chinese 409s (for callers running their own unit of work). */
  static concurrency(err: unknown): never {
    return concurrency(err);
  }

  /** Replace the person's secondary departments (兼职科室). */
  async setSecondaryDepts(id: number, deptIds: number[], actor: Actor, viewer: Viewer): Promise<PersonDetail> {
    const { User, UserDept, Department } = this.db.models;
    const wanted = [...new Set(deptIds)].sort((a, b) => a - b);
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const person = await User.findByPk(id, { attributes: ['id', 'name', 'deptId'], transaction: t, lock: t.LOCK.UPDATE });
      if (!person) throw notFound('人员不存在');
      const before = (await UserDept.findAll({ where: { userId: id }, attributes: ['deptId'], raw: true, transaction: t })).map((d) => d.deptId).sort((a, b) => a - b);
      const primary = wanted.indexOf(person.deptId ?? -1);
      if (primary >= 0) throw badRequest('主部门不能同时作为兼职部门', field(`deptIds[${deptIds.indexOf(wanted[primary]!)}]`, '这是该人员的主部门'), 'SECONDARY_IS_PRIMARY');
      // locked in id order (as department moves do): a concurrent delete cannot orphan the link
      const depts = wanted.length
        ? await Department.findAll({ where: { id: wanted }, attributes: ['id', 'name', 'enabled'], order: [['id', 'ASC']], transaction: t, lock: t.LOCK.UPDATE })
        : [];
      const byId = new Map(depts.map((d) => [d.id, d]));
      const errors: FieldError[] = [];
      deptIds.forEach((d, i) => {
        const dept = byId.get(d);
        if (!dept) errors.push({ path: `deptIds[${i}]`, message: `部门（编号 ${d}）不存在` });
        else if (!dept.enabled && !before.includes(d)) errors.push({ path: `deptIds[${i}]`, message: `部门「${dept.name}」已停用` });
      });
      if (errors.length) throw badRequest(`兼职部门设置有误：${errors[0]!.message}`, errors, 'INVALID_DEPTS');
      if (before.join() === wanted.join()) return;
      await UserDept.destroy({ where: { userId: id, deptId: { [Op.notIn]: wanted.length ? wanted : [0] } }, transaction: t });
      const add = wanted.filter((d) => !before.includes(d));
      if (add.length) await UserDept.bulkCreate(add.map((deptId) => ({ userId: id, deptId })), { transaction: t });
      uow.audit({ action: 'org.person.secondary_depts', objectType: 'user', objectId: id, detail: { before: { deptIds: before }, after: { deptIds: wanted } } });
    });
    return this.get(id, viewer);
  }

  /**
   * Replace the person's roles: global ones (UserRole) and department-scoped ones (UserRoleScope).
   * The 三员 administrator roles are outside this screen: they cannot be granted here, and any the
   * person already holds are left as they are. The person's sessions reload their permissions on
   * the next request.
   */
  async setRoles(id: number, input: RoleInput[], actor: Actor, viewer: Viewer): Promise<PersonDetail> {
    const { User, Role, UserRole, UserRoleScope, Department } = this.db.models;
    const refused = input.map((r, i) => [r, i] as const).filter(([r]) => ADMIN_ROLE_CODES.has(r.code));
    if (refused.length) {
      throw forbidden(
        `系统管理员、安全管理员、审计管理员（三员）角色不能在人员管理中授予，请由系统管理员按三员分立的规定办理（roles[${refused[0]![1]}]：${refused[0]![0].code}）`,
        'ADMIN_ROLE_NOT_GRANTABLE',
      );
    }
    let changed = false;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const person = await User.findByPk(id, { attributes: ['id'], transaction: t, lock: t.LOCK.UPDATE });
      if (!person) throw notFound('人员不存在');
      const codes = [...new Set(input.map((r) => r.code))];
      const roles = codes.length ? await Role.findAll({ where: { code: codes }, attributes: ['id', 'code'], raw: true, transaction: t }) : [];
      const roleBy = new Map(roles.map((r) => [r.code, r.id]));
      const scopedDeptIds = [...new Set(input.flatMap((r) => (r.deptId !== undefined ? [r.deptId] : [])))].sort((a, b) => a - b);
      const depts = scopedDeptIds.length
        ? await Department.findAll({ where: { id: scopedDeptIds }, attributes: ['id'], order: [['id', 'ASC']], transaction: t, lock: t.LOCK.UPDATE })
        : [];
      const deptSet = new Set(depts.map((d) => d.id));
      const errors: FieldError[] = [];
      input.forEach((r, i) => {
        if (!roleBy.has(r.code)) errors.push({ path: `roles[${i}].code`, message: `角色「${r.code}」不存在` });
        if (r.deptId !== undefined && !deptSet.has(r.deptId)) errors.push({ path: `roles[${i}].deptId`, message: `部门（编号 ${r.deptId}）不存在` });
      });
      if (errors.length) throw badRequest(`角色设置有误：${errors[0]!.message}`, errors, 'INVALID_ROLES');

      const allRoles = await Role.findAll({ attributes: ['id', 'code'], raw: true, transaction: t });
      const codeOf = new Map(allRoles.map((r) => [r.id, r.code]));
      const adminIds = allRoles.filter((r) => ADMIN_ROLE_CODES.has(r.code)).map((r) => r.id);
      const keyG = (roleId: number) => String(roleId);
      const keyS = (roleId: number, deptId: number) => `${roleId}@${deptId}`;
      const curGlobal = (await UserRole.findAll({ where: { userId: id }, transaction: t })).filter((r) => !adminIds.includes(r.roleId));
      const curScoped = (await UserRoleScope.findAll({ where: { userId: id }, transaction: t })).filter((r) => !adminIds.includes(r.roleId));
      const wantGlobal = new Map<string, number>();
      const wantScoped = new Map<string, { roleId: number; deptId: number; subtree: boolean }>();
      for (const r of input) {
        const roleId = roleBy.get(r.code)!;
        if (r.deptId === undefined) wantGlobal.set(keyG(roleId), roleId);
        else wantScoped.set(keyS(roleId, r.deptId), { roleId, deptId: r.deptId, subtree: r.subtree ?? true });
      }
      const describe = (g: { roleId: number }[], s: { roleId: number; deptId: number; subtree: boolean }[]) => [
        ...g.map((x) => ({ code: codeOf.get(x.roleId) ?? String(x.roleId) })).sort((a, b) => a.code.localeCompare(b.code)),
        ...s
          .map((x) => ({ code: codeOf.get(x.roleId) ?? String(x.roleId), deptId: x.deptId, subtree: !!x.subtree }))
          .sort((a, b) => a.code.localeCompare(b.code) || a.deptId - b.deptId),
      ];
      const before = describe(curGlobal, curScoped);
      const after = describe([...wantGlobal.values()].map((roleId) => ({ roleId })), [...wantScoped.values()]);
      if (JSON.stringify(before) === JSON.stringify(after)) return;

      const dropGlobal = curGlobal.filter((r) => !wantGlobal.has(keyG(r.roleId))).map((r) => r.roleId);
      if (dropGlobal.length) await UserRole.destroy({ where: { userId: id, roleId: dropGlobal }, transaction: t });
      const haveGlobal = new Set(curGlobal.map((r) => keyG(r.roleId)));
      const addGlobal = [...wantGlobal].filter(([k]) => !haveGlobal.has(k)).map(([, roleId]) => ({ userId: id, roleId }));
      if (addGlobal.length) await UserRole.bulkCreate(addGlobal, { transaction: t });
      const haveScoped = new Map(curScoped.map((s) => [keyS(s.roleId, s.deptId), s]));
      const dropScoped = curScoped.filter((s) => !wantScoped.has(keyS(s.roleId, s.deptId))).map((s) => s.id);
      if (dropScoped.length) await UserRoleScope.destroy({ where: { id: dropScoped }, transaction: t });
      for (const [k, w] of wantScoped) {
        const have = haveScoped.get(k);
        if (!have) await UserRoleScope.create({ userId: id, ...w }, { transaction: t });
        else if (!!have.subtree !== w.subtree) await have.update({ subtree: w.subtree }, { transaction: t });
      }
      changed = true;
      uow.audit({ action: 'org.person.roles', objectType: 'user', objectId: id, detail: { before: { roles: before }, after: { roles: after } } });
    }).catch(concurrency);
    if (changed) await this.sessions.invalidateUser(id);
    return this.get(id, viewer);
  }

  /**
   * Disable a person (离职、退休…): they can no longer sign in and every session ends; nothing of
   * theirs is deleted. Their department head/deputy and leader-in-charge rows pass to the
   * successor, and every registered handover moves their open work, all in one transaction.
   */
  async disable(id: number, input: { successorId: number; reason: string }, actor: Actor, viewer: Viewer): Promise<PersonDetail> {
    const { User, UserRole, Role } = this.db.models;
    if (input.successorId === id) throw badRequest('交接人不能是被停用的本人', field('successorId', '交接人不能是本人'), 'SUCCESSOR_SELF');
    if (actor.id === id) throw badRequest('不能停用自己的账号', undefined, 'DISABLE_SELF');
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      // both rows locked, in id order: a concurrent disable of the successor waits and sees this one
      const rows = await User.findAll({ where: { id: [id, input.successorId] }, order: [['id', 'ASC']], transaction: t, lock: t.LOCK.UPDATE });
      const person = rows.find((r) => r.id === id);
      const successor = rows.find((r) => r.id === input.successorId);
      if (!person) throw notFound('人员不存在');
      if (person.status !== 'active') throw conflict(`${person.name}已经停用`, 'ALREADY_DISABLED');
      if (!successor) throw badRequest('交接人不存在', field('successorId', '人员不存在'), 'SUCCESSOR_NOT_FOUND');
      if (successor.status !== 'active') throw badRequest(`交接人${successor.name}已停用，请选择在职人员`, field('successorId', '交接人已停用'), 'SUCCESSOR_DISABLED');
      const adminRoles = await Role.findAll({ where: { code: [...ADMIN_ROLE_CODES] }, attributes: ['id'], raw: true, transaction: t });
      if (adminRoles.length && (await UserRole.count({ where: { userId: id, roleId: adminRoles.map((r) => r.id) }, transaction: t }))) {
        throw forbidden(`${person.name}担任三员管理员角色，不能在人员管理中停用，请先由系统管理员移交其管理员职责`, 'ADMIN_NOT_DISABLABLE');
      }
      const before = snapshot(person);

      // department leadership: the successor takes each place (keeping the stronger one if they already lead there)
      const moved = await handOverInUnit(this.db, this.handovers, uow, id, successor.id);
      person.status = 'disabled';
      person.successorId = successor.id;
      await person.save({ transaction: t });
      uow.audit({
        action: 'org.person.disable',
        objectType: 'user',
        objectId: id,
        detail: {
          before,
          after: snapshot(person),
          reason: input.reason,
          successor: { id: successor.id, name: successor.name },
          ...moved,
        },
      });
    }).catch(concurrency);
    await this.sessions.revokeUser(id);
    await this.sessions.invalidateUser(id);
    return this.get(id, viewer);
  }

  /** Enable a disabled person again. Leadership handed over stays with the successor. */
  async enable(id: number, actor: Actor, viewer: Viewer): Promise<PersonDetail> {
    const { User } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const person = await User.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!person) throw notFound('人员不存在');
      if (person.status === 'active') throw conflict(`${person.name}未停用，无需启用`, 'ALREADY_ACTIVE');
      const before = snapshot(person);
      person.status = 'active';
      await person.save({ transaction: t });
      uow.audit({ action: 'org.person.enable', objectType: 'user', objectId: id, detail: { before, after: snapshot(person) } });
    }).catch(concurrency);
    await this.sessions.invalidateUser(id);
    return this.get(id, viewer);
  }
}
