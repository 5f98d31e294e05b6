import {
  inUnitOfWork,
  literal,
  UniqueConstraintError,
  type Actor,
  type Database,
  type DeptKind,
  type UnitOfWork,
  type UserStatus,
  type WecomSyncRun,
} from '@oa/db';
import { dedupeKeyOf, WecomApiError, WecomClient, type ContactEvent, type WecomDepartment, type WecomUser } from '@oa/wecom';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { normaliseUsername } from '../auth/passwords.ts';
import { ADMIN_ROLE_CODES, handOverInUnit, handoverRegistry } from '../org/people.ts';
import { emitWorkflowEvent } from '../workflow/triggers.ts';

/**
 * WeCom contact sync (issue 6 item 5, P4 3,000+ WeCom users, R12.0 organisation).
 *
 * Full sync (`fullSync`): department/list once, then user/list once per department (the fewest
 * calls WeCom allows for full member records: user/list is not recursive, and list_id of the
 * contact-sync secret returns ids only). Everything is fetched first; then one unit of work loads the
 * organisation, plans and writes: all or nothing, audited (via 'wecom'), idempotent (a second run
 * over the same WeCom data changes nothing and writes no organisation row).
 *
 * Matching:
 * - departments by WeCom department id through `wecom_dept_map`; an unmapped WeCom department is
 *   matched to the one unmapped local department with the same name under the same (mapped) parent
 *   (the WeCom root to the only local root), else created with code `wecom-<id>`. Several local
 *   candidates, a taken code or an unresolved parent are conflicts: reported, not guessed, and the
 *   department's members keep their local department.
 * - people by wecomUserId (case-insensitive, as WeCom userids are), else by employee number
 *   (extattr 工号, else the userid). A person found by employee number who is already bound to
 *   another userid is a conflict. New people get the `staff` role and no password (they sign in
 *   through WeCom), like the Excel import.
 * - updated: name, mobile and e-mail (only when WeCom sends them: apps created after 2022-06-20 get
 *   no mobile, and a missing value never blanks a local one), main department, and secondary
 *   departments among the mapped ones (secondary departments outside WeCom's tree stay).
 * - a mobile that two WeCom members share, or that another local person holds, is a conflict: the
 *   mobile is not written for anyone involved.
 *
 * Nothing local is deleted. People bound to WeCom who are missing from it (or disabled/quit there)
 * are reported; only with `disableMissing` and a successor rule are they disabled, handing their
 * leadership and open work to the successor exactly like PeopleService.disable. Departments missing
 * from WeCom are reported only.
 *
 * Incremental sync (`applyContactEvent`): one change_contact event, applied with the same rules in
 * its own unit of work, recorded once per dedupe key (a replay returns the first result).
 */

// ---------------------------------------------------------------- public types

export type SuccessorRule = { rule: 'dept_head' } | { rule: 'person'; employeeNo: string };

export interface SyncOptions {
  /** plan and report, write nothing */
  dryRun?: boolean;
  /** disable people missing from WeCom (or deleted, disabled, quit there); requires `successor` */
  disableMissing?: boolean;
  successor?: SuccessorRule;
}

export type IssueCode =
  | 'dept_parent_unresolved'
  | 'dept_ambiguous'
  | 'dept_code_taken'
  | 'dept_missing'
  | 'dept_disabled'
  | 'dept_missing_in_wecom'
  | 'dept_deleted_in_wecom'
  | 'mobile_duplicate_in_wecom'
  | 'mobile_taken'
  | 'employee_no_bound'
  | 'employee_no_mismatch'
  | 'username_taken'
  | 'missing_in_wecom'
  | 'deleted_in_wecom'
  | 'inactive_in_wecom'
  | 'no_successor'
  | 'admin_not_disabled';

export interface SyncIssue {
  code: IssueCode;
  /** Chinese, for the admin screen */
  message: string;
  userid?: string;
  employeeNo?: string;
  name?: string;
  personId?: number;
  wecomDeptId?: number;
  deptId?: number;
}

export interface SideCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface SyncReport {
  kind: 'full' | 'event';
  dryRun: boolean;
  /** what WeCom returned */
  wecom: { departments: number; people: number };
  departments: SideCounts & { mapped: number };
  people: SideCounts & { bound: number; disabled: number; skipped: number };
  /** organisation rows written (created + updated + bound + disabled + mappings) */
  changes: number;
  /** conflicts: nothing was guessed for these */
  conflicts: SyncIssue[];
  conflictCount: number;
  /** people bound to WeCom who are missing there (or deleted, disabled, quit) */
  missing: SyncIssue[];
  missingCount: number;
  /** lists cut at MAX_LISTED entries */
  truncated: boolean;
  apiCalls: number;
  callsByPath: Record<string, number>;
  durationMs: number;
  /** event runs: the change type */
  event?: string;
}

export interface SyncSessions {
  invalidateUser(id: number): Promise<void>;
  revokeUser(id: number): Promise<void>;
}

export interface SyncDeps {
  db: Database;
  clock: Clock;
  log?: Logger;
  /** to build the client from WECOM_* when `client` is not given */
  config?: Pick<Config, 'WECOM_CORP_ID' | 'WECOM_SECRET' | 'WECOM_AGENT_ID' | 'WECOM_CONTACT_SECRET' | 'WECOM_API_BASE'>;
  /** the WeCom client (default: built from config, contact-sync secret preferred) */
  client?: WecomClient | null;
  /** after commit: disabled people lose their sessions, changed people reload theirs */
  sessions?: SyncSessions;
}

export class WecomNotConfiguredError extends Error {
  constructor() {
    super('企业微信未启用（未设置 WECOM_CORP_ID 等配置），无法同步通讯录');
  }
}

const MAX_LISTED = 5_000;
const CHUNK = 500;
const FETCH_CONCURRENCY = 4;
const SYNC_REASON = '企业微信通讯录同步';

const lc = (s: string) => s.toLowerCase();
const norm = (s: string) => s.normalize('NFKC').trim();

// ---------------------------------------------------------------- client

const clients = new WeakMap<Database, WecomClient>();

/**
 * The client used for contact sync: the 通讯录同步 secret when configured (it sees the whole corp),
 * else the app's own secret (its visible range). One per application, so its token cache is shared.
 * null when WeCom is off.
 */
