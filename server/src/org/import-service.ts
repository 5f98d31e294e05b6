import crypto from 'node:crypto';
import { inUnitOfWork, literal, UniqueConstraintError, type Actor, type Database, type DeptKind, type LeaderKind, type Transaction, type UnitOfWork, type UserStatus } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { Permission } from '../access/permissions.ts';
import { normaliseUsername } from '../auth/passwords.ts';
import { GENDERS, KIND_BY_LABEL, STATUS_BY_LABEL } from './excel-format.ts';
import { ADMIN_ROLE_CODES, handOverInUnit, handoverRegistry } from './people.ts';
import { readWorkbook, type CellValue, type ImportProblem, type ParsedRow, type ParsedSheet, type ParsedWorkbook } from './excel-read.ts';

/**
 * Excel import of the organisation (issue 3 item 7, R12.0). A file is read once; the check runs
 * against a snapshot of the organisation and yields either problems (each with sheet, row, column
 * and a Chinese reason) or a plan. A dry run stops there. A real run loads the snapshot again inside
 * one unit of work (departments locked, people guarded by their version), checks again and writes
 * the plan with its audit rows: all or nothing. Departments are matched by code and people by
 * employee number, both without regard to case; applying the same file twice changes nothing.
 *
 * Leadership (R12.0, M7): the 部门 sheet's 负责人工号, 副职工号 and 分管领导工号 columns name each
 * department's heads and deputies (in order) and its leaders in charge. A column the sheet lacks
 * leaves that kind of leadership untouched everywhere; a blank cell in a present column means none.
 * Leaders must be active at the end of the import; people without an employee number are kept.
 *
 * Disabling (状态 在职 → 停用) hands over like PeopleService.disable: 接替人工号 is required, and in
 * the same transaction the person's remaining department leadership and leader-in-charge rows pass
 * to the successor, every registered handover moves their open work, successorId is recorded and
 * `org.person.disable` is audited.
 *
 * Imported people get no password (passwordHash null): they sign in through WeCom, or an
 * administrator issues a personal initial password with the reset function. A shared initial
 * password for thousands of accounts would be one secret known to everyone who saw the file.
 */

const MAX_PATH = 500;
const CODE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PHONE_RE = /^[0-9+\-() #,转]{3,32}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LIST_SPLIT = /[,，、;；\s]+/;
/** problems listed in full; beyond this the report says how many more there are */
const MAX_LISTED = 2_000;
const CHUNK = 500;

export interface SideCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportCounts {
  departments: SideCounts;
  people: SideCounts;
  /** role memberships (global or department-scoped) */
  roles: { added: number; removed: number };
  /** departments whose heads, deputies or leaders in charge change (R12.0) */
  leadership: { updated: number };
  /** active people disabled by the file, each with a handover to their successor */
  handovers: number;
}

export interface ImportReport {
  dryRun: boolean;
  /** no problems: the file can be (or was) imported */
  ok: boolean;
  /** the changes were written */
  applied: boolean;
  problems: ImportProblem[];
  problemCount: number;
  /** more problems than listed */
  truncated: boolean;
  /** data rows read per sheet; blank rows are skipped and only counted */
  rows: { departments: number; people: number; roles: number; blank: number };
  counts: ImportCounts;
  /** created + updated + role memberships added and removed: 0 when the file matches the data */
  changes: number;
}

export type ImportStatus = 'reading' | 'checking' | 'writing' | 'done' | 'failed';

export interface ImportJob {
  id: string;
  userId: number;
  fileId: number;
  fileName: string;
  dryRun: boolean;
  status: ImportStatus;
  /** what it is doing, in Chinese */
  phase: string;
  /** 0–100 */
  percent: number;
  done: number;
  total: number;
  startedAt: Date;
  finishedAt: Date | null;
  report: ImportReport | null;
  error: string | null;
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
  path: string;
  level: number;
}

interface UserSnap {
  id: number;
  employeeNo: string | null;
  username: string;
  name: string;
  gender: string | null;
  deptId: number | null;
  postId: number | null;
  titleId: number | null;
  positionId: number | null;
  superiorId: number | null;
  mobile: string | null;
  workPhone: string | null;
  email: string | null;
  status: UserStatus;
  successorId: number | null;
  version: number;
}

interface RoleSnap {
  id: number;
  code: string;
  name: string;
  permissions: string[];
}

interface Snapshot {
  depts: DeptSnap[];
  deptByCode: Map<string, DeptSnap>;
  deptById: Map<number, DeptSnap>;
  users: UserSnap[];
  userByNo: Map<string, UserSnap>;
  userById: Map<number, UserSnap>;
  usernames: Map<string, number>;
  campus: Map<string, number>;
  post: Map<string, number>;
  title: Map<string, number>;
  position: Map<string, number>;
  roles: Map<string, RoleSnap>;
  roleById: Map<number, RoleSnap>;
  secondary: Map<number, Set<number>>;
  globalRoles: Map<number, Set<number>>;
  scopes: Map<number, { roleId: number; deptId: number; subtree: boolean }[]>;
  /** per department, ordered by sort then user */
  leaders: Map<number, { userId: number; kind: LeaderKind }[]>;
  /** per department: leaders in charge */
  charge: Map<number, number[]>;
  adminRoleIds: Set<number>;
}

const lc = (s: string) => s.toLowerCase();

async function loadSnapshot(db: Database, t?: Transaction): Promise<Snapshot> {
  const { Department, User, Campus, Post, Title, Position, Role, UserDept, UserRole, UserRoleScope, DeptLeader, LeaderInCharge } = db.models;
  const transaction = t;
  // departments locked in id order, like a move: paths are recomputed from the tree as it is
  const depts = (await Department.findAll({
    attributes: ['id', 'code', 'name', 'parentId', 'campusId', 'kind', 'sort', 'path', 'level'],
    order: [['id', 'ASC']],
    raw: true,
    transaction,
    ...(t ? { lock: t.LOCK.UPDATE } : {}),
  })) as DeptSnap[];
  const users = (await User.findAll({
    attributes: ['id', 'employeeNo', 'username', 'name', 'gender', 'deptId', 'postId', 'titleId', 'positionId', 'superiorId', 'mobile', 'workPhone', 'email', 'status', 'successorId', 'version'],
    raw: true,
    transaction,
  })) as UserSnap[];
  const codes = async (m: typeof Campus | typeof Post | typeof Title | typeof Position) =>
    new Map((await (m as typeof Post).findAll({ attributes: ['id', 'code'], raw: true, transaction })).map((r) => [lc(r.code), r.id]));
  const roles: RoleSnap[] = (await Role.findAll({ transaction })).map((r) => ({ id: r.id, code: r.code, name: r.name, permissions: r.permissions ?? [] }));
  const group = <T, V>(rows: T[], key: (r: T) => number, val: (r: T) => V) => {
    const m = new Map<number, V[]>();
    for (const r of rows) (m.get(key(r)) ?? m.set(key(r), []).get(key(r))!).push(val(r));
    return m;
  };
  const toSets = (m: Map<number, number[]>) => new Map([...m].map(([k, v]) => [k, new Set(v)]));
  const [secondary, globalRoles, scopes, leaders, charge] = await Promise.all([
    UserDept.findAll({ raw: true, transaction }),
    UserRole.findAll({ raw: true, transaction }),
    UserRoleScope.findAll({ attributes: ['userId', 'roleId', 'deptId', 'subtree'], raw: true, transaction }),
    DeptLeader.findAll({ order: [['sort', 'ASC'], ['userId', 'ASC']], raw: true, transaction }),
    LeaderInCharge.findAll({ order: [['userId', 'ASC']], raw: true, transaction }),
  ]);
  return {
    depts,
    deptByCode: new Map(depts.map((d) => [lc(d.code), d])),
    deptById: new Map(depts.map((d) => [d.id, d])),
    users,
    userByNo: new Map(users.filter((u) => u.employeeNo).map((u) => [lc(u.employeeNo!), u])),
    userById: new Map(users.map((u) => [u.id, u])),
    usernames: new Map(users.map((u) => [u.username, u.id])),
    campus: await codes(Campus),
    post: await codes(Post),
    title: await codes(Title),
    position: await codes(Position),
    roles: new Map(roles.map((r) => [lc(r.code), r])),
    roleById: new Map(roles.map((r) => [r.id, r])),
    secondary: toSets(group(secondary, (r) => r.userId, (r) => r.deptId)),
    globalRoles: toSets(group(globalRoles, (r) => r.userId, (r) => r.roleId)),
    scopes: group(
      scopes,
      (r) => r.userId,
      (r) => ({ roleId: r.roleId, deptId: r.deptId, subtree: !!r.subtree }),
    ),
    leaders: group(
      leaders,
      (r) => r.deptId,
      (r) => ({ userId: r.userId, kind: r.kind }),
    ),
    charge: group(
      charge,
      (r) => r.deptId,
      (r) => r.userId,
    ),
    adminRoleIds: new Set(roles.filter((r) => ADMIN_ROLE_CODES.has(r.code)).map((r) => r.id)),
  };
}

// ---------------------------------------------------------------- plan

/** `#12` an existing row by id, `+code` a row this file creates (lower-case key) */
type Key = string;
const idKey = (id: number): Key => `#${id}`;
const newKey = (k: string): Key => `+${k}`;
const keyId = (k: Key): number | null => (k.startsWith('#') ? Number(k.slice(1)) : null);

interface DeptItem {
  row: number;
  key: Key;
  code: string;
  existing: DeptSnap | undefined;
  name: string;
  kind: DeptKind;
  /** undefined: keep (column absent) or inherit the parent's (new department) */
  campusId: number | null | undefined;
  /** undefined: keep, or after the last existing one for a new department */
  sort: number | undefined;
  /** undefined: keep (column absent) */
  parent: Key | null | undefined;
  changed: string[];
}

interface PersonItem {
  row: number;
  key: Key;
  employeeNo: string;
  existing: UserSnap | undefined;
  fields: {
    name: string;
    gender: string | null;
    deptKey: Key;
    postId: number | null;
    titleId: number | null;
    positionId: number | null;
    mobile: string | null;
    workPhone: string | null;
    email: string | null;
    status: UserStatus;
  };
  /** undefined: the column is absent, keep */
  secondary: Key[] | undefined;
  /** undefined: keep; null: none */
  superior: Key | null | undefined;
  /** who takes over: set when the file disables an active person (handover) or creates a disabled one (record) */
  successor: Key | undefined;
}

/** The leadership a row of the 部门 sheet sets (R12.0, M7); undefined: the column is absent, keep. */
interface LeaderItem {
  row: number;
  dept: Key;
  heads: Key[] | undefined;
  deputies: Key[] | undefined;
  charge: Key[] | undefined;
}

interface RoleWish {
  global: Set<number>;
  /** `${roleId}|${deptKey}` → subtree */
  scopes: Map<string, boolean>;
}

interface Plan {
  problems: ImportProblem[];
  depts: DeptItem[];
  people: PersonItem[];
  /** per person key, for people listed in the 角色 sheet */
  roleWishes: Map<Key, RoleWish>;
  leadership: LeaderItem[];
  manageable: Set<number>;
  staffRoleId: number | null;
  rows: ImportReport['rows'];
}

type Values<K extends string> = Partial<Record<K, CellValue>>;

/** A cell as typed (names keep full-width brackets such as 综合科（天河）). */
function text(v: CellValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s || null;
}

/** Codes, numbers, phones: full-width letters and digits typed by a Chinese IME count as ASCII. */
function asCode(v: CellValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).normalize('NFKC').trim();
  return s || null;
}

