import { nameSearchKeys, type Database, type Transaction } from '@oa/db';
import type { Logger } from 'pino';
import type { Bus } from '../system/bus.ts';
import type { Clock } from '../clock.ts';
import type { AppDeps } from '../deps.ts';

// People search and pickers (R3.17): one search for every module.
//
// Design: an in-memory index of the whole organisation (a few MB for 10,000 people), loaded with
// a handful of portable queries and scanned per request (5,000 people in a fraction of a
// millisecond). It follows every change:
//  - in this process, Sequelize hooks on the org models see every write that matters and, once it
//    has committed (a reload never reads an uncommitted or rolled-back state), mark the index
//    stale and publish `{ type: 'org', userIds? }` so other instances (Redis bus) do the same;
//  - `invalidate()` is there for writes that bypass the models (raw SQL, another process);
//  - a snapshot older than `maxAgeMs` is reloaded in the background, bounding staleness should a
//    message ever be lost.
// The next search after a change waits until the index has caught up: a person renamed a moment
// ago is found under the new name at once. A change to some people's own records (name, number,
// department, secondary departments, status) re-reads just those people by primary key; anything
// else (departments, campuses, posts, titles, positions, bulk writes of unknown scope) reloads the
// whole index. Role memberships are read per role code on first use and cached with the snapshot.

export interface PeopleQuery {
  /** employee number, Chinese name or part of it, full pinyin prefix, pinyin initials */
  q?: string;
  /** people whose primary or secondary department is this one (or below it, see includeSubtree) */
  deptId?: number;
  /** with deptId: include the departments below it (default true) */
  includeSubtree?: boolean;
  /** people holding this role, globally or for some departments */
  roleCode?: string;
  postId?: number;
  /** people in a department of this campus (departments inherit their parent's campus) */
  campusId?: number;
  /** only people who may work in the system (default true) */
  activeOnly?: boolean;
  /** default 20, at most 100 */
  limit?: number;
}

/** Why a person matched, best first (the result order). */
export const MATCH_KINDS = [
  'employeeNo', // exact employee number
  'name', // exact name
  'namePrefix',
  'pinyin', // full pinyin prefix (zhang, zhangsan)
  'initials', // exact initials (zs)
  'initialsPrefix', // zs for zsf
  'employeeNoPrefix',
  'nameContains',
] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

/** What a picker shows: no contact details, no identity numbers. */
export interface PersonHit {
  id: number;
  name: string;
  employeeNo: string | null;
  status: 'active' | 'disabled';
  dept: { id: number; name: string } | null;
  post: string | null;
  title: string | null;
  position: string | null;
  campus: string | null;
  /** why the person matched the text query; null without one */
  match: MatchKind | null;
}

export const SEARCH_LIMIT_DEFAULT = 20;
export const SEARCH_LIMIT_MAX = 100;
export const SEARCH_Q_MAX = 64;
/** more changed people than this at once: reload everything rather than patch */
const PATCH_MAX = 500;

const RANK = Object.fromEntries(MATCH_KINDS.map((k, i) => [k, i])) as Record<MatchKind, number>;
const NO_MATCH: number = MATCH_KINDS.length;
const HAN = /\p{Script=Han}/u;
/** shared empty list (most people have no secondary department) */
const NONE: readonly number[] = Object.freeze([]);

interface Entry {
  id: number;
  nameKey: string;
  empKey: string | null;
  /** full pinyin readings (a stored value may hold several, separated by spaces) */
  pinyins: string[];
  initials: string[];
  active: boolean;
  postId: number | null;
  /** primary first, then secondary departments */
  deptIds: readonly number[];
  campusIds: readonly number[];
  /** tie-break keys: primary department in tree order, person sort, id */
  deptOrder: number;
  sort: number;
  hit: Omit<PersonHit, 'match'>;
}

interface DeptNode {
  id: number;
  name: string;
  parentId: number | null;
  campusId: number | null;
  sort: number;
  children: number[];
}

/** Departments and the small reference tables: everything an entry is built from besides its row. */
interface OrgFrame {
  depts: Map<number, DeptNode>;
  /** department id → position in tree order */
  order: Map<number, number>;
  /** department id → its campus or the nearest ancestor's */
  campusOf: Map<number, number | null>;
  campusName: Map<number, string>;
  postName: Map<number, string>;
  titleName: Map<number, string>;
  positionName: Map<number, string>;
}