export function contactClient(deps: Pick<SyncDeps, 'db' | 'config' | 'client'>): WecomClient | null {
  if (deps.client !== undefined) return deps.client;
  const c = deps.config;
  if (!c?.WECOM_CORP_ID || !c.WECOM_SECRET) return null;
  let client = clients.get(deps.db);
  if (!client) {
    client = new WecomClient({ corpId: c.WECOM_CORP_ID, secret: c.WECOM_CONTACT_SECRET ?? c.WECOM_SECRET, agentId: c.WECOM_AGENT_ID, apiBase: c.WECOM_API_BASE });
    clients.set(deps.db, client);
  }
  return client;
}

// ---------------------------------------------------------------- fetching

export interface WecomContacts {
  departments: WecomDepartment[];
  users: WecomUser[];
}

/** department/list once, user/list per department (FETCH_CONCURRENCY at a time); members deduplicated. */
export async function fetchContacts(client: WecomClient, progress?: (done: number, total: number) => void): Promise<WecomContacts> {
  const departments = await client.listDepartments();
  const byId = new Map<string, WecomUser>();
  let next = 0;
  let done = 0;
  const lists: WecomUser[][] = new Array(departments.length);
  const worker = async () => {
    while (next < departments.length) {
      const i = next++;
      lists[i] = await client.listUsers(departments[i]!.id);
      progress?.(++done, departments.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, departments.length) }, worker));
  for (const list of lists) for (const u of list ?? []) if (!byId.has(lc(u.userid))) byId.set(lc(u.userid), u);
  return { departments, users: [...byId.values()] };
}

/** The employee number WeCom holds for a member: extattr 工号, else the userid. */
export function employeeNoOf(u: Pick<WecomUser, 'userid' | 'extattr'>): string {
  const attr = u.extattr?.attrs?.find((a) => a.name === '工号' && a.text?.value?.trim());
  return norm(attr?.text?.value ?? u.userid);
}

// ---------------------------------------------------------------- snapshot

interface DeptSnap {
  id: number;
  code: string;
  name: string;
  parentId: number | null;
  campusId: number | null;
  kind: DeptKind;
  sort: number;
  enabled: boolean;
  path: string;
  level: number;
}

interface UserSnap {
  id: number;
  username: string;
  employeeNo: string | null;
  name: string;
  deptId: number | null;
  mobile: string | null;
  email: string | null;
  wecomUserId: string | null;
  status: UserStatus;
  version: number;
}

interface Snapshot {
  depts: Map<number, DeptSnap>;
  /** WeCom department id → local department id */
  map: Map<number, number>;
  users: UserSnap[];
  secondary: Map<number, Set<number>>;
}

async function loadSnapshot(db: Database, uow: UnitOfWork): Promise<Snapshot> {
  const { Department, User, UserDept, WecomDeptMap } = db.models;
  const t = uow.t;
  const depts = (await Department.findAll({
    attributes: ['id', 'code', 'name', 'parentId', 'campusId', 'kind', 'sort', 'enabled', 'path', 'level'],
    order: [['id', 'ASC']],
    raw: true,
    transaction: t,
  })) as DeptSnap[];
  const maps = await WecomDeptMap.findAll({ raw: true, transaction: t });
  const users = (await User.findAll({
    attributes: ['id', 'username', 'employeeNo', 'name', 'deptId', 'mobile', 'email', 'wecomUserId', 'status', 'version'],
    order: [['id', 'ASC']],
    raw: true,
    transaction: t,
  })) as UserSnap[];
  const secondary = new Map<number, Set<number>>();
  for (const r of await UserDept.findAll({ attributes: ['userId', 'deptId'], raw: true, transaction: t })) {
    (secondary.get(r.userId) ?? secondary.set(r.userId, new Set()).get(r.userId)!).add(r.deptId);
  }
  const byId = new Map(depts.map((d) => [d.id, { ...d, enabled: !!d.enabled }]));
  return { depts: byId, map: new Map(maps.filter((m) => byId.has(m.deptId)).map((m) => [m.wecomDeptId, m.deptId])), users, secondary };
}

// ---------------------------------------------------------------- planning and writing

class Collector {
  conflicts: SyncIssue[] = [];
  missing: SyncIssue[] = [];
  conflictCount = 0;
  missingCount = 0;
  conflict(i: SyncIssue): void {
    this.conflictCount++;
    if (this.conflicts.length < MAX_LISTED) this.conflicts.push(i);
  }
  miss(i: SyncIssue): void {
    this.missingCount++;
    if (this.missing.length < MAX_LISTED) this.missing.push(i);
  }
}

interface WriteContext {
  db: Database;
  uow: UnitOfWork;
  snap: Snapshot;
  issues: Collector;
  report: SyncReport;
  mode: 'full' | 'event';
  opts: SyncOptions;
  /** people whose record changed (sessions reload) and who were disabled (sessions end) */
  touched: Set<number>;
  disabled: Set<number>;
}

function emptyReport(kind: 'full' | 'event', dryRun: boolean): SyncReport {
  return {
    kind,
    dryRun,
    wecom: { departments: 0, people: 0 },
    departments: { created: 0, updated: 0, unchanged: 0, mapped: 0 },
    people: { created: 0, updated: 0, unchanged: 0, bound: 0, disabled: 0, skipped: 0 },
    changes: 0,
    conflicts: [],
    conflictCount: 0,
    missing: [],
    missingCount: 0,
    truncated: false,
    apiCalls: 0,
    callsByPath: {},
    durationMs: 0,
  };
}

/** Parents before children; departments whose parent is not in the list come first (roots). */
function topological(list: WecomDepartment[]): WecomDepartment[] {
  const ids = new Set(list.map((d) => d.id));
  const children = new Map<number, WecomDepartment[]>();
  const roots: WecomDepartment[] = [];
  for (const d of [...list].sort((a, b) => a.id - b.id)) {
    if (!ids.has(d.parentid) || d.parentid === d.id) roots.push(d);
    else (children.get(d.parentid) ?? children.set(d.parentid, []).get(d.parentid)!).push(d);
  }
  const out: WecomDepartment[] = [];
  const queue = [...roots];
  while (queue.length) {
    const d = queue.shift()!;
    out.push(d);
    queue.push(...(children.get(d.id) ?? []));
  }
  return out;
}

