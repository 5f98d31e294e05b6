import { Op, UniqueConstraintError, inUnitOfWork, type AccessGrant, type Actor, type Database, type GrantEffect, type GrantSubjectType, type Transaction } from '@oa/db';
import type { Logger } from 'pino';
import type { Bus, BusMessage } from '../system/bus.ts';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';
import { noChange, watchAclWrites, type AclChange } from './watch.ts';

/*
 * The access-control service (issue 3 item 8, ARCHITECTURE principle 4): "may person U do action A
 * on resource R", for every module. Route-level permissions (permissions.ts) say who may call a
 * route at all; this answers resource-level questions.
 *
 * Resources are (type, id); id is a string (modules key their resources their own way). Each
 * resource may have a parent: departments by the department tree (their path), anything else by a
 * row in `resource_node` that its module writes with setParent() (folder → document,
 * department → folder). One table rather than a parent resolver per type: the cache resolves a
 * chain with plain queries, without calling into modules, and a module's tree may hang below a
 * department (then the department chain continues it).
 *
 * A grant = subject + action + resource + effect. Subjects: a person; a department (only its own
 * members, or with `subtree` everyone in it or below it; primary and secondary departments both
 * count); a role (held globally, or scoped to departments: then only for resources whose
 * department, the nearest department on the resource's chain, lies in the scope); a post; a
 * group; everyone (every active person).
 *
 * Rules, in order:
 *  1. disabled or unknown people may do nothing;
 *  2. the grants that count are those on the resource and on every ancestor (inherited down the
 *     tree);
 *  3. an explicit deny anywhere on that chain wins, however near an allow is: a nearer allow
 *     never re-opens what a farther deny closed (deny a folder, and nothing inside can be opened
 *     by a grant on a document; narrow an allow instead of punching holes into a deny);
 *  4. otherwise a matching allow grants; no grant means no (deny by default);
 *  5. `manage` implies every other action: an allow of `manage` allows everything, and a deny of
 *     any action also denies `manage` (who may not view a thing may not manage it). A deny of
 *     `manage` denies only `manage`.
 *
 * Admin ranges (管理范围): a person manages a department when can(person, 'manage', dept) holds:
 * a `manage` grant on a department is inherited by every department below it.
 *
 * Cache: per person, the set of subjects they are (a few strings); per resource, its ancestor
 * chain and every grant on it. A warm can() is a Map lookup for each and a loop over a handful of
 * grants. Invalidation: writes through the models are seen by hooks after commit (watch.ts):
 * grants and resource parents drop the resource entries; a person's department, secondary
 * departments, post, status, roles, scoped roles and groups drop that person's subjects;
 * departments moving drop everything. Each change is also published on the bus (`acl`), so other
 * instances drop the same entries; `org` and `user` messages drop people's subjects too. The
 * whole cache is also dropped every `maxAgeMs`, bounding staleness should a message be lost.
 */

export const SUBJECT_TYPES = ['user', 'dept', 'role', 'post', 'group', 'everyone'] as const satisfies readonly GrantSubjectType[];
export const SUBJECT_TYPE_NAMES: Record<GrantSubjectType, string> = { user: '人员', dept: '部门', role: '角色', post: '岗位', group: '人员组', everyone: '全体人员' };
export const EFFECTS = ['allow', 'deny'] as const satisfies readonly GrantEffect[];
export const MANAGE = 'manage';
export const DEFAULT_ACTIONS: readonly string[] = ['view', 'edit', MANAGE];
/** resource types and actions: lower-case identifiers */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** the department tree, built in: admin ranges are `manage` grants on it */
export const DEPT = 'dept';

export interface ResourceRef {
  type: string;
  id: string | number;
}

export interface ResourceTypeSpec {
  type: string;
  /** shown to people (Chinese) */
  name: string;
  /** actions a grant may name (default view, edit, manage); `manage` is always allowed */
  actions?: readonly string[];
  /** whether a resource exists, checked when a grant is created (default: not checked) */
  exists?: (id: string, t: Transaction) => Promise<boolean>;
}

export interface GrantInput {
  resourceType: string;
  resourceId: string | number;
  subjectType: string;
  /** absent or null for everyone */
  subjectId?: number | null;
  /** department subjects: include the departments below (default true) */
  subtree?: boolean;
  action: string;
  effect: string;
}