/** Check the workbook against the organisation; problems, or what would change. */
export function planImport(wb: ParsedWorkbook, s: Snapshot, perms: ReadonlySet<string>, actorId: number | null = null): Plan {
  const problems: ImportProblem[] = [...wb.problems];
  const sheetOf = (name: string) => wb.sheets.find((x) => x.def.name === name && x.usable) as ParsedSheet<string> | undefined;
  const say = (sheet: string, r: ParsedRow<string>, header: string, reason: string) => {
    problems.push({ sheet, row: r.row, column: header, reason });
  };
  const deptSheet = sheetOf('部门');
  const peopleSheet = sheetOf('人员');
  const roleSheet = sheetOf('角色');

  // ---- departments
  const fileDepts = new Map<string, DeptItem & { parentCode: string | null; parentPresent: boolean }>();
  /** the leadership cells of each department row, read once the people are known */
  const leaderCells: { row: ParsedRow<string>; key: Key; cells: Partial<Record<'headNos' | 'deputyNos' | 'chargeNos', string>> }[] = [];
  for (const r of deptSheet?.rows ?? []) {
    const v = r.values as Values<'code' | 'name' | 'parentCode' | 'kind' | 'campusCode' | 'sort' | 'headNos' | 'deputyNos' | 'chargeNos'>;
    const S = '部门';
    const code = asCode(v.code);
    if (!code) {
      if (!r.bad.has('code')) say(S, r, '编码', '部门编码不能为空');
      continue;
    }
    if (!CODE_RE.test(code)) {
      say(S, r, '编码', `部门编码「${code}」只能包含字母、数字和 - _ .，并以字母或数字开头`);
      continue;
    }
    const dup = fileDepts.get(lc(code));
    if (dup) {
      say(S, r, '编码', `部门编码「${code}」与第 ${dup.row} 行重复`);
      continue;
    }
    const name = text(v.name);
    if (!name && !r.bad.has('name')) say(S, r, '名称', '部门名称不能为空');
    const kindText = text(v.kind);
    const kind = kindText ? KIND_BY_LABEL.get(kindText) : undefined;
    if (!r.bad.has('kind')) {
      if (!kindText) say(S, r, '类型', '部门类型不能为空，应为 临床、医技、行政 或 后勤');
      else if (!kind) say(S, r, '类型', `部门类型应为 临床、医技、行政 或 后勤，这里是「${kindText}」`);
    }
    let campusId: number | null | undefined;
    if (deptSheet!.columns.has('campusCode') && !r.bad.has('campusCode')) {
      const c = asCode(v.campusCode);
      campusId = c ? s.campus.get(lc(c)) : null;
      if (campusId === undefined) say(S, r, '院区编码', `院区编码「${c}」在系统中不存在`);
    }
    const existing = s.deptByCode.get(lc(code));
    const cells: (typeof leaderCells)[number]['cells'] = {};
    for (const c of ['headNos', 'deputyNos', 'chargeNos'] as const) if (deptSheet!.columns.has(c) && !r.bad.has(c)) cells[c] = asCode(v[c]) ?? '';
    leaderCells.push({ row: r, key: existing ? idKey(existing.id) : newKey(lc(code)), cells });
    fileDepts.set(lc(code), {
      row: r.row,
      key: existing ? idKey(existing.id) : newKey(lc(code)),
      code,
      existing,
      name: name ?? '',
      kind: kind ?? 'clinical',
      campusId,
      sort: typeof v.sort === 'number' ? v.sort : undefined,
      parent: undefined,
      changed: [],
      parentCode: asCode(v.parentCode),
      parentPresent: deptSheet!.columns.has('parentCode') && !r.bad.has('parentCode'),
    });
  }
  /** a department code in this file or in the organisation */
  const deptKeyOf = (code: string): Key | undefined => {
    const f = fileDepts.get(lc(code));
    if (f) return f.key;
    const d = s.deptByCode.get(lc(code));
    return d ? idKey(d.id) : undefined;
  };
  const deptLabel = (k: Key): string => {
    const id = keyId(k);
    if (id !== null) {
      const f = [...fileDepts.values()].find((x) => x.key === k);
      return f?.code ?? s.deptById.get(id)?.code ?? k;
    }
    return fileDepts.get(k.slice(1))?.code ?? k.slice(1);
  };
  const parentOf = new Map<Key, Key | null>(s.depts.map((d) => [idKey(d.id), d.parentId === null ? null : idKey(d.parentId)]));
  for (const f of fileDepts.values()) {
    if (!f.parentPresent) {
      if (!f.existing) parentOf.set(f.key, null);
      continue;
    }
    if (f.parentCode === null) f.parent = null;
    else if (lc(f.parentCode) === lc(f.code)) say('部门', { row: f.row } as ParsedRow<string>, '上级编码', `部门「${f.code}」不能是它自己的上级部门`);
    else {
      f.parent = deptKeyOf(f.parentCode);
      if (f.parent === undefined) say('部门', { row: f.row } as ParsedRow<string>, '上级编码', `上级部门编码「${f.parentCode}」不存在（本文件和系统中都没有）`);
    }
    if (f.parent !== undefined) parentOf.set(f.key, f.parent);
    else if (!f.existing) parentOf.set(f.key, null);
  }
  // loops in the tree as it would be: walk up from every department of the file
  {
    const state = new Map<Key, 1 | 2>();
    const rowOf = new Map([...fileDepts.values()].map((f) => [f.key, f.row]));
    for (const f of fileDepts.values()) {
      const path: Key[] = [];
      let cur: Key | null | undefined = f.key;
      while (cur && !state.has(cur)) {
        state.set(cur, 1);
        path.push(cur);
        cur = parentOf.get(cur);
      }
      if (cur && state.get(cur) === 1) {
        const loop = path.slice(path.indexOf(cur));
        const names = [...loop, cur].map(deptLabel).join(' → ');
        for (const k of loop) {
          const row = rowOf.get(k);
          if (row !== undefined) problems.push({ sheet: '部门', row, column: '上级编码', reason: `上级部门形成循环：${names}` });
        }
      }
      for (const k of path) state.set(k, 2);
    }
  }
  // depth: the path column is 500 characters (new ids estimated from the largest existing one)
  {
    const idLen = String((s.depts.reduce((m, d) => Math.max(m, d.id), 0) + fileDepts.size) * 10).length + 1;
    const len = new Map<Key, number>();
    const lengthOf = (k: Key, guard = 0): number => {
      if (len.has(k)) return len.get(k)!;
      const p = parentOf.get(k);
      const id = keyId(k);
      const own = (id !== null ? String(id).length : idLen) + 1;
      const v = guard > 1000 ? Infinity : (p ? lengthOf(p, guard + 1) : 1) + own;
      len.set(k, v);
      return v;
    };
    for (const f of fileDepts.values()) {
      const l = lengthOf(f.key);
      if (l > MAX_PATH && l !== Infinity) problems.push({ sheet: '部门', row: f.row, column: '上级编码', reason: '部门层级过深（超过系统允许的深度），请减少层级' });
    }
  }

  // ---- people
  const filePeople = new Map<string, PersonItem & { superiorNo: string | null; superiorPresent: boolean; successorNo: string | null; successorBad: boolean }>();
  const cols = peopleSheet?.columns ?? new Set<string>();
  for (const r of peopleSheet?.rows ?? []) {
    const S = '人员';
    const v = r.values as Values<
      'employeeNo' | 'name' | 'gender' | 'deptCode' | 'secondaryCodes' | 'postCode' | 'titleCode' | 'positionCode' | 'superiorNo' | 'mobile' | 'workPhone' | 'email' | 'status' | 'successorNo'
    >;
    const no = asCode(v.employeeNo);
    if (!no) {
      if (!r.bad.has('employeeNo')) say(S, r, '工号', '工号不能为空');
      continue;
    }
    if (!CODE_RE.test(no)) {
      say(S, r, '工号', `工号「${no}」只能包含字母、数字和 - _ .`);
      continue;
    }
    const dup = filePeople.get(lc(no));
    if (dup) {
      say(S, r, '工号', `工号「${no}」与第 ${dup.row} 行重复`);
      continue;
    }
    const existing = s.userByNo.get(lc(no));
    const keep = <T>(col: string, fresh: () => T, old: T): T => (cols.has(col) && !r.bad.has(col) ? fresh() : old);
    const name = text(v.name);
    if (!name && !r.bad.has('name')) say(S, r, '姓名', '姓名不能为空');
    const gender = keep(
      'gender',
      () => {
        const g = text(v.gender);
        if (g && !GENDERS.has(g)) say(S, r, '性别', `性别应为「男」或「女」，这里是「${g}」`);
        return g && GENDERS.has(g) ? g : null;
      },
      existing?.gender ?? null,
    );
    let deptKey: Key = '';
    const deptCode = asCode(v.deptCode);
    if (!r.bad.has('deptCode')) {
      if (!deptCode) say(S, r, '主部门编码', '主部门编码不能为空');
      else {
        const k = deptKeyOf(deptCode);
        if (!k) say(S, r, '主部门编码', `部门编码「${deptCode}」不存在（本文件和系统中都没有）`);
        else deptKey = k;
      }
    }
    const ref = (col: string, header: string, map: Map<string, number>, what: string, old: number | null): number | null =>
      keep(
        col,
        () => {
          const c = asCode((v as Record<string, CellValue>)[col]);
          if (!c) return null;
          const id = map.get(lc(c));
          if (id === undefined) say(S, r, header, `${what}编码「${c}」在系统中不存在`);
          return id ?? null;
        },
        old,
      );
    const postId = ref('postCode', '岗位编码', s.post, '岗位', existing?.postId ?? null);
    const titleId = ref('titleCode', '职称编码', s.title, '职称', existing?.titleId ?? null);
    const positionId = ref('positionCode', '职务编码', s.position, '职务', existing?.positionId ?? null);
    const phone = (col: 'mobile' | 'workPhone', header: string, old: string | null) =>
      keep(
        col,
        () => {
          const p = asCode(v[col]);
          if (p && !PHONE_RE.test(p)) say(S, r, header, `${header}「${p}」格式不正确，只能包含数字、空格和 + - ( ) #`);
          return p;
        },
        old,
      );
    const mobile = phone('mobile', '手机', existing?.mobile ?? null);
    const workPhone = phone('workPhone', '办公电话', existing?.workPhone ?? null);
    const email = keep(
      'email',
      () => {
        const e = asCode(v.email);
        if (e && !EMAIL_RE.test(e)) say(S, r, '邮箱', `邮箱「${e}」格式不正确`);
        return e;
      },
      existing?.email ?? null,
    );
    const status = keep(
      'status',
      (): UserStatus => {
        const t = text(v.status);
        if (!t) return 'active';
        const st = STATUS_BY_LABEL.get(t);
        if (!st) say(S, r, '状态', `状态应为「在职」或「停用」，这里是「${t}」`);
        return st ?? 'active';
      },
      existing?.status ?? 'active',
    );
    let secondary: Key[] | undefined;
    if (cols.has('secondaryCodes') && !r.bad.has('secondaryCodes')) {
      secondary = [];
      for (const c of (asCode(v.secondaryCodes) ?? '').split(LIST_SPLIT).filter(Boolean)) {
        const k = deptKeyOf(c);
        if (!k) say(S, r, '兼职部门编码', `兼职部门编码「${c}」不存在（本文件和系统中都没有）`);
        else if (k === deptKey) say(S, r, '兼职部门编码', `兼职部门「${c}」与主部门相同`);
        else if (!secondary.includes(k)) secondary.push(k);
      }
    }
    if (!existing) {
      const username = normaliseUsername(no);
      const holder = s.usernames.get(username);
      if (holder !== undefined) say(S, r, '工号', `工号「${no}」将作为登录名，但登录名「${username}」已被其他账号使用`);
    }
    filePeople.set(lc(no), {
      row: r.row,
      key: existing ? idKey(existing.id) : newKey(lc(no)),
      employeeNo: no,
      existing,
      fields: { name: name ?? '', gender, deptKey, postId, titleId, positionId, mobile, workPhone, email, status },
      secondary,
      superior: undefined,
      superiorNo: asCode(v.superiorNo),
      superiorPresent: cols.has('superiorNo') && !r.bad.has('superiorNo'),
      successor: undefined,
      successorNo: cols.has('successorNo') && !r.bad.has('successorNo') ? asCode(v.successorNo) : null,
      successorBad: r.bad.has('successorNo'),
    });
  }
  const personKeyOf = (no: string): Key | undefined => {
    const f = filePeople.get(lc(no));
    if (f) return f.key;
    const u = s.userByNo.get(lc(no));
    return u ? idKey(u.id) : undefined;
  };
  const superiorOf = new Map<Key, Key | null>(s.users.map((u) => [idKey(u.id), u.superiorId === null ? null : idKey(u.superiorId)]));
  for (const p of filePeople.values()) {
    if (!p.superiorPresent) {
      if (!p.existing) superiorOf.set(p.key, null);
      continue;
    }
    if (p.superiorNo === null) p.superior = null;
    else if (lc(p.superiorNo) === lc(p.employeeNo)) problems.push({ sheet: '人员', row: p.row, column: '直接上级工号', reason: '直接上级不能是本人' });
    else {
      p.superior = personKeyOf(p.superiorNo);
      if (p.superior === undefined) problems.push({ sheet: '人员', row: p.row, column: '直接上级工号', reason: `直接上级工号「${p.superiorNo}」不存在（本文件和系统中都没有）` });
    }
    if (p.superior !== undefined) superiorOf.set(p.key, p.superior);
    else if (!p.existing) superiorOf.set(p.key, null);
  }
  {
    const state = new Map<Key, 1 | 2>();
    const rowOf = new Map([...filePeople.values()].map((p) => [p.key, p.row]));
    const label = (k: Key) => {
      const id = keyId(k);
      return id !== null ? (s.userById.get(id)?.employeeNo ?? s.userById.get(id)?.username ?? k) : (filePeople.get(k.slice(1))?.employeeNo ?? k.slice(1));
    };
    for (const p of filePeople.values()) {
      const path: Key[] = [];
      let cur: Key | null | undefined = p.key;
      while (cur && !state.has(cur)) {
        state.set(cur, 1);
        path.push(cur);
        cur = superiorOf.get(cur);
      }
      if (cur && state.get(cur) === 1) {
        const loop = path.slice(path.indexOf(cur));
        const names = [...loop, cur].map(label).join(' → ');
        for (const k of loop) {
          const row = rowOf.get(k);
          if (row !== undefined) problems.push({ sheet: '人员', row, column: '直接上级工号', reason: `直接上级形成循环：${names}` });
        }
      }
      for (const k of path) state.set(k, 2);
    }
  }

  // ---- people as the file leaves them: who is active, and how to name them in a reason
  const personByKey = new Map([...filePeople.values()].map((p) => [p.key, p]));
  const finalStatus = (k: Key): UserStatus | undefined => {
    const f = personByKey.get(k);
    if (f) return f.fields.status;
    const id = keyId(k);
    return id !== null ? s.userById.get(id)?.status : undefined;
  };
  const personName = (k: Key): string => {
    const f = personByKey.get(k);
    if (f) return `「${f.fields.name || f.employeeNo}」（工号 ${f.employeeNo}）`;
    const u = s.userById.get(keyId(k) ?? -1);
    return u ? `「${u.name}」（工号 ${u.employeeNo ?? u.username}）` : k;
  };

  // ---- disabling hands over (like PeopleService.disable): the successor is named in 接替人工号
  for (const p of filePeople.values()) {
    const S = '人员';
    const goingOff = !!p.existing && p.existing.status === 'active' && p.fields.status === 'disabled';
    const at = (column: string, reason: string) => problems.push({ sheet: S, row: p.row, column, reason });
    if (goingOff) {
      const who = personName(p.key);
      if (actorId !== null && p.existing!.id === actorId) at('状态', '不能通过导入停用您自己的账号');
      if ([...(s.globalRoles.get(p.existing!.id) ?? [])].some((r) => s.adminRoleIds.has(r))) {
        at('状态', `${who}担任三员管理员角色，不能通过导入停用，请先由系统管理员移交其管理员职责`);
      }
      if (p.successorBad) continue;
      if (!p.successorNo) {
        at(
          '接替人工号',
          `停用在职人员${who}时必须填写接替人工号：其部门领导职务和待办工作将交给接替人${cols.has('successorNo') ? '' : '（请在人员表中增加「接替人工号」列）'}`,
        );
        continue;
      }
    } else if (p.existing || p.fields.status !== 'disabled' || !p.successorNo || p.successorBad) {
      // an active person, or one already disabled: the column is only a record, nothing to hand over
      continue;
    }
    const no = p.successorNo!;
    if (lc(no) === lc(p.employeeNo)) {
      at('接替人工号', '接替人不能是被停用的本人');
      continue;
    }
    const k = personKeyOf(no);
    if (!k) {
      at('接替人工号', `接替人工号「${no}」不存在（本文件人员表和系统中都没有）`);
      continue;
    }
    if (goingOff && finalStatus(k) !== 'active') {
      at('接替人工号', `接替人${personName(k)}${personByKey.get(k)?.fields.status === 'disabled' ? '在本文件中被停用' : '已停用'}，请选择在职人员`);
      continue;
    }
    p.successor = k;
  }

  // ---- leadership (R12.0, M7): heads and deputies in order, leaders in charge
  const leadership: LeaderItem[] = [];
  const LIMITS = { headNos: 20, deputyNos: 50, chargeNos: 20 } as const;
  const HEADERS = { headNos: '负责人工号', deputyNos: '副职工号', chargeNos: '分管领导工号' } as const;
  const ROLE_OF = { headNos: '部门负责人', deputyNos: '部门副职', chargeNos: '分管领导' } as const;
  for (const { row, key, cells } of leaderCells) {
    const item: LeaderItem = { row: row.row, dept: key, heads: undefined, deputies: undefined, charge: undefined };
    const parse = (c: 'headNos' | 'deputyNos' | 'chargeNos'): Key[] | undefined => {
      const cell = cells[c];
      if (cell === undefined) return undefined;
      const header = HEADERS[c];
      const out: Key[] = [];
      const seen = new Set<string>();
      const nos = cell.split(LIST_SPLIT).filter(Boolean);
      if (nos.length > LIMITS[c]) say('部门', row, header, `「${header}」最多填写 ${LIMITS[c]} 人，这里有 ${nos.length} 人`);
      for (const no of nos) {
        if (seen.has(lc(no))) {
          say('部门', row, header, `工号「${no}」在「${header}」中重复`);
          continue;
        }
        seen.add(lc(no));
        const k = personKeyOf(no);
        if (!k) say('部门', row, header, `${header}中的工号「${no}」不存在（本文件人员表和系统中都没有）`);
        else if (finalStatus(k) !== 'active') {
          say('部门', row, header, `${personName(k)}${personByKey.get(k)?.fields.status === 'disabled' ? '在本文件中状态为停用' : '已停用'}，不能担任${ROLE_OF[c]}`);
        } else out.push(k);
      }
      return out;
    };
    item.heads = parse('headNos');
    item.deputies = parse('deputyNos');
    item.charge = parse('chargeNos');
    for (const k of item.deputies ?? []) {
      if (item.heads?.includes(k)) say('部门', row, '副职工号', `${personName(k)}已是本部门负责人，不能同时是副职`);
    }
    if (item.heads || item.deputies || item.charge) leadership.push(item);
  }

  // ---- roles: only roles whose permissions the importer holds can be granted or taken away
  const manageable = new Set([...s.roles.values()].filter((r) => r.permissions.every((p) => perms.has(p))).map((r) => r.id));
  const roleWishes = new Map<Key, RoleWish>();
  for (const r of roleSheet?.rows ?? []) {
    const S = '角色';
    const v = r.values as Values<'employeeNo' | 'roleCode' | 'scopeCode' | 'subtree'>;
    const no = asCode(v.employeeNo);
    let person: Key | undefined;
    if (!r.bad.has('employeeNo')) {
      if (!no) say(S, r, '工号', '工号不能为空');
      else {
        person = personKeyOf(no);
        if (!person) say(S, r, '工号', `工号「${no}」不存在（本文件人员表和系统中都没有）`);
      }
    }
    const code = asCode(v.roleCode);
    let role: RoleSnap | undefined;
    if (!r.bad.has('roleCode')) {
      if (!code) say(S, r, '角色编码', '角色编码不能为空');
      else {
        role = s.roles.get(lc(code));
        if (!role) say(S, r, '角色编码', `角色编码「${code}」在系统中不存在`);
      }
    }
    let scope: Key | null = null;
    const sc = asCode(v.scopeCode);
    if (sc && !r.bad.has('scopeCode')) {
      scope = deptKeyOf(sc) ?? null;
      if (!scope) say(S, r, '范围部门编码', `部门编码「${sc}」不存在（本文件和系统中都没有）`);
    }
    const st = text(v.subtree);
    if (st && st !== '是' && st !== '否') say(S, r, '含下级', `「含下级」应为「是」或「否」，这里是「${st}」`);
    if (role && !manageable.has(role.id)) {
      // a role the importer may not give: fine where the person already holds it exactly as
      // written (an export of someone who holds it imports back), refused where it would change
      const id = person ? keyId(person) : null;
      const held =
        id !== null &&
        (scope
          ? (s.scopes.get(id) ?? []).some((x) => x.roleId === role!.id && idKey(x.deptId) === scope && x.subtree === (st !== '否'))
          : !!s.globalRoles.get(id)?.has(role.id));
      if (!held) say(S, r, '角色编码', `无权分配角色「${role.name}」：它含有您没有的权限`);
      continue;
    }
    if (!person || !role || (sc && !scope)) continue;
    const wish = roleWishes.get(person) ?? roleWishes.set(person, { global: new Set(), scopes: new Map() }).get(person)!;
    if (scope) wish.scopes.set(`${role.id}|${scope}`, st !== '否');
    else wish.global.add(role.id);
  }

  // ---- what changes
  const depts: DeptItem[] = [];
  for (const f of fileDepts.values()) {
    const item: DeptItem = { row: f.row, key: f.key, code: f.code, existing: f.existing, name: f.name, kind: f.kind, campusId: f.campusId, sort: f.sort, parent: f.parent, changed: [] };
    const e = f.existing;
    if (e) {
      if (e.code !== f.code) item.changed.push('code');
      if (e.name !== f.name) item.changed.push('name');
      if (e.kind !== f.kind) item.changed.push('kind');
      if (f.campusId !== undefined && e.campusId !== f.campusId) item.changed.push('campusId');
      if (f.sort !== undefined && e.sort !== f.sort) item.changed.push('sort');
      if (f.parent !== undefined && (e.parentId === null ? null : idKey(e.parentId)) !== f.parent) item.changed.push('parentId');
    }
    depts.push(item);
  }
  const staff = s.roles.get('staff');
  return {
    problems,
    depts,
    people: [...filePeople.values()],
    roleWishes,
    leadership,
    manageable,
    staffRoleId: staff ? staff.id : null,
    rows: {
      departments: deptSheet?.rows.length ?? 0,
      people: peopleSheet?.rows.length ?? 0,
      roles: roleSheet?.rows.length ?? 0,
      blank: wb.sheets.reduce((n, x) => n + x.blankRows, 0),
    },
  };
}