/**
 * Departments: map, match or create each WeCom department; rename and re-parent mapped ones; then
 * rewrite path and level wherever the tree changed. `full` lists the whole WeCom tree (mapped
 * departments absent from it are reported).
 */
async function syncDepartments(c: WriteContext, list: WecomDepartment[], full: boolean): Promise<void> {
  const { Department, WecomDeptMap } = c.db.models;
  const t = c.uow.t;
  const { snap, issues, report } = c;
  const inList = new Set(list.map((d) => d.id));
  const mappedLocal = new Set(snap.map.values());
  const parentChanged = new Set<number>();
  for (const wd of topological(list)) {
    const name = norm(wd.name ?? '');
    // a parent outside the list: the root of a full sync, or (events) a parent mapped earlier
    const parentIsRoot = full ? !inList.has(wd.parentid) || wd.parentid === wd.id : wd.parentid === 0;
    const parentLocal = parentIsRoot ? null : snap.map.get(wd.parentid);
    if (parentLocal === undefined) {
      issues.conflict({ code: 'dept_parent_unresolved', wecomDeptId: wd.id, message: `企业微信部门「${name}」（ID ${wd.id}）的上级部门（ID ${wd.parentid}）在本系统中没有对应部门，未同步该部门` });
      continue;
    }
    let localId = snap.map.get(wd.id);
    let createdNow = false;
    if (localId === undefined) {
      const candidates = [...snap.depts.values()].filter((d) => !mappedLocal.has(d.id) && d.parentId === parentLocal && norm(d.name) === name);
      const roots = [...snap.depts.values()].filter((d) => d.parentId === null && !mappedLocal.has(d.id));
      // the WeCom root stands for the hospital's one local root, whatever each side calls it
      if (!candidates.length && parentIsRoot && full && roots.length === 1 && list.filter((d) => !inList.has(d.parentid) || d.parentid === d.id).length === 1) {
        candidates.push(roots[0]!);
      }
      if (candidates.length > 1) {
        issues.conflict({
          code: 'dept_ambiguous',
          wecomDeptId: wd.id,
          message: `企业微信部门「${name}」（ID ${wd.id}）在本系统同一上级下有 ${candidates.length} 个同名部门（${candidates.map((d) => d.code).join('、')}），无法确定对应哪一个，请先处理重名`,
        });
        continue;
      }
      if (candidates.length === 1) {
        localId = candidates[0]!.id;
        report.departments.mapped++;
      } else {
        const code = `wecom-${wd.id}`;
        const taken = [...snap.depts.values()].find((d) => lc(d.code) === code);
        if (taken) {
          issues.conflict({ code: 'dept_code_taken', wecomDeptId: wd.id, deptId: taken.id, message: `无法为企业微信部门「${name}」（ID ${wd.id}）创建本地部门：编码「${code}」已被部门「${taken.name}」使用` });
          continue;
        }
        const parent = parentLocal === null ? null : snap.depts.get(parentLocal)!;
        const sort = Number.isSafeInteger(wd.order) && Math.abs(wd.order!) < 2 ** 31 ? wd.order! : 0;
        const row = await Department.create(
          { code, name, parentId: parentLocal, campusId: parent?.campusId ?? null, kind: parent?.kind ?? 'admin', sort, enabled: true, path: '/', level: 0 },
          { transaction: t },
        );
        const snapRow: DeptSnap = { id: row.id, code, name, parentId: parentLocal, campusId: parent?.campusId ?? null, kind: parent?.kind ?? 'admin', sort, enabled: true, path: '/', level: 0 };
        snap.depts.set(row.id, snapRow);
        parentChanged.add(row.id);
        localId = row.id;
        createdNow = true;
        report.departments.created++;
        c.uow.audit({ action: 'org.department.create', objectType: 'department', objectId: row.id, detail: { before: null, after: { code, name, parentId: parentLocal }, wecomDeptId: wd.id, via: 'wecom' } });
      }
      await WecomDeptMap.create({ wecomDeptId: wd.id, deptId: localId, createdAt: c.uow.now, updatedAt: c.uow.now }, { transaction: t });
      snap.map.set(wd.id, localId);
      mappedLocal.add(localId);
      if (createdNow) continue;
    }
    const d = snap.depts.get(localId)!;
    const patch: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    if (name && d.name !== name) {
      before.name = d.name;
      patch.name = name;
    }
    // the root keeps its local parent; other departments follow WeCom's tree (events without a parent keep theirs)
    const wantParent = parentIsRoot ? d.parentId : parentLocal;
    if (wantParent !== d.parentId && (full || wd.parentid !== undefined)) {
      if (wantParent !== null && isBelow(snap, wantParent, d.id)) {
        issues.conflict({ code: 'dept_parent_unresolved', wecomDeptId: wd.id, deptId: d.id, message: `企业微信部门「${name}」移到其下级部门之下会形成循环，未移动` });
      } else {
        before.parentId = d.parentId;
        patch.parentId = wantParent;
        d.parentId = wantParent;
        parentChanged.add(d.id);
      }
    }
    if (!Object.keys(patch).length) {
      report.departments.unchanged++;
      continue;
    }
    if (patch.name !== undefined) d.name = name;
    await Department.update(patch, { where: { id: d.id }, transaction: t });
    report.departments.updated++;
    c.uow.audit({ action: 'org.department.update', objectType: 'department', objectId: d.id, detail: { before, after: patch, wecomDeptId: wd.id, via: 'wecom' } });
  }
  if (parentChanged.size) await rewritePaths(c);
  if (full) {
    for (const [wecomId, deptId] of snap.map) {
      if (inList.has(wecomId)) continue;
      const d = snap.depts.get(deptId)!;
      issues.miss({ code: 'dept_missing_in_wecom', wecomDeptId: wecomId, deptId, message: `部门「${d.name}」在企业微信中已不存在（ID ${wecomId}），本系统保留该部门，请人工处理` });
    }
  }
}

function isBelow(snap: Snapshot, id: number, ancestor: number): boolean {
  const seen = new Set<number>();
  for (let cur: number | null = id; cur !== null && !seen.has(cur); cur = snap.depts.get(cur)?.parentId ?? null) {
    if (cur === ancestor) return true;
    seen.add(cur);
  }
  return false;
}