export interface GrantView {
  id: number;
  resourceType: string;
  resourceId: string;
  subjectType: GrantSubjectType;
  subjectId: number | null;
  subtree: boolean;
  /** who the subject is, for people to read (null when it no longer exists) */
  subjectName: string | null;
  action: string;
  effect: GrantEffect;
  createdAt: Date;
  createdBy: number | null;
}

export interface GrantList {
  resource: { type: string; id: string };
  /** grants on the resource itself */
  items: GrantView[];
  /** grants on its ancestors, nearest first, that it inherits */
  inherited: (GrantView & { from: { type: string; id: string } })[];
}

// ---- the cache's entries ---------------------------------------------------------------------

interface Scope {
  deptId: number;
  subtree: boolean;
}

/** What one person is, for matching grants. */
interface Subjects {
  active: boolean;
  /** 'u:1' person, 'd:5' member of department 5, 't:1' in the subtree of 1, 'r:3' role, 'p:2' post, 'g:7' group, '*' everyone */
  keys: Set<string>;
  /** role id → the departments a scoped role holds for */
  scoped: Map<number, Scope[]> | null;
  /** every role id (global and scoped), for list queries */
  roleIds: number[];
  /** allowedIds answers, keyed `action|type`, for the resource generation they were computed in */
  lists: Map<string, { resGen: number; ids: Promise<string[]> }>;
}

interface CompiledGrant {
  subject: string;
  /** for role grants: the role id (scoped roles match through it), else 0 */
  roleId: number;
  action: string;
  deny: boolean;
}

interface ResourceEntry {
  /** departments on the chain, nearest first (scoped roles) */
  depts: number[];
  grants: CompiledGrant[];
}

type GrantRow = Pick<AccessGrant, 'id' | 'resourceType' | 'resourceId' | 'subjectType' | 'subjectId' | 'subtree' | 'action' | 'effect' | 'createdAt' | 'createdBy'>;
const GRANT_FIELDS = ['id', 'resourceType', 'resourceId', 'subjectType', 'subjectId', 'subtree', 'action', 'effect', 'createdAt', 'createdBy'] as const;

const resKey = (type: string, id: string) => `${type}:${id}`;

function subjectKey(g: Pick<GrantRow, 'subjectType' | 'subjectId' | 'subtree'>): string {
  switch (g.subjectType) {
    case 'user':
      return `u:${g.subjectId}`;
    case 'dept':
      return g.subtree ? `t:${g.subjectId}` : `d:${g.subjectId}`;
    case 'role':
      return `r:${g.subjectId}`;
    case 'post':
      return `p:${g.subjectId}`;
    case 'group':
      return `g:${g.subjectId}`;
    case 'everyone':
      return '*';
    default:
      return '?'; // unknown kinds written around the service match nobody
  }
}

const compile = (g: GrantRow): CompiledGrant => ({
  subject: subjectKey(g),
  roleId: g.subjectType === 'role' ? g.subjectId : 0,
  action: g.action,
  deny: g.effect !== 'allow', // anything but an explicit allow is read as a deny
});