// ---------------------------------------------------------------- diff (shared by counting and writing)

const same = (a: string | number | null | undefined, b: string | number | null | undefined) => (a ?? '') === (b ?? '');
const PERSON_FIELDS = ['name', 'gender', 'deptId', 'postId', 'titleId', 'positionId', 'mobile', 'workPhone', 'email', 'status'] as const;

interface RoleDiff {
  addGlobal: number[];
  removeGlobal: number[];
  addScopes: { roleId: number; dept: Key; subtree: boolean }[];
  removeScopes: { roleId: number; deptId: number }[];
}

function roleDiff(plan: Plan, s: Snapshot, person: Key, isNew: boolean): RoleDiff {
  const d: RoleDiff = { addGlobal: [], removeGlobal: [], addScopes: [], removeScopes: [] };
  const wish = plan.roleWishes.get(person);
  if (!wish) {
    if (isNew && plan.staffRoleId !== null) d.addGlobal.push(plan.staffRoleId);
    return d;
  }
  const id = keyId(person);
  const current = id !== null ? (s.globalRoles.get(id) ?? new Set<number>()) : new Set<number>();
  for (const r of wish.global) if (!current.has(r)) d.addGlobal.push(r);
  for (const r of current) if (plan.manageable.has(r) && !wish.global.has(r)) d.removeGlobal.push(r);
  const scopes = id !== null ? (s.scopes.get(id) ?? []) : [];
  const have = new Map(scopes.map((x) => [`${x.roleId}|${idKey(x.deptId)}`, x]));
  for (const [k, subtree] of wish.scopes) {
    const h = have.get(k);
    const [roleId, dept] = [Number(k.split('|')[0]), k.split('|')[1]!];
    if (h && h.subtree === subtree) continue;
    if (h) d.removeScopes.push({ roleId: h.roleId, deptId: h.deptId });
    d.addScopes.push({ roleId, dept, subtree });
  }
  for (const [k, h] of have) if (plan.manageable.has(h.roleId) && !wish.scopes.has(k)) d.removeScopes.push({ roleId: h.roleId, deptId: h.deptId });
  return d;
}