export interface Snapshot {
  /** the change generation this snapshot is up to date with */
  gen: number;
  /** when its frame was read in full (patches keep it: the age bounds staleness) */
  loadedAt: number;
  frame: OrgFrame;
  /** sorted by department (tree order), then person sort, then id */
  entries: Entry[];
  /**
   * role code → ids of people holding it (global or scoped), read on first use with an indexed
   * query: everyone holds some role, so loading all memberships up front would double a reload.
   */
  roleMembers: Map<string, Promise<Set<number>>>;
  subtrees: Map<number, Set<number>>;
}

const USER_FIELDS = ['id', 'name', 'employeeNo', 'deptId', 'postId', 'titleId', 'positionId', 'status', 'sort', 'pinyin', 'pinyinInitials'] as const;
type UserRow = { id: number; name: string; employeeNo: string | null; deptId: number | null; postId: number | null; titleId: number | null; positionId: number | null; status: string; sort: number; pinyin: string | null; pinyinInitials: string | null };

const norm = (s: string) => s.normalize('NFKC').trim().toLowerCase();
const byOrder = (a: Entry, b: Entry) => a.deptOrder - b.deptOrder || a.sort - b.sort || a.id - b.id;

async function loadFrame(db: Database): Promise<OrgFrame> {
  const { Department, Campus, Post, Title, Position } = db.models;
  const [depts, campuses, posts, titles, positions] = await Promise.all([
    Department.findAll({ attributes: ['id', 'name', 'parentId', 'campusId', 'sort'], raw: true }),
    Campus.findAll({ attributes: ['id', 'name'], raw: true }),
    Post.findAll({ attributes: ['id', 'name'], raw: true }),
    Title.findAll({ attributes: ['id', 'name'], raw: true }),
    Position.findAll({ attributes: ['id', 'name'], raw: true }),
  ]);
  const names = (rows: { id: number; name: string }[]) => new Map(rows.map((r) => [r.id, r.name]));
  // The tree from parent links (not from `path`): its order and campuses never depend on a
  // derived column being up to date.
  const nodes = new Map<number, DeptNode>(depts.map((d) => [d.id, { id: d.id, name: d.name, parentId: d.parentId, campusId: d.campusId, sort: d.sort, children: [] }]));
  const roots: DeptNode[] = [];
  for (const n of nodes.values()) {
    const p = n.parentId !== null ? nodes.get(n.parentId) : undefined;
    if (p) p.children.push(n.id);
    else roots.push(n);
  }
  const bySort = (a: DeptNode, b: DeptNode) => a.sort - b.sort || a.id - b.id;
  for (const n of nodes.values()) n.children.sort((a, b) => bySort(nodes.get(a)!, nodes.get(b)!));
  roots.sort(bySort);
  const order = new Map<number, number>();
  const campusOf = new Map<number, number | null>();
  const visit = (n: DeptNode, inherited: number | null) => {
    if (order.has(n.id)) return; // a cycle must not hang the search
    order.set(n.id, order.size);
    const campus = n.campusId ?? inherited;
    campusOf.set(n.id, campus);
    for (const c of n.children) visit(nodes.get(c)!, campus);
  };
  for (const r of roots) visit(r, null);
  for (const n of [...nodes.values()].sort(bySort)) visit(n, null); // departments caught in a cycle
  return { depts: nodes, order, campusOf, campusName: names(campuses), postName: names(posts), titleName: names(titles), positionName: names(positions) };
}