function pathIds(path: string): number[] {
  return path
    .split('/')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

function inScope(scopes: Scope[] | undefined, depts: number[]): boolean {
  if (!scopes || !depts.length) return false;
  for (const s of scopes) if (s.subtree ? depts.includes(s.deptId) : depts[0] === s.deptId) return true;
  return false;
}

/** The decision for one person and one resource (rules 1–5 above). */
function decide(u: Subjects, r: ResourceEntry, action: string): boolean {
  if (!u.active) return false;
  let allowed = false;
  for (const g of r.grants) {
    // allow A covers Q when A implies Q; deny A covers Q when Q implies A
    if (g.deny ? g.action !== action && action !== MANAGE : g.action !== action && g.action !== MANAGE) continue;
    if (!u.keys.has(g.subject) && !(g.roleId && u.scoped && inScope(u.scoped.get(g.roleId), r.depts))) continue;
    if (g.deny) return false;
    allowed = true;
  }
  return allowed;
}

const field = (path: string, message: string): FieldError[] => [{ path, message }];

export interface AccessServiceOptions {
  /** drop the whole cache this often (default 10 minutes): bounds staleness should a message be lost */
  maxAgeMs?: number;
  /** resource entries kept (default 200,000; the oldest go first) */
  maxResources?: number;
  /** people's subject sets kept (default 100,000) */
  maxPeople?: number;
}

export class AccessService {
  private readonly types = new Map<string, ResourceTypeSpec>();
  private readonly people = new Map<number, Subjects>();
  private readonly peopleLoads = new Map<number, Promise<Subjects>>();
  private readonly resources = new Map<string, ResourceEntry>();
  private readonly resourceLoads = new Map<string, Promise<ResourceEntry>>();
  /** bumped by every invalidation: a load started before it is not cached */
  private subjGen = 0;
  private resGen = 0;
  private epoch: number;
  private readonly maxAgeMs: number;
  private readonly maxResources: number;
  private readonly maxPeople: number;
  private readonly unwatch: () => void;

  constructor(
    private readonly deps: { db: Database; bus: Bus; clock: Clock; log?: Logger },
    opts: AccessServiceOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 10 * 60_000;
    this.maxResources = opts.maxResources ?? 200_000;
    this.maxPeople = opts.maxPeople ?? 100_000;
    this.epoch = deps.clock.now().getTime();
    this.registerResourceType({
      type: DEPT,
      name: '部门',
      exists: async (id, t) => /^\d+$/.test(id) && !!(await deps.db.models.Department.findByPk(Number(id), { attributes: ['id'], transaction: t })),
    });
    deps.bus.subscribe((m) => this.onMessage(m));
    this.unwatch = watchAclWrites(deps.db, (c) => void this.announce(c));
  }

  /** Modules name their resource types at start-up; grants on unknown types are refused. */
  registerResourceType(spec: ResourceTypeSpec): void {
    if (!NAME_PATTERN.test(spec.type)) throw new Error(`resource type ${spec.type}: lower-case letters, digits and _`);
    this.types.set(spec.type, spec);
  }

  resourceTypes(): { type: string; name: string; actions: string[] }[] {
    return [...this.types.values()].map((s) => ({ type: s.type, name: s.name, actions: this.actionsOf(s) }));
  }

  // ---- questions ----------------------------------------------------------------------------

  /** May `userId` do `action` on `resource`? Answered from the cache when warm. */
  can(userId: number, action: string, resource: ResourceRef): Promise<boolean> {
    this.checkAge();
    const key = resKey(resource.type, String(resource.id));
    const u = this.people.get(userId);
    const r = this.resources.get(key);
    if (u && r) return Promise.resolve(decide(u, r, action));
    return this.canCold(userId, action, resource.type, String(resource.id), key);
  }

  private async canCold(userId: number, action: string, type: string, id: string, key: string): Promise<boolean> {
    const [u, r] = await Promise.all([this.subjects(userId), this.resource(type, id, key)]);
    return decide(u, r, action);
  }

  /** Admin range (管理范围): does the person manage this department (a `manage` grant on it or above it)? */
  managesDept(userId: number, deptId: number): Promise<boolean> {
    return this.can(userId, MANAGE, { type: DEPT, id: deptId });
  }

  /** Every department in the person's admin range. */
  async managedDeptIds(userId: number): Promise<number[]> {
    return (await this.allowedIds(userId, MANAGE, DEPT)).map(Number);
  }

  /** The ids among `ids` the person may act on: for lists already read. */
  async filter<T extends string | number>(userId: number, action: string, type: string, ids: readonly T[]): Promise<T[]> {
    const out: T[] = [];
    for (const id of ids) if (await this.can(userId, action, { type, id })) out.push(id);
    return out;
  }

  /**
   * Every resource of `type` the person may act on, for list queries (`WHERE id IN (…)`): the
   * resources their allow grants name or sit above (down the resource and department trees), each
   * confirmed with can() so denies and role scopes hold. Cached per person until a change.
   */
  async allowedIds(userId: number, action: string, type: string): Promise<string[]> {
    const u = await this.subjects(userId);
    if (!u.active) return [];
    const k = `${action}|${type}`;
    const hit = u.lists.get(k);
    if (hit && hit.resGen === this.resGen) return hit.ids;
    const ids = this.computeAllowed(u, userId, action, type);
    u.lists.set(k, { resGen: this.resGen, ids });
    ids.catch(() => u.lists.delete(k));
    return ids;
  }

  private async computeAllowed(u: Subjects, userId: number, action: string, type: string): Promise<string[]> {
    const { AccessGrant, Department, ResourceNode } = this.deps.db.models;
    const or: Record<string, unknown>[] = [{ subjectType: 'everyone' }];
    const bySign = (prefix: string) => [...u.keys].filter((s) => s.startsWith(prefix)).map((s) => Number(s.slice(prefix.length)));
    or.push({ subjectType: 'user', subjectId: userId });
    if (bySign('d:').length) or.push({ subjectType: 'dept', subtree: false, subjectId: bySign('d:') });
    if (bySign('t:').length) or.push({ subjectType: 'dept', subtree: true, subjectId: bySign('t:') });
    if (u.roleIds.length) or.push({ subjectType: 'role', subjectId: u.roleIds });
    if (bySign('p:').length) or.push({ subjectType: 'post', subjectId: bySign('p:') });
    if (bySign('g:').length) or.push({ subjectType: 'group', subjectId: bySign('g:') });
    const roots = await AccessGrant.findAll({
      where: { effect: 'allow', action: [...new Set([action, MANAGE])], [Op.or]: or },
      attributes: ['resourceType', 'resourceId'],
      raw: true,
    });
    // walk down from every allowed node: departments by path, everything else by resource_node
    const seen = new Set<string>();
    let frontier: [string, string][] = [];
    const add = (t: string, id: string) => {
      const key = resKey(t, id);
      if (seen.has(key)) return;
      seen.add(key);
      frontier.push([t, id]);
    };
    for (const g of roots) add(g.resourceType, g.resourceId);
    const candidates: string[] = [];
    for (let depth = 0; frontier.length && depth < 64; depth++) {
      const level = frontier;
      frontier = [];
      for (const [t, id] of level) if (t === type) candidates.push(id);
      const deptIds = level.filter(([t, id]) => t === DEPT && /^\d+$/.test(id)).map(([, id]) => Number(id));
      if (deptIds.length) {
        const paths = await Department.findAll({ where: { id: deptIds }, attributes: ['path'], raw: true });
        const prefixes = [...new Set(paths.map((p) => p.path).filter((p) => p.length > 1))];
        for (let i = 0; i < prefixes.length; i += 200) {
          const below = await Department.findAll({ where: { [Op.or]: prefixes.slice(i, i + 200).map((p) => ({ path: { [Op.like]: `${p}%` } })) }, attributes: ['id'], raw: true });
          for (const d of below) add(DEPT, String(d.id));
        }
      }
      const byType = new Map<string, string[]>();
      for (const [t, id] of level) (byType.get(t) ?? byType.set(t, []).get(t)!).push(id);
      for (const [t, ids] of byType) {
        for (let i = 0; i < ids.length; i += 500) {
          const children = await ResourceNode.findAll({ where: { parentType: t, parentId: ids.slice(i, i + 500) }, attributes: ['resourceType', 'resourceId'], raw: true });
          for (const c of children) add(c.resourceType, c.resourceId);
        }
      }
    }
    const out: string[] = [];
    for (const id of candidates) if (await this.can(userId, action, { type, id })) out.push(id);
    return out;
  }

  // ---- the cache ----------------------------------------------------------------------------

  private checkAge(): void {
    const now = this.deps.clock.now().getTime();
    if (now - this.epoch >= this.maxAgeMs) {
      this.epoch = now;
      this.dropPeople(null);
      this.dropResources();
    }
  }

  private subjects(userId: number): Promise<Subjects> {
    const have = this.people.get(userId);
    if (have) return Promise.resolve(have);
    let p = this.peopleLoads.get(userId);
    if (!p) {
      const gen = this.subjGen;
      p = this.loadSubjects(userId).then((s) => {
        if (this.subjGen === gen) {
          if (this.people.size >= this.maxPeople) this.people.delete(this.people.keys().next().value!);
          this.people.set(userId, s);
        }
        return s;
      });
      const mine = p;
      const forget = () => {
        if (this.peopleLoads.get(userId) === mine) this.peopleLoads.delete(userId);
      };
      p.then(forget, forget);
      this.peopleLoads.set(userId, p);
    }
    return p;
  }

  private async loadSubjects(userId: number): Promise<Subjects> {
    const { User, UserDept, UserRole, UserRoleScope, UserGroupMember, Department } = this.deps.db.models;
    const where = { where: { userId }, raw: true } as const;
    const [user, secondary, roles, scopes, groups] = await Promise.all([
      User.findByPk(userId, { attributes: ['id', 'deptId', 'postId', 'status'], raw: true }),
      UserDept.findAll({ ...where, attributes: ['deptId'] }),
      UserRole.findAll({ ...where, attributes: ['roleId'] }),
      UserRoleScope.findAll({ ...where, attributes: ['roleId', 'deptId', 'subtree'] }),
      UserGroupMember.findAll({ ...where, attributes: ['groupId'] }),
    ]);
    const s: Subjects = { active: user?.status === 'active', keys: new Set(), scoped: null, roleIds: [], lists: new Map() };
    if (!user) return s;
    s.keys.add(`u:${userId}`).add('*');
    const deptIds = [...new Set([...(user.deptId !== null ? [user.deptId] : []), ...secondary.map((d) => d.deptId)])];
    if (deptIds.length) {
      const depts = await Department.findAll({ where: { id: deptIds }, attributes: ['id', 'path'], raw: true });
      for (const d of depts) {
        s.keys.add(`d:${d.id}`).add(`t:${d.id}`);
        for (const a of pathIds(d.path)) s.keys.add(`t:${a}`);
      }
    }
    for (const r of roles) s.keys.add(`r:${r.roleId}`);
    if (user.postId !== null) s.keys.add(`p:${user.postId}`);
    for (const g of groups) s.keys.add(`g:${g.groupId}`);
    if (scopes.length) {
      s.scoped = new Map();
      for (const sc of scopes) (s.scoped.get(sc.roleId) ?? s.scoped.set(sc.roleId, []).get(sc.roleId)!).push({ deptId: sc.deptId, subtree: !!sc.subtree });
    }
    s.roleIds = [...new Set([...roles.map((r) => r.roleId), ...scopes.map((r) => r.roleId)])];
    return s;
  }

  private resource(type: string, id: string, key: string): Promise<ResourceEntry> {
    const have = this.resources.get(key);
    if (have) return Promise.resolve(have);
    let p = this.resourceLoads.get(key);
    if (!p) {
      const gen = this.resGen;
      p = this.loadResource(type, id).then((r) => {
        const entry: ResourceEntry = { depts: r.depts, grants: r.grants.map(compile) };
        if (this.resGen === gen) {
          if (this.resources.size >= this.maxResources) this.resources.delete(this.resources.keys().next().value!);
          this.resources.set(key, entry);
        }
        return entry;
      });
      const mine = p;
      const forget = () => {
        if (this.resourceLoads.get(key) === mine) this.resourceLoads.delete(key);
      };
      p.then(forget, forget);
      this.resourceLoads.set(key, p);
    }
    return p;
  }

  /** The resource's chain (itself first, then its ancestors) and every grant on it. */
  private async chainOf(type: string, id: string, t?: Transaction): Promise<{ nodes: [string, string][]; depts: number[] }> {
    const { Department, ResourceNode } = this.deps.db.models;
    const nodes: [string, string][] = [[type, id]];
    const seen = new Set([resKey(type, id)]);
    let depts: number[] = [];
    let cur: [string, string] = [type, id];
    for (let depth = 0; depth < 64; depth++) {
      if (cur[0] === DEPT) {
        if (!/^\d+$/.test(cur[1])) break;
        const d = await Department.findByPk(Number(cur[1]), { attributes: ['id', 'path'], raw: true, transaction: t });
        if (!d) break;
        const up = pathIds(d.path).reverse();
        depts = up[0] === d.id ? up : [d.id, ...up.filter((x) => x !== d.id)];
        for (const a of depts.slice(1)) nodes.push([DEPT, String(a)]);
        break;
      }
      const link = await ResourceNode.findOne({ where: { resourceType: cur[0], resourceId: cur[1] }, attributes: ['parentType', 'parentId'], raw: true, transaction: t });
      if (!link) break;
      const k = resKey(link.parentType, link.parentId);
      if (seen.has(k)) break; // a loop written around setParent(): stop rather than hang
      seen.add(k);
      cur = [link.parentType, link.parentId];
      nodes.push(cur);
    }
    return { nodes, depts };
  }

  private async grantsOn(nodes: [string, string][], t?: Transaction): Promise<GrantRow[]> {
    const { AccessGrant } = this.deps.db.models;
    const byType = new Map<string, string[]>();
    for (const [ty, id] of nodes) (byType.get(ty) ?? byType.set(ty, []).get(ty)!).push(id);
    return (await AccessGrant.findAll({
      where: { [Op.or]: [...byType].map(([resourceType, resourceId]) => ({ resourceType, resourceId })) },
      attributes: [...GRANT_FIELDS],
      order: [['id', 'ASC']],
      raw: true,
      transaction: t,
    })) as GrantRow[];
  }

  private async loadResource(type: string, id: string): Promise<{ depts: number[]; grants: GrantRow[] }> {
    const { nodes, depts } = await this.chainOf(type, id);
    return { depts, grants: await this.grantsOn(nodes) };
  }

  /** Answer from the database alone, bypassing the cache (the benchmark's baseline, and a cross-check). */
  async canUncached(userId: number, action: string, resource: ResourceRef): Promise<boolean> {
    const [u, r] = await Promise.all([this.loadSubjects(userId), this.loadResource(resource.type, String(resource.id))]);
    return decide(u, { depts: r.depts, grants: r.grants.map(compile) }, action);
  }

  // ---- invalidation -------------------------------------------------------------------------

  private dropPeople(userIds: Iterable<number> | null): void {
    this.subjGen++;
    if (userIds === null) {
      this.people.clear();
      this.peopleLoads.clear();
      return;
    }
    for (const id of userIds) {
      this.people.delete(id);
      this.peopleLoads.delete(id);
    }
  }

  private dropResources(): void {
    this.resGen++;
    this.resources.clear();
    this.resourceLoads.clear();
    for (const u of this.people.values()) u.lists.clear();
  }

  private apply(c: AclChange): void {
    if (c.grants) this.dropResources();
    if (c.everyone) this.dropPeople(null);
    else if (c.userIds.size) this.dropPeople(c.userIds);
  }

  private onMessage(m: BusMessage): void {
    if (m.type === 'acl') {
      this.apply({
        grants: m.scope !== 'people',
        everyone: m.scope === 'all' || (m.scope === 'people' && !m.userIds),
        userIds: new Set(m.userIds ?? []),
      });
    } else if (m.type === 'org') {
      // from the people search: its own rules; a change without people may have moved departments
      this.apply(m.userIds ? { ...noChange(), userIds: new Set(m.userIds) } : { grants: true, everyone: true, userIds: new Set() });
    } else if (m.type === 'user') {
      this.apply({ ...noChange(), userIds: new Set([m.userId]) });
    }
  }

  /** Drop here at once, then tell the other instances. */
  private async announce(c: AclChange): Promise<void> {
    this.apply(c);
    const msgs: BusMessage[] = [];
    if (c.grants && c.everyone) msgs.push({ type: 'acl', scope: 'all' });
    else {
      if (c.grants) msgs.push({ type: 'acl', scope: 'grants' });
      if (c.everyone || c.userIds.size > 500) msgs.push({ type: 'acl', scope: 'people' });
      else if (c.userIds.size) msgs.push({ type: 'acl', scope: 'people', userIds: [...c.userIds] });
    }
    for (const m of msgs) {
      try {
        await this.deps.bus.publish(m);
      } catch (err) {
        this.deps.log?.warn({ err }, 'access: could not broadcast an invalidation');
      }
    }
  }

  /** Writes that bypass the models (raw SQL, another program): drop everything here and everywhere. */
  async invalidate(): Promise<void> {
    await this.announce({ grants: true, everyone: true, userIds: new Set() });
  }

  /** Stop following writes (the database outlives this service). */
  dispose(): void {
    this.unwatch();
  }

  // ---- the resource tree ----------------------------------------------------------------------

  /**
   * Hang `child` below `parent` (null: make it a root). Modules call this in the unit of work that
   * creates or moves the resource (and audit it there). Refuses a loop.
   */
  async setParent(child: ResourceRef, parent: ResourceRef | null, t?: Transaction): Promise<void> {
    const { ResourceNode } = this.deps.db.models;
    const type = child.type;
    const id = String(child.id);
    if (type === DEPT) throw badRequest('部门的上级由部门树决定，不能另行设置', field('resource', '部门不能设置上级资源'), 'RESOURCE_PARENT_INVALID');
    if (!parent) {
      await ResourceNode.destroy({ where: { resourceType: type, resourceId: id }, transaction: t });
      return;
    }
    const { nodes } = await this.chainOf(parent.type, String(parent.id), t);
    if (nodes.some(([pt, pid]) => pt === type && pid === id)) {
      throw badRequest('不能把资源放到它自己的下级之下', field('parent', '会形成循环'), 'RESOURCE_CYCLE');
    }
    await ResourceNode.destroy({ where: { resourceType: type, resourceId: id }, transaction: t });
    await ResourceNode.create({ resourceType: type, resourceId: id, parentType: parent.type, parentId: String(parent.id) }, { transaction: t });
  }

  // ---- grants -------------------------------------------------------------------------------

  private actionsOf(spec: ResourceTypeSpec): string[] {
    return [...new Set([...(spec.actions ?? DEFAULT_ACTIONS), MANAGE])];
  }

  private typeOf(resourceType: string): ResourceTypeSpec {
    const spec = this.types.get(resourceType);
    if (!spec) {
      const known = [...this.types.values()].map((s) => `${s.type}（${s.name}）`).join('、');
      throw badRequest(`未知的资源类型「${resourceType}」，可用的类型：${known}`, field('resourceType', '未知的资源类型'), 'UNKNOWN_RESOURCE_TYPE');
    }
    return spec;
  }

  /** Grants on a resource and those it inherits from its ancestors. */
  async listGrants(resource: ResourceRef): Promise<GrantList> {
    this.typeOf(resource.type);
    const id = String(resource.id);
    const { nodes } = await this.chainOf(resource.type, id);
    const rows = await this.grantsOn(nodes);
    const views = await this.views(rows);
    const at = new Map(nodes.map(([t, i], n) => [resKey(t, i), n]));
    const own = views.filter((g) => g.resourceType === resource.type && g.resourceId === id);
    const inherited = views
      .filter((g) => !(g.resourceType === resource.type && g.resourceId === id))
      .sort((a, b) => (at.get(resKey(a.resourceType, a.resourceId)) ?? 0) - (at.get(resKey(b.resourceType, b.resourceId)) ?? 0) || a.id - b.id)
      .map((g) => ({ ...g, from: { type: g.resourceType, id: g.resourceId } }));
    return { resource: { type: resource.type, id }, items: own, inherited };
  }

  async createGrant(input: GrantInput, actor: Actor): Promise<GrantView> {
    const { AccessGrant } = this.deps.db.models;
    const spec = this.typeOf(input.resourceType);
    if (!(SUBJECT_TYPES as readonly string[]).includes(input.subjectType)) {
      throw badRequest(
        `未知的授权对象类型「${input.subjectType}」，可用的类型：${SUBJECT_TYPES.map((s) => `${s}（${SUBJECT_TYPE_NAMES[s]}）`).join('、')}`,
        field('subjectType', '未知的授权对象类型'),
        'UNKNOWN_SUBJECT_TYPE',
      );
    }
    const subjectType = input.subjectType as GrantSubjectType;
    if (!(EFFECTS as readonly string[]).includes(input.effect)) throw badRequest('授权效果只能是 allow（允许）或 deny（禁止）', field('effect', '只能是 allow 或 deny'), 'INVALID_EFFECT');
    const actions = this.actionsOf(spec);
    if (!actions.includes(input.action)) {
      throw badRequest(`资源类型「${spec.name}」没有操作「${input.action}」，可用的操作：${actions.join('、')}`, field('action', '不支持的操作'), 'UNKNOWN_ACTION');
    }
    const everyone = subjectType === 'everyone';
    if (everyone && input.subjectId !== undefined && input.subjectId !== null) throw badRequest('授权给全体人员时不能指定对象编号', field('subjectId', '全体人员不需要对象编号'), 'INVALID_SUBJECT');
    if (!everyone && (input.subjectId === undefined || input.subjectId === null)) {
      throw badRequest(`请指定要授权的${SUBJECT_TYPE_NAMES[subjectType]}`, field('subjectId', '请指定授权对象'), 'INVALID_SUBJECT');
    }
    if (subjectType !== 'dept' && input.subtree !== undefined) throw badRequest('只有授权给部门时才能选择是否包含下级部门', field('subtree', '仅部门可用'), 'INVALID_SUBJECT');
    const resourceId = String(input.resourceId);
    const row = {
      resourceType: spec.type,
      resourceId,
      subjectType,
      subjectId: everyone ? 0 : input.subjectId!,
      subtree: subjectType === 'dept' ? (input.subtree ?? true) : false,
      action: input.action,
      effect: input.effect as GrantEffect,
    };
    const id = await inUnitOfWork(this.deps.db, actor, this.deps.clock.now(), async (uow) => {
      const t = uow.t;
      if (!everyone && !(await this.subjectExists(subjectType, row.subjectId, t))) {
        throw badRequest(`${SUBJECT_TYPE_NAMES[subjectType]}（编号 ${row.subjectId}）不存在`, field('subjectId', '授权对象不存在'), 'SUBJECT_NOT_FOUND');
      }
      if (spec.exists && !(await spec.exists(resourceId, t))) {
        throw badRequest(`${spec.name}（编号 ${resourceId}）不存在`, field('resourceId', '资源不存在'), 'RESOURCE_NOT_FOUND');
      }
      const same = await AccessGrant.findOne({
        where: { resourceType: row.resourceType, resourceId, action: row.action, subjectType, subjectId: row.subjectId, subtree: row.subtree },
        attributes: ['id', 'effect'],
        raw: true,
        transaction: t,
      });
      if (same) throw this.duplicate(same.effect);
      const created = await AccessGrant.create({ ...row, createdAt: uow.now, createdBy: actor.id }, { transaction: t });
      uow.audit({ action: 'access.grant.create', objectType: 'access_grant', objectId: created.id, detail: { before: null, after: { ...row } } });
      return created.id;
    }).catch((err: unknown) => {
      if (err instanceof UniqueConstraintError) throw this.duplicate(null);
      throw err;
    });
    const fresh = await AccessGrant.findByPk(id, { attributes: [...GRANT_FIELDS], raw: true });
    return (await this.views([fresh as GrantRow]))[0]!;
  }

  private duplicate(effect: string | null) {
    const what = effect === 'allow' ? '（允许）' : effect === 'deny' ? '（禁止）' : '';
    return conflict(`该对象在此资源上已有同一操作的授权${what}，请先删除原授权再重新设置`, 'GRANT_EXISTS');
  }

  async deleteGrant(id: number, actor: Actor): Promise<void> {
    const { AccessGrant } = this.deps.db.models;
    await inUnitOfWork(this.deps.db, actor, this.deps.clock.now(), async (uow) => {
      const row = await AccessGrant.findByPk(id, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!row) throw notFound('授权不存在或已被删除');
      const before = {
        resourceType: row.resourceType,
        resourceId: row.resourceId,
        subjectType: row.subjectType,
        subjectId: row.subjectId,
        subtree: !!row.subtree,
        action: row.action,
        effect: row.effect,
      };
      await row.destroy({ transaction: uow.t });
      uow.audit({ action: 'access.grant.delete', objectType: 'access_grant', objectId: id, detail: { before, after: null } });
    });
  }

  private async subjectExists(type: GrantSubjectType, id: number, t: Transaction): Promise<boolean> {
    const m = this.deps.db.models;
    const model = { user: m.User, dept: m.Department, role: m.Role, post: m.Post, group: m.UserGroup, everyone: null }[type];
    if (!model) return true;
    return !!(await (model as typeof m.Post).findByPk(id, { attributes: ['id'], transaction: t }));
  }

  private async views(rows: GrantRow[]): Promise<GrantView[]> {
    const m = this.deps.db.models;
    const idsOf = (type: GrantSubjectType) => [...new Set(rows.filter((r) => r.subjectType === type).map((r) => r.subjectId))];
    const names = async (type: GrantSubjectType, model: typeof m.Post | null) => {
      const ids = idsOf(type);
      if (!model || !ids.length) return new Map<number, string>();
      const found = (await model.findAll({ where: { id: ids }, attributes: ['id', 'name'], raw: true })) as { id: number; name: string }[];
      return new Map(found.map((r) => [r.id, r.name]));
    };
    const [users, depts, roles, posts, groups] = await Promise.all([
      names('user', m.User as unknown as typeof m.Post),
      names('dept', m.Department as unknown as typeof m.Post),
      names('role', m.Role as unknown as typeof m.Post),
      names('post', m.Post),
      names('group', m.UserGroup as unknown as typeof m.Post),
    ]);
    const byType: Record<GrantSubjectType, Map<number, string> | null> = { user: users, dept: depts, role: roles, post: posts, group: groups, everyone: null };
    return rows.map((r) => ({
      id: r.id,
      resourceType: r.resourceType,
      resourceId: r.resourceId,
      subjectType: r.subjectType,
      subjectId: r.subjectType === 'everyone' ? null : r.subjectId,
      subtree: !!r.subtree,
      subjectName: r.subjectType === 'everyone' ? SUBJECT_TYPE_NAMES.everyone : (byType[r.subjectType]?.get(r.subjectId) ?? null),
      action: r.action,
      effect: r.effect,
      createdAt: new Date(r.createdAt),
      createdBy: r.createdBy,
    }));
  }
}