interface LeaderDiff {
  heads: Key[];
  deputies: Key[];
  charge: Key[];
  before: { heads: Key[]; deputies: Key[]; charge: Key[] };
  leadersChanged: boolean;
  chargeChanged: boolean;
}

/**
 * The leadership a department ends with (R12.0): the file's lists where its columns are present,
 * the current ones elsewhere; people without an employee number (not nameable in a file) are kept;
 * someone the file makes head stops being deputy there, and the other way round.
 */
function leaderDiff(item: LeaderItem, s: Snapshot): LeaderDiff {
  const id = keyId(item.dept);
  const cur = id !== null ? (s.leaders.get(id) ?? []) : [];
  const hidden = (userId: number) => !s.userById.get(userId)?.employeeNo;
  const curHeads = cur.filter((l) => l.kind === 'head').map((l) => idKey(l.userId));
  const curDeputies = cur.filter((l) => l.kind === 'deputy').map((l) => idKey(l.userId));
  const curCharge = (id !== null ? (s.charge.get(id) ?? []) : []).map(idKey);
  const kept = (list: Key[]) => list.filter((k) => hidden(keyId(k)!));
  let heads = item.heads ? [...item.heads, ...kept(curHeads)] : curHeads;
  let deputies = item.deputies ? [...item.deputies, ...kept(curDeputies)] : curDeputies;
  if (item.heads && !item.deputies) deputies = deputies.filter((k) => !heads.includes(k));
  if (item.deputies && !item.heads) heads = heads.filter((k) => !deputies.includes(k));
  const charge = item.charge ? [...new Set([...item.charge, ...kept(curCharge)])] : curCharge;
  const sameSet = (a: Key[], b: Key[]) => a.length === b.length && a.every((k) => b.includes(k));
  return {
    heads,
    deputies,
    charge,
    before: { heads: curHeads, deputies: curDeputies, charge: curCharge },
    leadersChanged: heads.join() !== curHeads.join() || deputies.join() !== curDeputies.join(),
    chargeChanged: !sameSet(charge, curCharge),
  };
}

