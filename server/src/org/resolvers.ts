import { Op, type Database, type Transaction } from '@oa/db';

/**
 * Org resolvers (issue 3 item 2): who approves, as the workflow engine will ask it.
 *
 * Every function reads the database only, returns active people only, in a deterministic order,
 * and says in Chinese how it got its answer (`explain`, for the approval trail and the designer's
 * preview). When nobody resolves the list is empty: the engine decides what happens then (skip,
 * hand to an administrator, refuse to start).
 *
 * Order: department leaders by their `sort` then user id; everyone else by the person's `sort`
 * then user id. Disabled departments still count as part of the tree (their heads still lead).
 */

export interface ResolveOptions {
  /** read inside the caller's transaction (the engine's unit of work) */
  transaction?: Transaction;
}

export interface Resolved {
  userIds: number[];
  /** how the answer was reached, in Chinese */
  explain: string;
}

export interface DeptResolved extends Resolved {
  /** the department whose people were taken: the one asked for, or the ancestor it fell back to */
  fromDeptId: number | null;
  /** true when the department had nobody and an ancestor's people were taken */
  inherited: boolean;
}

export interface HeadOfDeptResolved extends DeptResolved {
  /** the initiator is (one of) the department's heads: the engine may treat it as self-approval */
  initiatorIsHead: boolean;
}

export type SuperiorSource = 'explicit' | 'dept_head' | 'none';

export interface SuperiorResolved extends Resolved {
  source: SuperiorSource;
  /** for `dept_head`: the department whose head was taken */
  fromDeptId: number | null;
}

export interface ChainStep {
  userId: number;
  name: string;
  rank: number;
  positionName: string | null;
  source: Exclude<SuperiorSource, 'none'>;
}

export type ChainStop = 'levels' | 'rank' | 'top' | 'cycle';

export interface ChainResolved extends Resolved {
  steps: ChainStep[];
  /** why the chain ended: N levels reached, a person of the rank reached, nobody above, a loop */
  stoppedBecause: ChainStop;
}

interface DeptRow {
  id: number;
  name: string;
  parentId: number | null;
  path: string;
}

interface PersonRow {
  id: number;
  name: string;
  status: string;
  deptId: number | null;
  superiorId: number | null;
  positionId: number | null;
  sort: number;
}

/** the most a chain may climb when no limit is given (deeper than any hospital) */
const MAX_CHAIN = 64;

const PERSON_ATTRS = ['id', 'name', 'status', 'deptId', 'superiorId', 'positionId', 'sort'] as const;

function nameList(people: { name: string }[]): string {
  if (!people.length) return '（无）';
  const shown = people.slice(0, 10).map((p) => p.name).join('、');
  return people.length > 10 ? `${shown} 等 ${people.length} 人` : shown;
}