/** Recompute path and level of every department from the parents; write the ones that differ. */
async function rewritePaths(c: WriteContext): Promise<void> {
  const { Department } = c.db.models;
  const memo = new Map<number, { path: string; level: number }>();
  const compute = (id: number, depth = 0): { path: string; level: number } => {
    const known = memo.get(id);
    if (known) return known;
    const d = c.snap.depts.get(id)!;
    const parent = d.parentId !== null && c.snap.depts.has(d.parentId) && depth < 100 ? compute(d.parentId, depth + 1) : null;
    const r = { path: `${parent ? parent.path : '/'}${id}/`, level: parent ? parent.level + 1 : 0 };
    memo.set(id, r);
    return r;
  };
  for (const d of c.snap.depts.values()) {
    const f = compute(d.id);
    if (f.path === d.path && f.level === d.level) continue;
    await Department.update({ path: f.path, level: f.level }, { where: { id: d.id }, transaction: c.uow.t });
    d.path = f.path;
    d.level = f.level;
  }
}

/** A WeCom member as the planner sees it; undefined fields are left as they are locally. */
export interface MemberInput {
  userid: string;
  /** update_user that changed the userid: the old one */
  previousUserid?: string;
  name?: string;
  department?: number[];
  mainDepartment?: number;
  mobile?: string;
  email?: string;
  status?: number;
  employeeNo: string;
}

export function memberInput(u: WecomUser): MemberInput {
  return {
    userid: u.userid,
    name: u.name,
    department: u.department,
    mainDepartment: u.main_department,
    mobile: u.mobile,
    email: u.email,
    status: u.status,
    employeeNo: employeeNoOf(u),
  };
}

interface NewPerson {
  m: MemberInput;
  deptId: number;
  mobile: string | null;
  email: string | null;
  secondary: number[];
}