/** Active people the file disables: each hands over to their successor. */
const goingOff = (p: PersonItem) => !!p.existing && p.existing.status === 'active' && p.fields.status === 'disabled';

const roleChanges = (d: RoleDiff) => ({ added: d.addGlobal.length + d.addScopes.length, removed: d.removeGlobal.length + d.removeScopes.length });

/** Fields of an existing person that the file changes (dept keys resolved by `deptId`). */
function personChanges(p: PersonItem, deptId: (k: Key) => number | null, superiorId: (k: Key) => number | null, s: Snapshot): { fields: Record<string, unknown>; secondary: { add: number[]; remove: number[] } } {
  const e = p.existing!;
  const want: Record<string, string | number | null> = { ...p.fields, deptId: deptId(p.fields.deptKey) };
  const fields: Record<string, unknown> = {};
  for (const f of PERSON_FIELDS) if (!same(e[f], want[f])) fields[f] = want[f];
  if (e.employeeNo !== p.employeeNo) fields.employeeNo = p.employeeNo;
  if (p.superior !== undefined) {
    const sup = p.superior === null ? null : superiorId(p.superior);
    if (e.superiorId !== sup) fields.superiorId = sup;
  }
  if (goingOff(p) && p.successor !== undefined) fields.successorId = superiorId(p.successor);
  const secondary = { add: [] as number[], remove: [] as number[] };
  if (p.secondary) {
    const have = s.secondary.get(e.id) ?? new Set<number>();
    const want2 = new Set(p.secondary.map((k) => deptId(k)!));
    for (const d of want2) if (!have.has(d)) secondary.add.push(d);
    for (const d of have) if (!want2.has(d)) secondary.remove.push(d);
  }
  return { fields, secondary };
}