function pathIds(path: string): number[] {
  return path
    .split('/')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

async function loadPeople(db: Database, ids: number[], o: ResolveOptions): Promise<Map<number, PersonRow>> {
  if (!ids.length) return new Map();
  const rows = (await db.models.User.findAll({
    where: { id: [...new Set(ids)] },
    attributes: [...PERSON_ATTRS],
    raw: true,
    transaction: o.transaction,
  })) as unknown as PersonRow[];
  return new Map(rows.map((r) => [r.id, r]));
}

/** Active people among `ids`, ordered by sort then id. */
async function activeOrdered(db: Database, where: Record<string | symbol, unknown>, o: ResolveOptions): Promise<PersonRow[]> {
  return (await db.models.User.findAll({
    where: { ...where, status: 'active' },
    attributes: [...PERSON_ATTRS],
    order: [
      ['sort', 'ASC'],
      ['id', 'ASC'],
    ],
    raw: true,
    transaction: o.transaction,
  })) as unknown as PersonRow[];
}

async function loadDept(db: Database, id: number, o: ResolveOptions): Promise<DeptRow | null> {
  return (await db.models.Department.findByPk(id, {
    attributes: ['id', 'name', 'parentId', 'path'],
    raw: true,
    transaction: o.transaction,
  })) as DeptRow | null;
}

/**
 * The department and its ancestors, nearest first. Uses the materialised path; when the path does
 * not end in the department's own id (a damaged row) it walks `parentId` instead, with a loop guard.
 */
async function deptChain(db: Database, deptId: number, o: ResolveOptions): Promise<DeptRow[]> {
  const self = await loadDept(db, deptId, o);
  if (!self) return [];
  const ids = pathIds(self.path);
  if (ids.length && ids[ids.length - 1] === self.id) {
    const rows = (await db.models.Department.findAll({
      where: { id: ids },
      attributes: ['id', 'name', 'parentId', 'path'],
      raw: true,
      transaction: o.transaction,
    })) as unknown as DeptRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids
      .reverse()
      .map((id) => byId.get(id))
      .filter((d): d is DeptRow => !!d);
  }
  const chain = [self];
  const seen = new Set([self.id]);
  let cur = self;
  while (cur.parentId !== null && !seen.has(cur.parentId) && chain.length < MAX_CHAIN) {
    const parent = await loadDept(db, cur.parentId, o);
    if (!parent) break;
    chain.push(parent);
    seen.add(parent.id);
    cur = parent;
  }
  return chain;
}

/** Subtree ids (the department itself included). */
async function subtreeIds(db: Database, dept: DeptRow, o: ResolveOptions): Promise<number[]> {
  const own = pathIds(dept.path);
  if (own[own.length - 1] !== dept.id) {
    // a damaged path would match far too much by prefix: walk parentId instead
    const ids = [dept.id];
    const seen = new Set(ids);
    for (let i = 0; i < ids.length; i++) {
      const kids = await db.models.Department.findAll({ where: { parentId: ids[i]! }, attributes: ['id'], raw: true, transaction: o.transaction });
      for (const k of kids) {
        if (seen.has(k.id)) continue;
        seen.add(k.id);
        ids.push(k.id);
      }
    }
    return ids;
  }
  const rows = await db.models.Department.findAll({
    where: { path: { [Op.like]: `${dept.path}%` } },
    attributes: ['id'],
    raw: true,
    transaction: o.transaction,
  });
  const ids = rows.map((r) => r.id);
  return ids.includes(dept.id) ? ids : [dept.id, ...ids];
}

/** Active leaders of one kind for each department in `deptIds`, in leader order. */
async function leadersByDept(db: Database, deptIds: number[], kind: 'head' | 'deputy', o: ResolveOptions): Promise<{ byDept: Map<number, number[]>; people: Map<number, PersonRow> }> {
  const rows = await db.models.DeptLeader.findAll({
    where: { deptId: deptIds, kind },
    order: [
      ['sort', 'ASC'],
      ['userId', 'ASC'],
    ],
    raw: true,
    transaction: o.transaction,
  });
  const people = await loadPeople(
    db,
    rows.map((r) => r.userId),
    o,
  );
  const byDept = new Map<number, number[]>();
  for (const r of rows) {
    if (people.get(r.userId)?.status !== 'active') continue;
    const list = byDept.get(r.deptId) ?? [];
    list.push(r.userId);
    byDept.set(r.deptId, list);
  }
  return { byDept, people };
}

function deptMissing(deptId: number): DeptResolved {
  return { userIds: [], explain: `部门（编号 ${deptId}）不存在`, fromDeptId: null, inherited: false };
}

/**
 * 部门负责人: the department's heads; when it has none (or only disabled ones), those of the nearest
 * ancestor that has one (`inherited`).
 */
export async function deptHeads(db: Database, deptId: number, o: ResolveOptions = {}): Promise<DeptResolved> {
  const chain = await deptChain(db, deptId, o);
  if (!chain.length) return deptMissing(deptId);
  const { byDept, people } = await leadersByDept(
    db,
    chain.map((d) => d.id),
    'head',
    o,
  );
  const self = chain[0]!;
  for (const d of chain) {
    const ids = byDept.get(d.id);
    if (!ids?.length) continue;
    const who = nameList(ids.map((id) => people.get(id)!));
    return {
      userIds: ids,
      fromDeptId: d.id,
      inherited: d.id !== self.id,
      explain: d.id === self.id ? `${self.name}的负责人：${who}` : `${self.name}未设负责人，取上级部门${d.name}的负责人：${who}`,
    };
  }
  return { userIds: [], fromDeptId: null, inherited: false, explain: `${self.name}及其上级部门均未设负责人` };
}

/** 部门副职: the department's own deputies (no walking up: a deputy belongs to one department). */
export async function deptDeputies(db: Database, deptId: number, o: ResolveOptions = {}): Promise<DeptResolved> {
  const dept = await loadDept(db, deptId, o);
  if (!dept) return deptMissing(deptId);
  const { byDept, people } = await leadersByDept(db, [dept.id], 'deputy', o);
  const ids = byDept.get(dept.id) ?? [];
  return {
    userIds: ids,
    fromDeptId: ids.length ? dept.id : null,
    inherited: false,
    explain: ids.length ? `${dept.name}的副职：${nameList(ids.map((id) => people.get(id)!))}` : `${dept.name}未设副职`,
  };
}

/** 发起人所在部门负责人: heads of the initiator's primary department (walking up when it has none). */
export async function headOfInitiatorDept(db: Database, userId: number, o: ResolveOptions = {}): Promise<HeadOfDeptResolved> {
  const [user] = [...(await loadPeople(db, [userId], o)).values()];
  if (!user) return { userIds: [], fromDeptId: null, inherited: false, initiatorIsHead: false, explain: `人员（编号 ${userId}）不存在` };
  if (user.deptId === null) return { userIds: [], fromDeptId: null, inherited: false, initiatorIsHead: false, explain: `${user.name}没有所属部门` };
  const r = await deptHeads(db, user.deptId, o);
  const initiatorIsHead = r.userIds.includes(user.id);
  return { ...r, initiatorIsHead, explain: `发起人${user.name}所在部门：${r.explain}${initiatorIsHead ? '（发起人本人即负责人）' : ''}` };
}

/**
 * Heads up the chain from `chain[0]`, skipping every department the person heads (a head's superior
 * is the head of the department above) and every department without an active head.
 */
async function headAbove(db: Database, person: PersonRow, o: ResolveOptions): Promise<SuperiorResolved> {
  if (person.deptId === null) return { userIds: [], source: 'none', fromDeptId: null, explain: `${person.name}没有所属部门，也未指定直接上级` };
  const chain = await deptChain(db, person.deptId, o);
  if (!chain.length) return { userIds: [], source: 'none', fromDeptId: null, explain: `${person.name}的所属部门不存在` };
  const { byDept, people } = await leadersByDept(
    db,
    chain.map((d) => d.id),
    'head',
    o,
  );
  const notes: string[] = [];
  for (const d of chain) {
    const ids = byDept.get(d.id) ?? [];
    if (ids.includes(person.id)) {
      notes.push(`本人是${d.name}负责人`);
      continue;
    }
    if (!ids.length) {
      notes.push(`${d.name}未设负责人`);
      continue;
    }
    const prefix = notes.length ? `${notes.join('，')}，` : '';
    return {
      userIds: ids,
      source: 'dept_head',
      fromDeptId: d.id,
      explain: `${person.name}的直接上级：${prefix}取${d.name}负责人 ${nameList(ids.map((id) => people.get(id)!))}`,
    };
  }
  return { userIds: [], source: 'none', fromDeptId: null, explain: `${person.name}没有直接上级（${notes.join('，')}，已到最上级部门）` };
}

async function superiorOf(db: Database, person: PersonRow, o: ResolveOptions): Promise<SuperiorResolved> {
  let note = '';
  if (person.superiorId !== null) {
    if (person.superiorId === person.id) {
      note = '（指定的上级是本人，已忽略）';
    } else {
      const sup = (await loadPeople(db, [person.superiorId], o)).get(person.superiorId);
      if (sup?.status === 'active') {
        return { userIds: [sup.id], source: 'explicit', fromDeptId: null, explain: `${person.name}的直接上级（指定）：${sup.name}` };
      }
      note = sup ? `（指定的上级${sup.name}已停用）` : '（指定的上级不存在）';
    }
  }
  const r = await headAbove(db, person, o);
  return note ? { ...r, explain: `${r.explain}${note}` } : r;
}

/**
 * 直接上级: the explicit superior when set and active; else the head of the person's department,
 * or, where the person is that head, the head of the department above (and so on up).
 * Several co-heads may come back; the first is the one a chain follows.
 */
export async function directSuperior(db: Database, userId: number, o: ResolveOptions = {}): Promise<SuperiorResolved> {
  const person = (await loadPeople(db, [userId], o)).get(userId);
  if (!person) return { userIds: [], source: 'none', fromDeptId: null, explain: `人员（编号 ${userId}）不存在` };
  return superiorOf(db, person, o);
}

/** All positions (a short list: 院长, 副院长, 科主任 …) with their rank. */
async function positions(db: Database, o: ResolveOptions): Promise<Map<number, { rank: number; name: string }>> {
  const rows = await db.models.Position.findAll({ attributes: ['id', 'rank', 'name'], raw: true, transaction: o.transaction });
  return new Map(rows.map((r) => [r.id, { rank: r.rank, name: r.name }]));
}

/**
 * 逐级上级: the chain of superiors, each step the direct superior of the previous one. Stops after
 * `levels` people, or at (and including) the first person whose position rank ≥ `untilRank`,
 * whichever comes first; at the top; or when the chain would visit someone twice (a loop in
 * explicit superiors). The initiator's own rank is not considered. Without either limit the chain
 * runs to the top.
 */
export async function levelsUp(db: Database, userId: number, opts: { levels?: number; untilRank?: number } & ResolveOptions = {}): Promise<ChainResolved> {
  const o: ResolveOptions = { transaction: opts.transaction };
  const start = (await loadPeople(db, [userId], o)).get(userId);
  if (!start) return { userIds: [], steps: [], stoppedBecause: 'top', explain: `人员（编号 ${userId}）不存在` };
  const limit = opts.levels === undefined ? MAX_CHAIN : Math.min(Math.max(0, Math.floor(opts.levels)), MAX_CHAIN);
  const ranks = await positions(db, o);
  const steps: ChainStep[] = [];
  const seen = new Set([start.id]);
  let cur = start;
  let stoppedBecause: ChainStop = 'top';
  let cycleWith: string | null = null;
  for (;;) {
    if (steps.length >= limit) {
      stoppedBecause = 'levels';
      break;
    }
    const sup = await superiorOf(db, cur, o);
    const nextId = sup.userIds[0];
    if (nextId === undefined || sup.source === 'none') {
      stoppedBecause = 'top';
      break;
    }
    const next = (await loadPeople(db, [nextId], o)).get(nextId);
    if (!next) {
      stoppedBecause = 'top';
      break;
    }
    if (seen.has(next.id)) {
      stoppedBecause = 'cycle';
      cycleWith = next.name;
      break;
    }
    seen.add(next.id);
    const pos = next.positionId !== null ? ranks.get(next.positionId) : undefined;
    steps.push({ userId: next.id, name: next.name, rank: pos?.rank ?? 0, positionName: pos?.name ?? null, source: sup.source });
    cur = next;
    if (opts.untilRank !== undefined && (pos?.rank ?? 0) >= opts.untilRank) {
      stoppedBecause = 'rank';
      break;
    }
  }
  const chain = steps.map((s) => (s.positionName ? `${s.name}（${s.positionName}）` : s.name)).join(' → ');
  const why: Record<ChainStop, string> = {
    levels: `已到 ${steps.length} 级`,
    rank: `已到职级 ≥ ${opts.untilRank} 的人员`,
    top: opts.untilRank !== undefined ? `已到最上级，途中没有职级 ≥ ${opts.untilRank} 的人员` : '已到最上级',
    cycle: `上级关系出现循环（又回到${cycleWith}），已停止`,
  };
  return {
    userIds: steps.map((s) => s.userId),
    steps,
    stoppedBecause,
    explain: steps.length ? `${start.name}的逐级上级：${chain}；${why[stoppedBecause]}` : `${start.name}没有上级（${why[stoppedBecause]}）`,
  };
}

/** 分管领导: the leaders in charge of the department, or of its nearest ancestor that has any. */
export async function leadersInCharge(db: Database, deptId: number, o: ResolveOptions = {}): Promise<DeptResolved> {
  const chain = await deptChain(db, deptId, o);
  if (!chain.length) return deptMissing(deptId);
  const rows = await db.models.LeaderInCharge.findAll({
    where: { deptId: chain.map((d) => d.id) },
    order: [['userId', 'ASC']],
    raw: true,
    transaction: o.transaction,
  });
  const people = await loadPeople(
    db,
    rows.map((r) => r.userId),
    o,
  );
  const self = chain[0]!;
  for (const d of chain) {
    const list = rows
      .filter((r) => r.deptId === d.id)
      .map((r) => people.get(r.userId))
      .filter((p): p is PersonRow => p?.status === 'active')
      .sort((a, b) => a.sort - b.sort || a.id - b.id);
    if (!list.length) continue;
    return {
      userIds: list.map((p) => p.id),
      fromDeptId: d.id,
      inherited: d.id !== self.id,
      explain: d.id === self.id ? `${self.name}的分管领导：${nameList(list)}` : `${self.name}未设分管领导，取上级部门${d.name}的分管领导：${nameList(list)}`,
    };
  }
  return { userIds: [], fromDeptId: null, inherited: false, explain: `${self.name}及其上级部门均未设分管领导` };
}

export interface DeptFilter {
  /** only people in this department … */
  deptId?: number;
  /** … or anywhere in its subtree */
  subtree?: boolean;
}

/** Departments a filter covers and the people in them (primary or secondary), or null = everyone. */
async function scopeOf(db: Database, f: DeptFilter, o: ResolveOptions): Promise<{ dept: DeptRow; deptIds: number[]; memberIds: number[] } | null | 'missing'> {
  if (f.deptId === undefined) return null;
  const dept = await loadDept(db, f.deptId, o);
  if (!dept) return 'missing';
  const deptIds = f.subtree ? await subtreeIds(db, dept, o) : [dept.id];
  const primary = await db.models.User.findAll({ where: { deptId: deptIds }, attributes: ['id'], raw: true, transaction: o.transaction });
  const secondary = await db.models.UserDept.findAll({ where: { deptId: deptIds }, attributes: ['userId'], raw: true, transaction: o.transaction });
  const memberIds = [...new Set([...primary.map((r) => r.id), ...secondary.map((r) => r.userId)])];
  return { dept, deptIds, memberIds };
}

function where(f: DeptFilter, dept: DeptRow | undefined): string {
  if (!dept) return '';
  return f.subtree ? `${dept.name}（含下级部门）` : dept.name;
}

/**
 * 角色: active holders of the role. Without a department: every holder, global or department-scoped.
 * With one: global holders who belong to it (primary or secondary department; with `subtree`,
 * anywhere below it), plus holders whose scope covers it (a scope on the department itself, or on
 * an ancestor with the subtree flag; with `subtree`, also scopes on departments below it).
 */
export async function usersWithRole(db: Database, roleCode: string, f: DeptFilter = {}, o: ResolveOptions = {}): Promise<Resolved> {
  const role = await db.models.Role.findOne({ where: { code: roleCode }, attributes: ['id', 'name'], raw: true, transaction: o.transaction });
  if (!role) return { userIds: [], explain: `角色「${roleCode}」不存在` };
  const scope = await scopeOf(db, f, o);
  if (scope === 'missing') return { userIds: [], explain: `部门（编号 ${f.deptId}）不存在` };
  const scopes = await db.models.UserRoleScope.findAll({ where: { roleId: role.id }, attributes: ['userId', 'deptId', 'subtree'], raw: true, transaction: o.transaction });
  let ids: number[];
  if (!scope) {
    const global = await db.models.UserRole.findAll({ where: { roleId: role.id }, attributes: ['userId'], raw: true, transaction: o.transaction });
    ids = [...global.map((r) => r.userId), ...scopes.map((s) => s.userId)];
  } else {
    const global = scope.memberIds.length
      ? await db.models.UserRole.findAll({ where: { roleId: role.id, userId: scope.memberIds }, attributes: ['userId'], raw: true, transaction: o.transaction })
      : [];
    const ancestors = new Set(pathIds(scope.dept.path));
    ancestors.add(scope.dept.id);
    const inside = new Set(scope.deptIds);
    const covering = scopes.filter((s) => s.deptId === scope.dept.id || (s.subtree && ancestors.has(s.deptId)) || (f.subtree && inside.has(s.deptId)));
    ids = [...global.map((r) => r.userId), ...covering.map((s) => s.userId)];
  }
  const people = ids.length ? await activeOrdered(db, { id: [...new Set(ids)] }, o) : [];
  const place = scope ? where(f, scope.dept) : '';
  return {
    userIds: people.map((p) => p.id),
    explain: people.length ? `${place}${place ? '中' : ''}具有角色「${role.name}」的人员：${nameList(people)}` : `${place}${place ? '中' : ''}没有具有角色「${role.name}」的在职人员`,
  };
}

/** 岗位: active people on the post; with a department, those whose primary or secondary department is in it (or its subtree). */
export async function usersWithPost(db: Database, postId: number, f: DeptFilter = {}, o: ResolveOptions = {}): Promise<Resolved> {
  const post = await db.models.Post.findByPk(postId, { attributes: ['id', 'name'], raw: true, transaction: o.transaction });
  if (!post) return { userIds: [], explain: `岗位（编号 ${postId}）不存在` };
  const scope = await scopeOf(db, f, o);
  if (scope === 'missing') return { userIds: [], explain: `部门（编号 ${f.deptId}）不存在` };
  const people = scope && !scope.memberIds.length ? [] : await activeOrdered(db, scope ? { postId, id: scope.memberIds } : { postId }, o);
  const place = scope ? where(f, scope.dept) : '';
  return {
    userIds: people.map((p) => p.id),
    explain: people.length ? `${place}${place ? '中' : ''}岗位为「${post.name}」的人员：${nameList(people)}` : `${place}${place ? '中' : ''}没有岗位为「${post.name}」的在职人员`,
  };
}

/** 自定义组: the group's active members. */
export async function groupMembers(db: Database, groupId: number, o: ResolveOptions = {}): Promise<Resolved> {
  const group = await db.models.UserGroup.findByPk(groupId, { attributes: ['id', 'name'], raw: true, transaction: o.transaction });
  if (!group) return { userIds: [], explain: `人员组（编号 ${groupId}）不存在` };
  const members = await db.models.UserGroupMember.findAll({ where: { groupId }, attributes: ['userId'], raw: true, transaction: o.transaction });
  const people = members.length ? await activeOrdered(db, { id: members.map((m) => m.userId) }, o) : [];
  return {
    userIds: people.map((p) => p.id),
    explain: people.length ? `人员组「${group.name}」的成员：${nameList(people)}` : `人员组「${group.name}」没有在职成员`,
  };
}