/** People: match, create, update; then (full sync) report or disable the ones WeCom no longer has. */
async function syncPeople(c: WriteContext, members: MemberInput[], full: boolean): Promise<void> {
  const { User, UserRole, UserDept, Role } = c.db.models;
  const t = c.uow.t;
  const { snap, issues, report } = c;
  const byWecom = new Map<string, UserSnap>();
  const byEmpNo = new Map<string, UserSnap>();
  const byUsername = new Map<string, UserSnap>();
  const mobileOwners = new Map<string, number[]>();
  for (const u of snap.users) {
    if (u.wecomUserId) byWecom.set(lc(u.wecomUserId), u);
    if (u.employeeNo) byEmpNo.set(lc(u.employeeNo), u);
    byUsername.set(u.username, u);
    if (u.mobile) (mobileOwners.get(u.mobile) ?? mobileOwners.set(u.mobile, []).get(u.mobile)!).push(u.id);
  }
  const wecomMobiles = new Map<string, string[]>();
  for (const m of members) {
    const mobile = m.mobile?.trim();
    if (mobile) (wecomMobiles.get(mobile) ?? wecomMobiles.set(mobile, []).get(mobile)!).push(m.userid);
  }
  const mappedLocal = new Set(snap.map.values());
  const seen = new Set<number>();
  const inactive: Array<{ u: UserSnap; m: MemberInput }> = [];
  const fresh: NewPerson[] = [];
  const takenNos = new Set<string>();
  const takenNames = new Set<string>();
  const who = (m: MemberInput) => `「${m.name ?? m.userid}」（企业微信账号 ${m.userid}，工号 ${m.employeeNo}）`;

  for (const m of members) {
    let person = byWecom.get(lc(m.userid)) ?? (m.previousUserid ? byWecom.get(lc(m.previousUserid)) : undefined);
    let bind = false;
    if (person) {
      if (person.employeeNo && lc(person.employeeNo) !== lc(m.employeeNo)) {
        issues.conflict({
          code: 'employee_no_mismatch',
          userid: m.userid,
          employeeNo: m.employeeNo,
          personId: person.id,
          name: person.name,
          message: `${who(m)}在本系统对应「${person.name}」，但本系统工号为 ${person.employeeNo}，与企业微信不一致；工号未修改，请核对`,
        });
      }
    } else {
      const cand = byEmpNo.get(lc(m.employeeNo));
      if (cand?.wecomUserId) {
        issues.conflict({
          code: 'employee_no_bound',
          userid: m.userid,
          employeeNo: m.employeeNo,
          personId: cand.id,
          name: cand.name,
          message: `${who(m)}：本系统工号 ${m.employeeNo} 的「${cand.name}」已绑定另一个企业微信账号「${cand.wecomUserId}」，未同步该成员，请核对`,
        });
        report.people.skipped++;
        continue;
      }
      if (cand) {
        person = cand;
        bind = true;
      }
    }
    if (person && seen.has(person.id)) {
      report.people.skipped++;
      continue;
    }
    if (person) seen.add(person.id);
    const active = m.status === undefined || m.status === 1 || m.status === 4;
    if (!active) {
      if (person) inactive.push({ u: person, m });
      else report.people.skipped++;
      continue;
    }

    // department: the main one must be mapped (and enabled to move someone into it)
    const main = m.mainDepartment ?? m.department?.[0];
    let deptId: number | null | undefined;
    if (main !== undefined) {
      const local = snap.map.get(main);
      if (local === undefined) {
        issues.conflict({ code: 'dept_missing', userid: m.userid, employeeNo: m.employeeNo, wecomDeptId: main, message: `${who(m)}的主部门（企业微信部门 ID ${main}）在本系统中没有对应部门，${person ? '所在部门未修改' : '未创建该人员'}` });
        if (!person) {
          report.people.skipped++;
          continue;
        }
      } else if (!snap.depts.get(local)!.enabled && person?.deptId !== local) {
        issues.conflict({ code: 'dept_disabled', userid: m.userid, employeeNo: m.employeeNo, deptId: local, message: `${who(m)}的主部门「${snap.depts.get(local)!.name}」在本系统已停用，${person ? '所在部门未修改' : '未创建该人员'}` });
        if (!person) {
          report.people.skipped++;
          continue;
        }
      } else deptId = local;
    } else if (!person) {
      issues.conflict({ code: 'dept_missing', userid: m.userid, employeeNo: m.employeeNo, message: `${who(m)}没有所属部门，未创建该人员` });
      report.people.skipped++;
      continue;
    }

    // mobile: written only when no one else has it, in WeCom or here
    let mobile: string | undefined;
    const wanted = m.mobile?.trim();
    if (wanted) {
      const sharers = wecomMobiles.get(wanted) ?? [];
      const holders = (mobileOwners.get(wanted) ?? []).filter((id) => id !== person?.id);
      if (sharers.length > 1) {
        issues.conflict({
          code: 'mobile_duplicate_in_wecom',
          userid: m.userid,
          employeeNo: m.employeeNo,
          message: `${who(m)}的手机号 ${wanted} 在企业微信中同时属于 ${sharers.filter((s) => s !== m.userid).join('、')}，未同步该手机号`,
        });
      } else if (holders.length) {
        const other = snap.users.find((u) => u.id === holders[0])!;
        issues.conflict({
          code: 'mobile_taken',
          userid: m.userid,
          employeeNo: m.employeeNo,
          personId: other.id,
          name: other.name,
          message: `${who(m)}的手机号 ${wanted} 在本系统已属于「${other.name}」（工号 ${other.employeeNo ?? '无'}），未同步该手机号`,
        });
      } else mobile = wanted;
    }
    const email = m.email?.trim() || undefined;
    const secondary = (m.department ?? []).filter((d) => d !== main).flatMap((d) => (snap.map.has(d) ? [snap.map.get(d)!] : []));

    if (!person) {
      const username = normaliseUsername(m.employeeNo);
      const clash = byUsername.get(username);
      if (clash || takenNames.has(username) || takenNos.has(lc(m.employeeNo))) {
        issues.conflict({
          code: 'username_taken',
          userid: m.userid,
          employeeNo: m.employeeNo,
          personId: clash?.id,
          message: `${who(m)}：登录名「${username}」已被${clash ? `「${clash.name}」` : '另一名同步成员'}使用，未创建该人员`,
        });
        report.people.skipped++;
        continue;
      }
      takenNames.add(username);
      takenNos.add(lc(m.employeeNo));
      fresh.push({ m, deptId: deptId!, mobile: mobile ?? null, email: email ?? null, secondary: [...new Set(secondary.filter((d) => d !== deptId))] });
      continue;
    }

    // an existing person: compare, write what differs
    const fields: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    const set = (k: keyof UserSnap, v: unknown) => {
      if (v !== undefined && person[k] !== v) {
        before[k] = person[k];
        fields[k] = v;
      }
    };
    if (bind || (person.wecomUserId && person.wecomUserId !== m.userid)) set('wecomUserId', m.userid);
    if (m.name !== undefined && norm(m.name)) set('name', norm(m.name));
    if (deptId !== undefined && deptId !== null) set('deptId', deptId);
    set('mobile', mobile);
    set('email', email);
    const primary = (fields.deptId as number | undefined) ?? person.deptId;
    const have = snap.secondary.get(person.id) ?? new Set<number>();
    const want = new Set(secondary.filter((d) => d !== primary));
    // only secondary departments inside WeCom's tree are WeCom's to change
    const add = m.department ? [...want].filter((d) => !have.has(d)) : [];
    const remove = m.department ? [...have].filter((d) => mappedLocal.has(d) && !want.has(d)) : [];
    if (fields.deptId !== undefined && have.has(fields.deptId as number) && !remove.includes(fields.deptId as number)) remove.push(fields.deptId as number);
    if (!Object.keys(fields).length && !add.length && !remove.length) {
      report.people.unchanged++;
      continue;
    }
    if (Object.keys(fields).length) {
      const [affected] = await User.update({ ...fields, version: literal('version + 1') } as never, { where: { id: person.id, version: person.version }, transaction: t });
      if (affected !== 1) throw new SyncConflictError(`人员「${person.name}」在同步期间被修改，请重新同步`);
    }
    if (remove.length) await UserDept.destroy({ where: { userId: person.id, deptId: remove }, transaction: t });
    if (add.length) await UserDept.bulkCreate(add.map((d) => ({ userId: person.id, deptId: d })), { transaction: t });
    if (add.length || remove.length) {
      before.secondaryDeptIds = [...have].sort((a, b) => a - b);
      fields.secondaryDeptIds = [...new Set([...have].filter((d) => !remove.includes(d)).concat(add))].sort((a, b) => a - b);
    }
    if (bind) report.people.bound++;
    else report.people.updated++;
    c.touched.add(person.id);
    c.uow.audit({ action: 'org.person.update', objectType: 'user', objectId: person.id, detail: { before, after: fields, wecomUserId: m.userid, via: 'wecom' } });
  }

  // new people: no password (WeCom sign-in), the staff role, audited one by one
  if (fresh.length) {
    const staff = await Role.findOne({ where: { code: 'staff' }, attributes: ['id'], transaction: t });
    if (!staff) throw new Error('built-in role "staff" missing');
    const now = c.uow.now;
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const part = fresh.slice(i, i + CHUNK);
      await User.bulkCreate(
        part.map((p) => ({
          username: normaliseUsername(p.m.employeeNo),
          employeeNo: p.m.employeeNo,
          name: norm(p.m.name ?? p.m.userid),
          deptId: p.deptId,
          postId: null,
          titleId: null,
          positionId: null,
          superiorId: null,
          gender: null,
          workPhone: null,
          mobile: p.mobile,
          email: p.email,
          wecomUserId: p.m.userid,
          passwordHash: null,
          passwordChangedAt: null,
          mustChangePassword: false,
          lockedUntil: null,
          successorId: null,
          createdAt: now,
          updatedAt: now,
        })),
        { transaction: t },
      );
      const rows = await User.findAll({ where: { wecomUserId: part.map((p) => p.m.userid) }, attributes: ['id', 'wecomUserId'], raw: true, transaction: t });
      const idOf = new Map(rows.map((r) => [lc(r.wecomUserId!), r.id]));
      await UserRole.bulkCreate(part.map((p) => ({ userId: idOf.get(lc(p.m.userid))!, roleId: staff.id })), { transaction: t });
      const links = part.flatMap((p) => p.secondary.map((d) => ({ userId: idOf.get(lc(p.m.userid))!, deptId: d })));
      if (links.length) await UserDept.bulkCreate(links, { transaction: t });
      for (const p of part) {
        const id = idOf.get(lc(p.m.userid))!;
        c.uow.audit({
          action: 'org.person.create',
          objectType: 'user',
          objectId: id,
          detail: { before: null, after: { employeeNo: p.m.employeeNo, name: p.m.name, deptId: p.deptId, mobile: p.mobile, email: p.email, wecomUserId: p.m.userid, secondaryDeptIds: p.secondary, roles: ['staff'] }, via: 'wecom' },
        });
        // a new employee may start an onboarding process (R3.12): only for people who joined now, not for the first full sync
        if (c.mode === 'event') await emitWorkflowEvent(c.db, t, 'org.person.created', { subjectUserId: id }, now);
      }
    }
    report.people.created += fresh.length;
  }

  // people WeCom no longer has (full sync), or has disabled / quit: reported, disabled only on request
  const gone: Array<{ u: UserSnap; code: IssueCode; message: string }> = [];
  for (const { u, m } of inactive) {
    if (u.status !== 'active') continue;
    gone.push({ u, code: 'inactive_in_wecom', message: `「${u.name}」（工号 ${u.employeeNo ?? '无'}）在企业微信中已${m.status === 5 ? '离职' : m.status === 2 ? '禁用' : '停用'}` });
  }
  if (full) {
    for (const u of snap.users) {
      if (!u.wecomUserId || u.status !== 'active' || seen.has(u.id)) continue;
      gone.push({ u, code: 'missing_in_wecom', message: `「${u.name}」（工号 ${u.employeeNo ?? '无'}，企业微信账号 ${u.wecomUserId}）在企业微信通讯录中已不存在` });
    }
  }
  await handleGone(c, gone);
}