/** Counts of a plan against the snapshot, without writing (new rows resolved to placeholders). */
function countPlan(plan: Plan, s: Snapshot): ImportCounts {
  const counts = emptyCounts();
  for (const item of plan.leadership) {
    const d = leaderDiff(item, s);
    if (d.leadersChanged || d.chargeChanged) counts.leadership.updated++;
  }
  counts.handovers = plan.people.filter(goingOff).length;
  for (const d of plan.depts) {
    if (!d.existing) counts.departments.created++;
    else if (d.changed.length) counts.departments.updated++;
    else counts.departments.unchanged++;
  }
  // a placeholder for rows not created yet: never equal to an existing id
  const resolve = (k: Key) => keyId(k) ?? -1;
  const listed = new Set<Key>();
  for (const p of plan.people) {
    listed.add(p.key);
    if (!p.existing) counts.people.created++;
    else {
      const c = personChanges(p, resolve, resolve, s);
      if (Object.keys(c.fields).length || c.secondary.add.length || c.secondary.remove.length) counts.people.updated++;
      else counts.people.unchanged++;
    }
    const r = roleChanges(roleDiff(plan, s, p.key, !p.existing));
    counts.roles.added += r.added;
    counts.roles.removed += r.removed;
  }
  for (const k of plan.roleWishes.keys()) {
    if (listed.has(k)) continue;
    const r = roleChanges(roleDiff(plan, s, k, false));
    counts.roles.added += r.added;
    counts.roles.removed += r.removed;
  }
  return counts;
}

const totalChanges = (c: ImportCounts) =>
  c.departments.created + c.departments.updated + c.people.created + c.people.updated + c.roles.added + c.roles.removed + c.leadership.updated + c.handovers;

const emptyCounts = (): ImportCounts => ({
  departments: { created: 0, updated: 0, unchanged: 0 },
  people: { created: 0, updated: 0, unchanged: 0 },
  roles: { added: 0, removed: 0 },
  leadership: { updated: 0 },
  handovers: 0,
});

// ---------------------------------------------------------------- writing

class Refused extends Error {
  constructor(readonly plan: Plan) {
    super('import refused');
  }
}

export class ImportConflict extends Error {}