function entryOf(f: OrgFrame, u: UserRow, secondary: readonly number[]): Entry {
  let pinyin = u.pinyin;
  let initials = u.pinyinInitials;
  if (!pinyin || initials === null || initials === undefined) {
    // written around the model hook (raw SQL, an old import): derive the keys here
    const k = nameSearchKeys(u.name);
    pinyin = k.pinyin;
    initials = k.initials;
  }
  const dept = u.deptId !== null ? f.depts.get(u.deptId) : undefined;
  const deptIds = secondary.length ? [...(dept ? [dept.id] : []), ...secondary.filter((d) => d !== dept?.id && f.depts.has(d))] : dept ? [dept.id] : NONE;
  const campusId = dept ? f.campusOf.get(dept.id) ?? null : null;
  return {
    id: u.id,
    nameKey: norm(u.name),
    empKey: u.employeeNo ? norm(u.employeeNo) : null,
    pinyins: pinyin.includes(' ') ? pinyin.split(' ').filter(Boolean) : [pinyin],
    initials: initials.includes(' ') ? initials.split(' ').filter(Boolean) : [initials],
    active: u.status === 'active',
    postId: u.postId,
    deptIds,
    campusIds: deptIds.length === 1 && dept ? (campusId !== null ? [campusId] : NONE) : [...new Set(deptIds.map((d) => f.campusOf.get(d)).filter((c): c is number => c !== null && c !== undefined))],
    deptOrder: dept ? f.order.get(dept.id)! : Number.MAX_SAFE_INTEGER,
    sort: u.sort ?? 0,
    hit: {
      id: u.id,
      name: u.name,
      employeeNo: u.employeeNo,
      status: u.status === 'active' ? 'active' : 'disabled',
      dept: dept ? { id: dept.id, name: dept.name } : null,
      post: u.postId !== null ? f.postName.get(u.postId) ?? null : null,
      title: u.titleId !== null ? f.titleName.get(u.titleId) ?? null : null,
      position: u.positionId !== null ? f.positionName.get(u.positionId) ?? null : null,
      campus: campusId !== null ? f.campusName.get(campusId) ?? null : null,
    },
  };
}

/** People rows (all, or these ids) with their secondary departments. */
async function loadPeople(db: Database, ids?: number[]): Promise<{ users: UserRow[]; deptsOf: Map<number, number[]> }> {
  const { User, UserDept } = db.models;
  const [users, secondary] = await Promise.all([
    User.findAll({ where: ids ? { id: ids } : {}, attributes: [...USER_FIELDS], raw: true }) as unknown as Promise<UserRow[]>,
    UserDept.findAll({ where: ids ? { userId: ids } : {}, attributes: ['userId', 'deptId'], raw: true }),
  ]);
  const deptsOf = new Map<number, number[]>();
  for (const s of secondary) (deptsOf.get(s.userId) ?? deptsOf.set(s.userId, []).get(s.userId)!).push(s.deptId);
  return { users, deptsOf };
}

/** Read the whole index. */
export async function loadSnapshot(db: Database, gen: number, now: number): Promise<Snapshot> {
  // one read of the tables; in parallel where the database allows it
  const [frame, { users, deptsOf }] = await Promise.all([loadFrame(db), loadPeople(db)]);
  const entries = users.map((u) => entryOf(frame, u, deptsOf.get(u.id) ?? NONE)).sort(byOrder);
  return { gen, loadedAt: now, frame, entries, roleMembers: new Map(), subtrees: new Map() };
}

/** Bring a snapshot up to date after changes to these people only (role caches start afresh). */
async function patchSnapshot(db: Database, base: Snapshot, ids: number[], gen: number): Promise<Snapshot> {
  let entries = base.entries;
  if (ids.length) {
    const { users, deptsOf } = await loadPeople(db, ids);
    const fresh = users.map((u) => entryOf(base.frame, u, deptsOf.get(u.id) ?? NONE));
    const changed = new Set(ids);
    entries = base.entries.filter((e) => !changed.has(e.id)).concat(fresh).sort(byOrder);
  }
  return { ...base, gen, entries, roleMembers: new Map() };
}

/** People holding a role, globally or for some departments (cached in the snapshot). */
function roleMembersOf(db: Database, s: Snapshot, code: string): Promise<Set<number>> {
  let p = s.roleMembers.get(code);
  if (!p) {
    const { Role, UserRole, UserRoleScope } = db.models;
    p = (async () => {
      const role = await Role.findOne({ where: { code }, attributes: ['id'], raw: true });
      if (!role) return new Set<number>();
      const [global, scoped] = await Promise.all([
        UserRole.findAll({ where: { roleId: role.id }, attributes: ['userId'], raw: true }),
        UserRoleScope.findAll({ where: { roleId: role.id }, attributes: ['userId'], raw: true }),
      ]);
      return new Set([...global, ...scoped].map((r) => r.userId));
    })();
    p.catch(() => s.roleMembers.delete(code));
    s.roleMembers.set(code, p);
  }
  return p;
}

interface Matcher {
  /** NFKC, trimmed, lower case */
  key: string;
  /** letters and digits only, for pinyin and initials (queries without Chinese characters) */
  latin: string | null;
  /** full pinyin of a mixed query such as 张s */
  mixed: string | null;
}