/** Report people who left WeCom; with disableMissing and a successor rule, disable them with a handover. */
async function handleGone(c: WriteContext, gone: Array<{ u: UserSnap; code: IssueCode; message: string }>): Promise<void> {
  if (!gone.length) return;
  const { issues, opts } = c;
  if (!opts.disableMissing || !opts.successor) {
    for (const g of gone) issues.miss({ code: g.code, personId: g.u.id, employeeNo: g.u.employeeNo ?? undefined, userid: g.u.wecomUserId ?? undefined, name: g.u.name, message: `${g.message}；本系统保留该人员（未停用）` });
    return;
  }
  const { Role, UserRole, DeptLeader, User } = c.db.models;
  const t = c.uow.t;
  const adminRoles = await Role.findAll({ where: { code: [...ADMIN_ROLE_CODES] }, attributes: ['id'], raw: true, transaction: t });
  const admins = new Set(
    adminRoles.length ? (await UserRole.findAll({ where: { roleId: adminRoles.map((r) => r.id) }, attributes: ['userId'], raw: true, transaction: t })).map((r) => r.userId) : [],
  );
  const leaving = new Set(gone.map((g) => g.u.id));
  const heads = await DeptLeader.findAll({ where: { kind: 'head' }, order: [['sort', 'ASC']], raw: true, transaction: t });
  const byId = new Map(c.snap.users.map((u) => [u.id, u]));
  const usable = (id: number | undefined, self: number) => id !== undefined && id !== self && byId.get(id)?.status === 'active' && !leaving.has(id);
  const successorOf = (u: UserSnap): UserSnap | null => {
    const rule = opts.successor!;
    if (rule.rule === 'person') {
      const p = c.snap.users.find((x) => x.employeeNo && lc(x.employeeNo) === lc(rule.employeeNo));
      return p && usable(p.id, u.id) ? p : null;
    }
    // dept_head: the head of the person's department, else of the nearest department above
    const seenDept = new Set<number>();
    for (let d = u.deptId; d !== null && !seenDept.has(d); d = c.snap.depts.get(d)?.parentId ?? null) {
      seenDept.add(d);
      const head = heads.find((h) => h.deptId === d && usable(h.userId, u.id));
      if (head) return byId.get(head.userId)!;
    }
    return null;
  };
  for (const g of gone) {
    const base = { code: g.code, personId: g.u.id, employeeNo: g.u.employeeNo ?? undefined, userid: g.u.wecomUserId ?? undefined, name: g.u.name };
    if (admins.has(g.u.id)) {
      issues.conflict({ ...base, code: 'admin_not_disabled', message: `${g.message}，但其担任三员管理员角色，不自动停用` });
      continue;
    }
    const successor = successorOf(g.u);
    if (!successor) {
      issues.conflict({ ...base, code: 'no_successor', message: `${g.message}，但按接替规则找不到在职的接替人，未停用` });
      continue;
    }
    const person = await User.findByPk(g.u.id, { transaction: t, lock: t.LOCK.UPDATE });
    if (!person || person.status !== 'active' || person.version !== g.u.version) throw new SyncConflictError(`人员「${g.u.name}」在同步期间被修改，请重新同步`);
    const handover = await handOver(c, g.u.id, successor.id);
    person.status = 'disabled';
    person.successorId = successor.id;
    await person.save({ transaction: t });
    g.u.status = 'disabled';
    c.disabled.add(g.u.id);
    c.report.people.disabled++;
    issues.miss({ ...base, message: `${g.message}；已停用，工作交接给「${successor.name}」` });
    c.uow.audit({
      action: 'org.person.disable',
      objectType: 'user',
      objectId: g.u.id,
      detail: { before: { status: 'active' }, after: { status: 'disabled', successorId: successor.id }, reason: SYNC_REASON, successor: { id: successor.id, name: successor.name }, ...handover, via: 'wecom' },
    });
  }
}

/** What PeopleService.disable hands over: department leadership, leaders in charge, registered open work. */
async function handOver(c: WriteContext, from: number, to: number): Promise<Record<string, unknown>> {
  return { ...(await handOverInUnit(c.db, handoverRegistry({ db: c.db }), c.uow, from, to)) };
}

/** A row changed under the sync (optimistic version check): the whole run rolls back. */
export class SyncConflictError extends Error {}

/** Thrown to roll a dry run back; carries its report. */
class DryRunRollback extends Error {
  constructor(readonly result: unknown) {
    super('dry run');
  }
}