interface WriteResult {
  /** people whose roles or status changed: their sessions must reload */
  touched: number[];
  disabled: number[];
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function writePlan(db: Database, uow: UnitOfWork, plan: Plan, s: Snapshot, progress: (done: number) => void): Promise<WriteResult> {
  const { Department, User, UserDept, UserRole, UserRoleScope, DeptLeader, LeaderInCharge } = db.models;
  const t = uow.t;
  const now = uow.now;
  let done = 0;
  const step = async (n: number) => {
    done += n;
    progress(done);
    await tick();
  };

  // ---- departments: create the new ones, then bring parent, campus, path and level of every
  // department in line with the tree as the file leaves it
  const deptIds = new Map<Key, number>(s.depts.map((d) => [idKey(d.id), d.id]));
  const fresh = plan.depts.filter((d) => !d.existing);
  let nextSort = s.depts.reduce((m, d) => Math.max(m, d.sort), 0);
  for (let i = 0; i < fresh.length; i += CHUNK) {
    const part = fresh.slice(i, i + CHUNK);
    await Department.bulkCreate(
      part.map((d) => ({ code: d.code, name: d.name, kind: d.kind, parentId: null, campusId: null, sort: d.sort ?? ++nextSort, path: '/', level: 0 })),
      { transaction: t },
    );
    const rows = await Department.findAll({ where: { code: part.map((d) => d.code) }, attributes: ['id', 'code'], raw: true, transaction: t });
    const byCode = new Map(rows.map((r) => [lc(r.code), r.id]));
    for (const d of part) deptIds.set(d.key, byCode.get(lc(d.code))!);
    await step(part.length);
  }
  const deptId = (k: Key) => deptIds.get(k) ?? null;
  const item = new Map(plan.depts.map((d) => [d.key, d]));
  interface Final {
    id: number;
    parentId: number | null;
    campusId: number | null;
    path: string;
    level: number;
  }
  const finals = new Map<number, Final>();
  const parentKey = (k: Key): Key | null => {
    const d = item.get(k);
    if (d && d.parent !== undefined) return d.parent;
    const id = deptIds.get(k)!;
    const e = s.deptById.get(id);
    return e ? (e.parentId === null ? null : idKey(e.parentId)) : null;
  };
  const finalOf = (k: Key): Final => {
    const id = deptIds.get(k)!;
    const known = finals.get(id);
    if (known) return known;
    const pk = parentKey(k);
    const parent = pk ? finalOf(pk) : null;
    const d = item.get(k);
    const e = s.deptById.get(id);
    const campusId = d?.campusId !== undefined ? d.campusId : e ? e.campusId : (parent?.campusId ?? null);
    const f: Final = { id, parentId: parent?.id ?? null, campusId, path: `${parent ? parent.path : '/'}${id}/`, level: parent ? parent.level + 1 : 0 };
    finals.set(id, f);
    return f;
  };
  const audits: { action: string; objectId: number; detail: unknown }[] = [];
  for (const k of deptIds.keys()) {
    const f = finalOf(k);
    const d = item.get(k);
    const e = s.deptById.get(f.id);
    const patch: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    const set = (field: string, old: unknown, value: unknown) => {
      if (old !== value) {
        patch[field] = value;
        before[field] = old;
      }
    };
    if (d) {
      set('code', e?.code, d.code);
      set('name', e?.name, d.name);
      set('kind', e?.kind, d.kind);
      if (e && d.sort !== undefined) set('sort', e.sort, d.sort);
    }
    set('parentId', e ? e.parentId : null, f.parentId);
    set('campusId', e ? e.campusId : null, f.campusId);
    set('path', e ? e.path : '/', f.path);
    set('level', e ? e.level : 0, f.level);
    if (!Object.keys(patch).length) continue;
    await Department.update(patch, { where: { id: f.id }, transaction: t });
    if (!e) audits.push({ action: 'org.department.create', objectId: f.id, detail: { before: null, after: { ...patch, code: d!.code }, via: 'import' } });
    else if (d && d.changed.length) {
      audits.push({ action: 'org.department.update', objectId: f.id, detail: { before, after: patch, via: 'import' } });
    }
  }

  // ---- people
  const userIds = new Map<Key, number>(s.users.map((u) => [idKey(u.id), u.id]));
  const newPeople = plan.people.filter((p) => !p.existing);
  for (let i = 0; i < newPeople.length; i += CHUNK) {
    const part = newPeople.slice(i, i + CHUNK);
    await User.bulkCreate(
      part.map((p) => ({
        username: normaliseUsername(p.employeeNo),
        employeeNo: p.employeeNo,
        name: p.fields.name,
        gender: p.fields.gender,
        deptId: deptId(p.fields.deptKey),
        postId: p.fields.postId,
        titleId: p.fields.titleId,
        positionId: p.fields.positionId,
        superiorId: null,
        mobile: p.fields.mobile,
        workPhone: p.fields.workPhone,
        email: p.fields.email,
        status: p.fields.status,
        wecomUserId: null,
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
    const rows = await User.findAll({ where: { employeeNo: part.map((p) => p.employeeNo) }, attributes: ['id', 'employeeNo'], raw: true, transaction: t });
    const byNo = new Map(rows.map((r) => [lc(r.employeeNo!), r.id]));
    for (const p of part) userIds.set(p.key, byNo.get(lc(p.employeeNo))!);
    await step(part.length);
  }
  const userId = (k: Key) => userIds.get(k) ?? null;
  const deptCode = (id: number) => s.deptById.get(id)?.code ?? plan.depts.find((d) => deptIds.get(d.key) === id)?.code ?? String(id);
  const touched = new Set<number>();
  const disabled: number[] = [];
  const superiorsOfNew = new Map<number, number[]>();
  const secondaryAdd: { userId: number; deptId: number }[] = [];
  let n = 0;
  for (const p of plan.people) {
    const id = userId(p.key)!;
    if (!p.existing) {
      const sup = p.superior ? userId(p.superior) : null;
      if (sup !== null) (superiorsOfNew.get(sup) ?? superiorsOfNew.set(sup, []).get(sup)!).push(id);
      for (const k of p.secondary ?? []) secondaryAdd.push({ userId: id, deptId: deptId(k)! });
      audits.push({
        action: 'org.person.create',
        objectId: id,
        detail: {
          before: null,
          after: { employeeNo: p.employeeNo, ...p.fields, deptKey: undefined, deptId: deptId(p.fields.deptKey), superiorId: sup, secondaryDepts: (p.secondary ?? []).map((k) => deptCode(deptId(k)!)) },
          via: 'import',
        },
      });
      continue;
    }
    const c = personChanges(p, deptId, userId, s);
    const e = p.existing;
    if (Object.keys(c.fields).length) {
      const [affected] = await User.update({ ...c.fields, version: literal('version + 1') } as never, { where: { id, version: e.version }, transaction: t });
      if (affected !== 1) throw new ImportConflict(`人员「${e.name}」（工号 ${p.employeeNo}）在导入期间被修改，请重新导入`);
      if (c.fields.status !== undefined) {
        touched.add(id);
        if (c.fields.status === 'disabled') disabled.push(id);
      }
    }
    if (c.secondary.remove.length) await UserDept.destroy({ where: { userId: id, deptId: c.secondary.remove }, transaction: t });
    for (const d of c.secondary.add) secondaryAdd.push({ userId: id, deptId: d });
    if (Object.keys(c.fields).length || c.secondary.add.length || c.secondary.remove.length) {
      const before: Record<string, unknown> = {};
      for (const f of Object.keys(c.fields)) before[f] = (e as unknown as Record<string, unknown>)[f];
      const after: Record<string, unknown> = { ...c.fields };
      if (c.secondary.add.length || c.secondary.remove.length) {
        before.secondaryDepts = [...(s.secondary.get(id) ?? [])].map(deptCode);
        after.secondaryDepts = (p.secondary ?? []).map((k) => deptCode(deptId(k)!));
      }
      audits.push({ action: 'org.person.update', objectId: id, detail: { before, after, via: 'import' } });
    }
    if (++n % CHUNK === 0) await step(CHUNK);
  }
  await step(n % CHUNK);
  for (const [sup, ids] of superiorsOfNew) await User.update({ superiorId: sup }, { where: { id: ids }, transaction: t });
  // people created disabled keep their successor as a record (an export of a disabled person imports back)
  for (const p of newPeople) if (p.successor !== undefined && p.fields.status === 'disabled') await User.update({ successorId: userId(p.successor) }, { where: { id: userId(p.key)! }, transaction: t });
  for (let i = 0; i < secondaryAdd.length; i += CHUNK) await UserDept.bulkCreate(secondaryAdd.slice(i, i + CHUNK), { transaction: t });

  // ---- roles
  const globalAdd: { userId: number; roleId: number }[] = [];
  const scopeAdd: { userId: number; roleId: number; deptId: number; subtree: boolean }[] = [];
  const roleName = (id: number) => s.roleById.get(id)?.code ?? String(id);
  const persons = new Set<Key>([...plan.people.map((p) => p.key), ...plan.roleWishes.keys()]);
  const isNew = new Set(plan.people.filter((p) => !p.existing).map((p) => p.key));
  for (const k of persons) {
    const d = roleDiff(plan, s, k, isNew.has(k));
    if (!d.addGlobal.length && !d.removeGlobal.length && !d.addScopes.length && !d.removeScopes.length) continue;
    const id = userId(k)!;
    touched.add(id);
    if (d.removeGlobal.length) await UserRole.destroy({ where: { userId: id, roleId: d.removeGlobal }, transaction: t });
    for (const x of d.removeScopes) await UserRoleScope.destroy({ where: { userId: id, roleId: x.roleId, deptId: x.deptId }, transaction: t });
    for (const r of d.addGlobal) globalAdd.push({ userId: id, roleId: r });
    for (const x of d.addScopes) scopeAdd.push({ userId: id, roleId: x.roleId, deptId: deptId(x.dept)!, subtree: x.subtree });
    if (!isNew.has(k) || plan.roleWishes.has(k)) {
      audits.push({
        action: 'org.person.roles',
        objectId: id,
        detail: {
          added: [...d.addGlobal.map(roleName), ...d.addScopes.map((x) => `${roleName(x.roleId)}@${deptCode(deptId(x.dept)!)}${x.subtree ? '' : '(不含下级)'}`)],
          removed: [...d.removeGlobal.map(roleName), ...d.removeScopes.map((x) => `${roleName(x.roleId)}@${deptCode(x.deptId)}`)],
          via: 'import',
        },
      });
    }
  }
  for (let i = 0; i < globalAdd.length; i += CHUNK) await UserRole.bulkCreate(globalAdd.slice(i, i + CHUNK), { transaction: t });
  for (let i = 0; i < scopeAdd.length; i += CHUNK) await UserRoleScope.bulkCreate(scopeAdd.slice(i, i + CHUNK), { transaction: t });
  await step(0);

  // ---- leadership (R12.0, M7): each department the file names leaders for, replaced as a whole
  const ids = (keys: Key[]) => keys.map((k) => userId(k)!);
  for (const item of plan.leadership) {
    const d = leaderDiff(item, s);
    const dept = deptId(item.dept)!;
    if (d.leadersChanged) {
      await DeptLeader.destroy({ where: { deptId: dept }, transaction: t });
      await DeptLeader.bulkCreate(
        [
          ...ids(d.heads).map((u, sort) => ({ deptId: dept, userId: u, kind: 'head' as const, sort })),
          ...ids(d.deputies).map((u, sort) => ({ deptId: dept, userId: u, kind: 'deputy' as const, sort })),
        ],
        { transaction: t },
      );
      audits.push({
        action: 'org.department.leaders',
        objectId: dept,
        detail: { before: { heads: ids(d.before.heads), deputies: ids(d.before.deputies) }, after: { heads: ids(d.heads), deputies: ids(d.deputies) }, via: 'import' },
      });
    }
    if (d.chargeChanged) {
      await LeaderInCharge.destroy({ where: { deptId: dept }, transaction: t });
      await LeaderInCharge.bulkCreate(
        ids(d.charge).map((u) => ({ userId: u, deptId: dept })),
        { transaction: t },
      );
      audits.push({ action: 'org.department.leaders_in_charge', objectId: dept, detail: { before: { userIds: ids(d.before.charge) }, after: { userIds: ids(d.charge) }, via: 'import' } });
    }
  }

  // ---- handovers: what a disabled person still leads passes to the successor (the file's own
  // leadership columns were applied first), and every registered handover moves their open work,
  // exactly as PeopleService.disable does
  const handovers = handoverRegistry({ db });
  for (const p of plan.people.filter(goingOff)) {
    const from = p.existing!.id;
    const to = userId(p.successor!)!;
    const moved = await handOverInUnit(db, handovers, uow, from, to);
    const successor = plan.people.find((x) => x.key === p.successor);
    audits.push({
      action: 'org.person.disable',
      objectId: from,
      detail: {
        before: { status: 'active' },
        after: { status: 'disabled', successorId: to },
        reason: '组织架构导入',
        successor: { id: to, name: successor?.fields.name ?? s.userById.get(to)?.name ?? '' },
        ...moved,
        via: 'import',
      },
    });
  }

  for (const a of audits) uow.audit({ action: a.action, objectType: a.action.startsWith('org.department') ? 'department' : 'user', objectId: a.objectId, detail: a.detail as Record<string, unknown> });
  return { touched: [...touched], disabled };
}

// ---------------------------------------------------------------- jobs

export interface ImportServiceDeps {
  db: Database;
  clock: Clock;
  /** after a real run: people whose roles or status changed reload; disabled people are signed out */
  afterCommit?: (r: WriteResult) => Promise<void>;
  log?: { error(obj: unknown, msg: string): void };
}

export interface StartImport {
  buffer: Buffer;
  fileId: number;
  fileName: string;
  dryRun: boolean;
  actor: Actor & { id: number };
  permissions: ReadonlySet<Permission>;
}

/** Jobs are kept in memory for an hour after they finish: the report is read right after. */
const KEEP_MS = 60 * 60_000;
const MAX_RUNNING = 2;

export class ImportService {
  private jobs = new Map<string, ImportJob>();
  private running = 0;
  private writing = false;

  constructor(private readonly deps: ImportServiceDeps) {}

  get(id: string, userId: number): ImportJob | null {
    this.sweep();
    const j = this.jobs.get(id);
    return j && j.userId === userId ? j : null;
  }

  /** The job at once; `finished` settles when it is done (or failed). */
  start(input: StartImport): { job: ImportJob; finished: Promise<ImportJob> } | { busy: string } {
    this.sweep();
    if (this.running >= MAX_RUNNING) return { busy: '已有导入任务在进行，请稍后再试' };
    if (!input.dryRun && this.writing) return { busy: '已有正式导入在进行，请等它完成后再试' };
    const job: ImportJob = {
      id: crypto.randomUUID(),
      userId: input.actor.id,
      fileId: input.fileId,
      fileName: input.fileName,
      dryRun: input.dryRun,
      status: 'reading',
      phase: '读取文件',
      percent: 0,
      done: 0,
      total: 0,
      startedAt: this.deps.clock.now(),
      finishedAt: null,
      report: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.running++;
    if (!input.dryRun) this.writing = true;
    const finished = this.run(job, input).finally(() => {
      this.running--;
      if (!input.dryRun) this.writing = false;
      job.finishedAt = this.deps.clock.now();
    });
    return { job, finished: finished.then(() => job) };
  }

  private sweep(): void {
    const now = this.deps.clock.now().getTime();
    for (const [id, j] of this.jobs) if (j.finishedAt && now - j.finishedAt.getTime() > KEEP_MS) this.jobs.delete(id);
  }

  private async run(job: ImportJob, input: StartImport): Promise<void> {
    const { db } = this.deps;
    const finish = (plan: Plan, counts: ImportCounts, applied: boolean) => {
      const problems = plan.problems;
      job.report = {
        dryRun: input.dryRun,
        ok: problems.length === 0,
        applied,
        problems: problems.slice(0, MAX_LISTED),
        problemCount: problems.length,
        truncated: problems.length > MAX_LISTED,
        rows: plan.rows,
        counts,
        changes: applied || input.dryRun ? totalChanges(counts) : 0,
      };
      job.status = problems.length && !input.dryRun ? 'failed' : 'done';
      job.phase = problems.length ? `发现 ${problems.length} 个问题${input.dryRun ? '' : '，未导入任何数据'}` : applied ? '导入完成' : '检查完成，可以导入';
      job.percent = 100;
    };
    try {
      const wb = await readWorkbook(input.buffer, (rows) => {
        job.done = rows;
        job.percent = Math.min(30, Math.round(rows / 200));
      });
      job.status = 'checking';
      job.phase = '检查数据';
      job.percent = 30;
      const snap = await loadSnapshot(db);
      const plan = planImport(wb, snap, input.permissions, input.actor.id);
      const counts = countPlan(plan, snap);
      if (plan.problems.length || input.dryRun) return finish(plan, counts, false);

      job.status = 'writing';
      job.phase = '写入数据';
      job.percent = 40;
      job.total = plan.depts.filter((d) => !d.existing).length + plan.people.length;
      job.done = 0;
      const actor: Actor = { ...input.actor };
      const written = await inUnitOfWork(db, actor, this.deps.clock.now(), async (uow) => {
        // checked again against the organisation as it is now, inside the transaction
        const s = await loadSnapshot(db, uow.t);
        const p = planImport(wb, s, input.permissions, input.actor.id);
        if (p.problems.length) throw new Refused(p);
        const c = countPlan(p, s);
        const w = await writePlan(db, uow, p, s, (done) => {
          job.done = done;
          job.percent = 40 + Math.round((59 * done) / Math.max(1, job.total));
        });
        uow.audit({
          action: 'org.import',
          objectType: 'file',
          objectId: input.fileId,
          detail: { fileName: input.fileName, rows: p.rows, counts: c },
        });
        return { plan: p, counts: c, w };
      });
      finish(written.plan, written.counts, true);
      await this.deps.afterCommit?.(written.w).catch((err: unknown) => this.deps.log?.error({ err }, 'import: session refresh failed'));
    } catch (err) {
      if (err instanceof Refused) {
        return finish(err.plan, emptyCounts(), false);
      }
      job.status = 'failed';
      job.percent = 100;
      if (err instanceof ImportConflict) job.error = err.message;
      else if (err instanceof UniqueConstraintError) job.error = '导入期间有部门编码、工号或登录名被其他操作占用，未导入任何数据，请重新导入';
      else {
        this.deps.log?.error({ err }, 'import failed');
        job.error = '导入失败，未导入任何数据；请稍后重试或联系管理员';
      }
      job.phase = job.error;
    }
  }
}