function matcherOf(q: string | undefined): Matcher | null {
  const key = norm(q ?? '');
  if (!key) return null;
  if (!HAN.test(key)) {
    const latin = key.replace(/[^a-z0-9]/g, '');
    return { key, latin: latin || null, mixed: null };
  }
  const mixed = /[a-z]/.test(key) ? nameSearchKeys(key).pinyin || null : null;
  return { key, latin: null, mixed };
}

function rankOf(e: Entry, m: Matcher): number {
  if (e.empKey === m.key) return RANK.employeeNo;
  if (e.nameKey === m.key) return RANK.name;
  if (e.nameKey.startsWith(m.key)) return RANK.namePrefix;
  const py = m.latin ?? m.mixed;
  if (py !== null) {
    for (const p of e.pinyins) if (p.startsWith(py)) return RANK.pinyin;
  }
  if (m.latin !== null) {
    let best = NO_MATCH;
    for (const i of e.initials) {
      if (i === m.latin) return RANK.initials;
      if (i.startsWith(m.latin)) best = RANK.initialsPrefix;
    }
    if (best !== NO_MATCH) return best;
  }
  if (e.empKey !== null && e.empKey.startsWith(m.key)) return RANK.employeeNoPrefix;
  if (e.nameKey.includes(m.key)) return RANK.nameContains;
  return NO_MATCH;
}

/** Departments at and below `deptId`. */
function subtreeOf(s: Snapshot, deptId: number): Set<number> {
  let set = s.subtrees.get(deptId);
  if (set) return set;
  set = new Set<number>();
  const stack = s.frame.depts.has(deptId) ? [deptId] : [];
  while (stack.length) {
    const id = stack.pop()!;
    if (set.has(id)) continue;
    set.add(id);
    stack.push(...s.frame.depts.get(id)!.children);
  }
  s.subtrees.set(deptId, set);
  return set;
}

/** Run a query against one snapshot; `members`: the people holding query.roleCode. */
export function searchSnapshot(s: Snapshot, query: PeopleQuery, members: Set<number> | null): PersonHit[] {
  const limit = Math.min(Math.max(1, query.limit ?? SEARCH_LIMIT_DEFAULT), SEARCH_LIMIT_MAX);
  const activeOnly = query.activeOnly ?? true;
  const m = matcherOf(query.q);
  const depts = query.deptId === undefined ? null : query.includeSubtree === false ? new Set([query.deptId]) : subtreeOf(s, query.deptId);
  // Entries are already in tie-break order: one bucket per match kind keeps it.
  const buckets: Entry[][] = MATCH_KINDS.map(() => []);
  const plain: Entry[] = [];
  for (const e of s.entries) {
    if (activeOnly && !e.active) continue;
    if (query.postId !== undefined && e.postId !== query.postId) continue;
    if (query.campusId !== undefined && !e.campusIds.includes(query.campusId)) continue;
    if (members && !members.has(e.id)) continue;
    if (depts && !e.deptIds.some((d) => depts.has(d))) continue;
    if (!m) {
      plain.push(e);
      if (plain.length >= limit) break;
      continue;
    }
    const r = rankOf(e, m);
    if (r === NO_MATCH) continue;
    buckets[r]!.push(e);
    if (r === 0 && buckets[0]!.length >= limit) break; // nothing can outrank these
  }
  if (!m) return plain.map((e) => ({ ...e.hit, match: null }));
  const out: PersonHit[] = [];
  for (let r = 0; r < buckets.length && out.length < limit; r++) {
    for (const e of buckets[r]!) {
      out.push({ ...e.hit, match: MATCH_KINDS[r]! });
      if (out.length >= limit) break;
    }
  }
  return out;
}

// ---- change tracking through model hooks -----------------------------------------------------

/** ids: only these people's own records changed (empty: only role memberships); null: anything. */
type Change = { ids: Set<number> } | null;

const merge = (a: Change | undefined, b: Change): Change => (a === undefined ? b : a === null || b === null ? null : { ids: new Set([...a.ids, ...b.ids]) });

type HookOptions = { fields?: string[]; transaction?: Transaction | null; where?: Record<string, unknown> };
type Row = Record<string, unknown>;