function finish(report: SyncReport, issues: Collector): void {
  report.conflicts = issues.conflicts;
  report.conflictCount = issues.conflictCount;
  report.missing = issues.missing;
  report.missingCount = issues.missingCount;
  report.truncated = issues.conflictCount > issues.conflicts.length || issues.missingCount > issues.missing.length;
  const d = report.departments;
  const p = report.people;
  report.changes = d.created + d.updated + d.mapped + p.created + p.updated + p.bound + p.disabled;
}

async function afterCommit(deps: SyncDeps, c: Pick<WriteContext, 'touched' | 'disabled'>): Promise<void> {
  if (!deps.sessions) return;
  for (const id of c.disabled) await deps.sessions.revokeUser(id);
  for (const id of new Set([...c.touched, ...c.disabled])) await deps.sessions.invalidateUser(id);
}

// ---------------------------------------------------------------- full sync

export interface FullSyncProgress {
  phase: string;
  percent: number;
}

/**
 * Full sync of departments and people (P4, R12.0, issue 6 item 5). Fetches everything from WeCom,
 * then writes in one unit of work; returns the report (conflicts and missing people included).
 */
export async function fullSync(deps: SyncDeps, actor: Actor, opts: SyncOptions = {}, progress?: (p: FullSyncProgress) => void): Promise<SyncReport> {
  const client = contactClient(deps);
  if (!client) throw new WecomNotConfiguredError();
  if (opts.disableMissing && !opts.successor) throw new Error('disableMissing needs a successor rule');
  const started = Date.now();
  const calls0 = client.stats.calls;
  const byPath0 = { ...client.stats.byPath };
  progress?.({ phase: '读取企业微信部门', percent: 0 });
  const data = await fetchContacts(client, (done, total) => progress?.({ phase: `读取企业微信成员（${done}/${total} 个部门）`, percent: Math.round((done / total) * 70) }));
  progress?.({ phase: '比对并写入', percent: 75 });
  const report = emptyReport('full', !!opts.dryRun);
  report.wecom = { departments: data.departments.length, people: data.users.length };
  report.apiCalls = client.stats.calls - calls0;
  for (const [p, n] of Object.entries(client.stats.byPath)) if (n - (byPath0[p] ?? 0) > 0) report.callsByPath[p] = n - (byPath0[p] ?? 0);
  const ctx = { touched: new Set<number>(), disabled: new Set<number>() };
  try {
    await inUnitOfWork(deps.db, actor, deps.clock.now(), async (uow) => {
      const issues = new Collector();
      const c: WriteContext = { db: deps.db, uow, snap: await loadSnapshot(deps.db, uow), issues, report, mode: 'full', opts, ...ctx };
      await syncDepartments(c, data.departments, true);
      await syncPeople(c, data.users.map(memberInput), true);
      finish(report, issues);
      report.durationMs = Date.now() - started;
      uow.audit({
        action: 'wecom.sync.full',
        objectType: 'wecom_sync',
        detail: { departments: report.departments, people: report.people, changes: report.changes, conflicts: report.conflictCount, missing: report.missingCount, apiCalls: report.apiCalls, dryRun: !!opts.dryRun },
      });
      if (opts.dryRun) throw new DryRunRollback(report);
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
    return report;
  }
  await afterCommit(deps, ctx);
  progress?.({ phase: '完成', percent: 100 });
  return report;
}

// ---------------------------------------------------------------- incremental sync

export interface ContactEventResult {
  /** the sync run row recording this event */
  runId: number;
  /** true: this dedupe key was applied before; nothing was done now */
  replay: boolean;
  /** false for event types the sync ignores (tags, batch jobs) */
  applied: boolean;
  report: SyncReport | null;
}

export interface ContactEventOptions extends Pick<SyncOptions, 'disableMissing' | 'successor'> {
  /** the callback's dedupe key (ParsedCallback.dedupeKey); default computed from event.raw */
  dedupeKey?: string;
  actor?: Actor;
}

/**
 * Incremental sync from one change_contact event (issue 6 item 5, P4, R12.0). For the WeCom callback
 * route: call it (from the job/outbox the callback enqueues) with the parsed event.
 *
 * - create_user / update_user: the member's details are re-fetched with user/get when a client is
 *   configured (events of newer 通讯录同步 callbacks carry only UserID and Department, SPEC.md §7.3),
 *   then matched, created or updated with the full sync's rules; NewUserID rebinds the person.
 * - delete_user: reported; disabled only with `disableMissing` and a successor rule.
 * - create_party / update_party: mapped, matched or created, renamed, moved; delete_party: reported
 *   (the local department and its history stay).
 * - update_tag and other types: recorded as not applied.
 *
 * Idempotent: the run row carries the dedupe key (unique), so a replay returns the first result;
 * and applying the same state twice changes nothing anyway.
 */
export async function applyContactEvent(deps: SyncDeps, event: ContactEvent, opts: ContactEventOptions = {}): Promise<ContactEventResult> {
  const { WecomSyncRun } = deps.db.models;
  const dedupeKey = opts.dedupeKey ?? dedupeKeyOf(event.raw);
  const prior = await WecomSyncRun.findOne({ where: { dedupeKey } });
  if (prior) return { runId: prior.id, replay: true, applied: prior.changes > 0 || prior.report !== null, report: prior.report as unknown as SyncReport | null };
  const client = contactClient(deps);
  const started = Date.now();
  const calls0 = client?.stats.calls ?? 0;
  const changeType = event.changeType === 'other' ? event.rawChangeType : event.changeType;

  // details first, outside the transaction
  let member: MemberInput | null = null;
  let dept: WecomDepartment | null = null;
  if (event.changeType === 'create_user' || event.changeType === 'update_user') {
    const f = event.user;
    const userid = f.newUserId ?? f.userId;
    let full: WecomUser | null = null;
    if (client) {
      try {
        full = await client.getUser(userid);
      } catch (err) {
        if (!(err instanceof WecomApiError)) throw err;
        deps.log?.warn({ err, userid }, 'wecom user/get failed; applying the event fields');
      }
    }
    const extValue = extAttrEmployeeNo(f.extAttr);
    member = full
      ? { ...memberInput(full), previousUserid: f.newUserId ? f.userId : undefined }
      : {
          userid,
          previousUserid: f.newUserId ? f.userId : undefined,
          name: f.name,
          department: f.department,
          mainDepartment: f.mainDepartment,
          mobile: f.mobile,
          email: f.email,
          status: f.status,
          employeeNo: norm(extValue ?? userid),
        };
  } else if (event.changeType === 'create_party' || event.changeType === 'update_party') {
    const e = event.department;
    let got: WecomDepartment | null = null;
    if (client) {
      try {
        got = await client.getDepartment(e.id);
      } catch (err) {
        if (!(err instanceof WecomApiError)) throw err;
        deps.log?.warn({ err, id: e.id }, 'wecom department/get failed; applying the event fields');
      }
    }
    dept = got ?? { id: e.id, name: e.name ?? '', parentid: e.parentId as number, order: e.order };
  }

  const report = emptyReport('event', false);
  report.event = changeType;
  const ctx = { touched: new Set<number>(), disabled: new Set<number>() };
  const actor = opts.actor ?? { id: null, name: 'wecom' };
  const applied = !['update_tag', 'other'].includes(event.changeType);
  let runId: number;
  try {
    runId = await inUnitOfWork(deps.db, actor, deps.clock.now(), async (uow) => {
      // first: a concurrent delivery of the same event waits here, then fails on the unique key
      const run = await WecomSyncRun.create(
        { kind: 'event', status: 'running', options: { changeType }, phase: null, requestedBy: null, dedupeKey, report: null, error: null, startedAt: uow.now, finishedAt: null },
        { transaction: uow.t },
      );
      const issues = new Collector();
      const c: WriteContext = { db: deps.db, uow, snap: await loadSnapshot(deps.db, uow), issues, report, mode: 'event', opts, ...ctx };
      if (member) await syncPeople(c, [member], false);
      else if (dept) {
        // update_party without ParentId keeps the parent: use the mapped parent's WeCom id when known
        if (dept.parentid === undefined || Number.isNaN(dept.parentid)) {
          const local = c.snap.map.get(dept.id);
          const parentLocal = local !== undefined ? c.snap.depts.get(local)?.parentId : undefined;
          const parentWecom = [...c.snap.map].find(([, l]) => l === parentLocal)?.[0];
          dept = { ...dept, parentid: parentWecom ?? 0 };
        }
        await syncDepartments(c, [dept], false);
      } else if (event.changeType === 'delete_user') {
        const u = c.snap.users.find((x) => x.wecomUserId && lc(x.wecomUserId) === lc(event.user.userId));
        if (u && u.status === 'active') {
          await handleGone(c, [{ u, code: 'deleted_in_wecom', message: `「${u.name}」（工号 ${u.employeeNo ?? '无'}，企业微信账号 ${u.wecomUserId}）已从企业微信通讯录删除` }]);
        }
      } else if (event.changeType === 'delete_party') {
        const local = c.snap.map.get(event.department.id);
        if (local !== undefined) {
          const d = c.snap.depts.get(local)!;
          issues.miss({ code: 'dept_deleted_in_wecom', wecomDeptId: event.department.id, deptId: local, message: `部门「${d.name}」已在企业微信中删除，本系统保留该部门，请人工处理` });
        }
      }
      finish(report, issues);
      report.apiCalls = (client?.stats.calls ?? 0) - calls0;
      report.durationMs = Date.now() - started;
      await run.update(
        { status: 'done', percent: 100, changes: report.changes, conflicts: report.conflictCount + report.missingCount, apiCalls: report.apiCalls, report: report as unknown as Record<string, unknown>, finishedAt: uow.now },
        { transaction: uow.t },
      );
      if (report.changes || report.conflictCount || report.missingCount) {
        uow.audit({ action: 'wecom.sync.event', objectType: 'wecom_sync', objectId: run.id, detail: { changeType, changes: report.changes, conflicts: report.conflictCount, missing: report.missingCount } });
      }
      return run.id;
    });
  } catch (err) {
    if (err instanceof UniqueConstraintError) {
      const row = await WecomSyncRun.findOne({ where: { dedupeKey } });
      if (row) return { runId: row.id, replay: true, applied, report: row.report as unknown as SyncReport | null };
    }
    throw err;
  }
  await afterCommit(deps, ctx);
  return { runId, replay: false, applied, report };
}

function extAttrEmployeeNo(node: unknown): string | undefined {
  // <ExtAttr><Item><Name>工号</Name><Type>0</Type><Text><Value>10001</Value></Text></Item></ExtAttr>
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const items = (node as Record<string, unknown>).Item;
  for (const item of Array.isArray(items) ? items : [items]) {
    if (!item || typeof item !== 'object') continue;
    const rec = item as Record<string, unknown>;
    const text = rec.Text as Record<string, unknown> | undefined;
    if (rec.Name === '工号' && text && typeof text.Value === 'string' && text.Value.trim()) return text.Value;
  }
  return undefined;
}

// ---------------------------------------------------------------- runs (durable jobs with progress)

export const SYNC_JOB = 'wecom.contact-sync';

export interface RunView {
  id: number;
  kind: 'full' | 'event';
  status: WecomSyncRun['status'];
  dryRun: boolean;
  phase: string | null;
  percent: number;
  requestedBy: number | null;
  changes: number;
  conflicts: number;
  apiCalls: number;
  error: string | null;
  options: Record<string, unknown> | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  report?: SyncReport | null;
}

export function runView(r: WecomSyncRun, withReport: boolean): RunView {
  const v: RunView = {
    id: r.id,
    kind: r.kind,
    status: r.status,
    dryRun: !!r.dryRun,
    phase: r.phase,
    percent: r.percent,
    requestedBy: r.requestedBy,
    changes: r.changes,
    conflicts: r.conflicts,
    apiCalls: r.apiCalls,
    error: r.error,
    options: r.options,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
  if (withReport) v.report = r.report as unknown as SyncReport | null;
  return v;
}

/** Chinese text for a failed run. */
export function failureText(err: unknown): string {
  if (err instanceof WecomApiError) return `企业微信接口返回错误 ${err.errcode}（${err.path}），同步未写入任何数据`;
  if (err instanceof SyncConflictError) return err.message;
  if (err instanceof WecomNotConfiguredError) return err.message;
  const msg = err instanceof Error ? err.message : String(err);
  return `同步失败，未写入任何数据：${msg}`.slice(0, 2000);
}