/** The ids a bulk `where` is limited to (`{ id: 5 }`, `{ userId: [1, 2] }`), else null. */
function idsOfWhere(where: Record<string, unknown> | undefined, key: string): number[] | null {
  // by the time bulk hooks run, Sequelize has renamed attributes to columns (userId → user_id)
  const v = where?.[key] ?? where?.[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return null;
}

interface Watch {
  /** a write touching none of these fields changes nothing shown (null: any field matters) */
  fields: Set<string> | null;
  /** the people a row belongs to; null: the change may affect anyone */
  person: ((row: Row) => number) | null;
  /** the column naming the person in bulk `where` clauses */
  personKey?: string;
  /** only role memberships: no entry changes, role caches must go */
  rolesOnly?: boolean;
}

const WATCHED: Record<string, Watch> = {
  User: { fields: new Set(USER_FIELDS), person: (r) => r.id as number, personKey: 'id' },
  UserDept: { fields: null, person: (r) => r.userId as number, personKey: 'userId' },
  UserRole: { fields: null, person: null, rolesOnly: true },
  UserRoleScope: { fields: null, person: null, rolesOnly: true },
  Role: { fields: new Set(['id', 'code']), person: null, rolesOnly: true },
  Department: { fields: null, person: null },
  Campus: { fields: null, person: null },
  Post: { fields: null, person: null },
  Title: { fields: null, person: null },
  Position: { fields: null, person: null },
};

interface HookRegistry {
  listeners: Set<(c: Change) => void>;
  /** what each open transaction has changed so far: told once, after commit */
  pending: WeakMap<Transaction, Change>;
}
const registries = new WeakMap<Database, HookRegistry>();

/** Call the listener after every committed write that changes what the search shows. */
function watchOrgWrites(db: Database, listener: (c: Change) => void): () => void {
  let reg = registries.get(db);
  if (!reg) {
    const r: HookRegistry = { listeners: new Set(), pending: new WeakMap() };
    reg = r;
    registries.set(db, r);
    const tell = (c: Change) => {
      for (const l of r.listeners) l(c);
    };
    const record = (options: HookOptions | undefined, c: Change) => {
      const t = options?.transaction;
      if (!t) return tell(c);
      const had = r.pending.has(t);
      r.pending.set(t, merge(r.pending.get(t), c));
      if (!had) t.afterCommit(() => tell(r.pending.get(t) ?? null));
    };
    for (const [name, w] of Object.entries(WATCHED)) {
      const model = (db.models as unknown as Record<string, { addHook(type: string, name: string, fn: (...args: unknown[]) => void): void }>)[name];
      if (!model) continue;
      const relevant = (o: HookOptions | undefined) => !w.fields || !o?.fields || o.fields.some((f) => w.fields!.has(f));
      const ofRows = (rows: Row[]): Change => {
        if (w.rolesOnly) return { ids: new Set() };
        const ids = w.person ? rows.map(w.person) : [];
        return w.person && ids.every((id) => typeof id === 'number') ? { ids: new Set(ids) } : null;
      };
      const ofWhere = (o: HookOptions | undefined): Change => {
        if (w.rolesOnly) return { ids: new Set() };
        const ids = w.personKey ? idsOfWhere(o?.where, w.personKey) : null;
        return ids ? { ids: new Set(ids) } : null;
      };
      const instance = (i: unknown, o: unknown) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, ofRows([(i as { get(): Row }).get()]));
      };
      model.addHook('afterSave', 'peopleSearch', instance);
      model.addHook('afterDestroy', 'peopleSearch', (i, o) => record(o as HookOptions, ofRows([(i as { get(): Row }).get()])));
      model.addHook('afterUpsert', 'peopleSearch', (_res, o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, w.rolesOnly ? { ids: new Set() } : null);
      });
      model.addHook('afterBulkCreate', 'peopleSearch', (is, o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, ofRows((is as { get(): Row }[]).map((i) => i.get())));
      });
      model.addHook('afterBulkUpdate', 'peopleSearch', (o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, ofWhere(o as HookOptions));
      });
      model.addHook('afterBulkDestroy', 'peopleSearch', (o) => record(o as HookOptions, ofWhere(o as HookOptions)));
    }
  }
  reg.listeners.add(listener);
  const own = reg;
  return () => own.listeners.delete(listener);
}

// ---- the service -----------------------------------------------------------------------------

export interface PeopleSearchOptions {
  /** reload in full in the background when the snapshot is older than this (default 5 minutes) */
  maxAgeMs?: number;
}

export class PeopleSearch {
  /** bumped by every change heard; a snapshot is current when its gen equals it */
  private gen = 0;
  /** changes not yet in the current snapshot, oldest first */
  private changes: { gen: number; change: Change }[] = [];
  private snap: Snapshot | null = null;
  private loading: { gen: number; promise: Promise<Snapshot> } | null = null;
  private readonly maxAgeMs: number;
  private readonly unwatch: () => void;

  constructor(
    private readonly deps: { db: Database; bus: Bus; clock: Clock; log?: Logger },
    opts: PeopleSearchOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 5 * 60_000;
    deps.bus.subscribe((m) => {
      if (m.type === 'org') this.changed(m.userIds ? { ids: new Set(m.userIds) } : null);
    });
    this.unwatch = watchOrgWrites(deps.db, (c) => void this.announce(c));
  }

  /** People matching the query, best first (see MATCH_KINDS), ties in department and staff order. */
  async search(query: PeopleQuery): Promise<PersonHit[]> {
    const s = await this.snapshot();
    const members = query.roleCode === undefined ? null : await roleMembersOf(this.deps.db, s, query.roleCode);
    return searchSnapshot(s, query, members);
  }

  /**
   * The organisation changed outside the models (raw SQL, another process): bring the index up to
   * date here and on every other instance. `userIds`: only these people's own records changed.
   * Writes through the models are noticed without this.
   */
  async invalidate(userIds?: number[]): Promise<void> {
    await this.announce(userIds ? { ids: new Set(userIds) } : null);
  }

  /** Load the index now (startup, benchmarks) rather than on the first search. */
  async warm(): Promise<void> {
    await this.snapshot();
  }

  /** Stop following writes (the database outlives this service). */
  dispose(): void {
    this.unwatch();
  }

  private async announce(c: Change): Promise<void> {
    // Here at once; the bus may deliver it to this instance again, which costs one more patch.
    this.changed(c);
    const userIds = c && c.ids.size <= PATCH_MAX ? [...c.ids] : undefined;
    try {
      await this.deps.bus.publish(userIds ? { type: 'org', userIds } : { type: 'org' });
    } catch (err) {
      this.deps.log?.warn({ err }, 'people search: could not broadcast an organisation change');
    }
  }

  private changed(c: Change): void {
    this.gen++;
    this.changes.push({ gen: this.gen, change: c });
    if (this.changes.length > 1000) this.changes = [{ gen: this.gen, change: null }];
  }

  private async snapshot(): Promise<Snapshot> {
    const s = this.snap;
    if (s && s.gen === this.gen) {
      if (this.deps.clock.now().getTime() - s.loadedAt >= this.maxAgeMs && !this.loading) {
        this.load(true).catch((err: unknown) => this.deps.log?.warn({ err }, 'people search: background reload failed'));
      }
      return s;
    }
    return this.load(false);
  }

  private load(full: boolean): Promise<Snapshot> {
    if (this.loading && this.loading.gen === this.gen) return this.loading.promise;
    const gen = this.gen;
    const base = this.snap;
    let change: Change | undefined = full || !base ? null : undefined;
    if (change === undefined) {
      for (const c of this.changes) if (c.gen > base!.gen && c.gen <= gen) change = merge(change, c.change);
    }
    const promise = (change === null || change === undefined || change.ids.size > PATCH_MAX
      ? loadSnapshot(this.deps.db, gen, this.deps.clock.now().getTime())
      : patchSnapshot(this.deps.db, base!, [...change.ids], gen)
    )
      .then((s) => {
        if (!this.snap || s.gen >= this.snap.gen) {
          this.snap = s;
          this.changes = this.changes.filter((c) => c.gen > s.gen);
        }
        return s;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = null;
      });
    this.loading = { gen, promise };
    return promise;
  }
}

const perApp = new WeakMap<object, PeopleSearch>();

/** The application's one people search (created on first use). */
export function peopleSearch(deps: AppDeps): PeopleSearch {
  let s = perApp.get(deps);
  if (!s) {
    s = new PeopleSearch(deps);
    perApp.set(deps, s);
  }
  return s;
}

/** Search people with the application's index: what every module's picker calls. */
export function searchPeople(deps: AppDeps, query: PeopleQuery): Promise<PersonHit[]> {
  return peopleSearch(deps).search(query);
}
