import {
  Op,
  OptimisticLockError,
  UniqueConstraintError,
  col,
  fn,
  inUnitOfWork,
  type Actor,
  type AddressBook,
  type AddressBookEntry,
  type ContactPhone,
  type Database,
  type Transaction,
  type UnitOfWork,
  parseJsonColumn,
} from '@oa/db';
import type { Clock } from '../clock.ts';
import type { AccessService } from '../access/grants.ts';
import { AppError, badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';
import { SEARCH_LIMIT_MAX, type MatchKind, type PeopleSearch } from './search.ts';

/**
 * Address book (通讯录, issue 3 item 9, R11, R20.7).
 *
 * - Directory: the hospital by campus and department tree with active member counts, a paged
 *   list of active people (department tree order, then the person's sort), one person's card.
 *   A text query goes through the people search (R3.17: pinyin, initials, employee number), so
 *   the directory finds people exactly as every picker does. Phone rules: the work phone is
 *   visible to everyone signed in; the personal mobile only when the person made it public, to
 *   the person themself, and to org:manage (`mobile: null, mobileHidden: true` otherwise).
 * - Personal contacts: everyone's own address book; nobody else sees or touches it (404).
 * - Shared books (外院专家, 供应商 …): kept by holders of addressbook:manage, readable by the
 *   subjects granted `view` on resource ('addressbook', id) through the access-control service;
 *   unreadable books answer 404.
 *
 * An entry is external (name, organisation, title, labelled phones, email) or a reference to an
 * internal person, whose details are read from their record when shown (they stay current, and
 * the phone rules above apply to them). Books are bounded (PERSONAL_MAX, BOOK_MAX), so an entry
 * list is filtered, ordered and paged in memory: one read of the book, one of the people it
 * references. Every write is one unit of work with its audit row.
 */

export const ADDRESS_BOOK_RESOURCE = 'addressbook';
export const PERSONAL_MAX = 2_000;
export const BOOK_MAX = 5_000;
export const BOOKS_MAX = 500;
export const PHONES_MAX = 10;
export const TAGS_MAX = 20;

export interface Ref {
  id: number;
  name: string;
}

/** Who is looking: decides mobile visibility and which books are readable. */
export interface AbViewer {
  userId: number;
  /** org:manage: sees every mobile */
  orgManage: boolean;
  /** addressbook:manage: sees and keeps every shared book */
  bookManage: boolean;
}

/** One person as the directory shows them (R20.7). */
export interface DirectoryCard {
  id: number;
  name: string;
  employeeNo: string | null;
  dept: Ref | null;
  secondaryDepts: Ref[];
  campus: Ref | null;
  post: Ref | null;
  position: Ref | null;
  title: Ref | null;
  workPhone: string | null;
  email: string | null;
  /** null when hidden (see mobileHidden) or when the person has none */
  mobile: string | null;
  /** the viewer may not see this person's mobile */
  mobileHidden: boolean;
}

export interface DirectoryQuery {
  campusId?: number;
  deptId?: number;
  includeSubtree: boolean;
  q?: string;
  page: number;
  pageSize: number;
}

export interface DirectoryPage {
  total: number;
  page: number;
  pageSize: number;
  /** with `q`: the search returned its maximum; refine the query to see the rest */
  truncated: boolean;
  items: (DirectoryCard & { match: MatchKind | null })[];
}

export interface TreeNode {
  id: number;
  name: string;
  /** active people whose primary or secondary department this is */
  memberCount: number;
  /** distinct active people in this department and below */
  totalCount: number;
  children: TreeNode[];
}

export interface CampusNode {
  /** null: departments belonging to no campus (hospital-wide offices) */
  id: number | null;
  name: string;
  memberCount: number;
  departments: TreeNode[];
}

export interface EntryInput {
  personId?: number;
  name?: string;
  organisation?: string | null;
  title?: string | null;
  phones?: ContactPhone[];
  email?: string | null;
  note?: string | null;
  tags?: string[];
  sort?: number;
}

export type EntryPatch = Omit<EntryInput, 'personId'> & { version: number };

export interface EntryView {
  id: number;
  kind: 'external' | 'internal';
  bookId: number | null;
  name: string;
  organisation: string | null;
  title: string | null;
  phones: ContactPhone[];
  email: string | null;
  note: string | null;
  tags: string[];
  sort: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** internal entries: the person's current card; `active: false` once they left (no contact details) */
  person: (DirectoryCard & { active: true }) | { id: number; name: string; active: false } | null;
}

export interface EntryListQuery {
  q?: string;
  tag?: string;
  page: number;
  pageSize: number;
}

export interface BookView {
  id: number;
  name: string;
  description: string | null;
  sort: number;
  entryCount: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** the viewer keeps shared books (addressbook:manage) */
  canManage: boolean;
}

export interface BookInput {
  name: string;
  description?: string | null;
  sort?: number;
}

/** Where entries live: a person's own address book or a shared book. */
export type Scope = { kind: 'personal'; ownerId: number } | { kind: 'book'; bookId: number };

const scopeWhere = (s: Scope) => (s.kind === 'personal' ? { ownerId: s.ownerId, bookId: null } : { bookId: s.bookId });
const field = (path: string, message: string): FieldError[] => [{ path, message }];
const norm = (s: string) => s.normalize('NFKC').trim().toLowerCase();
const STALE_ENTRY = '该联系人已被他人修改，请刷新后重新编辑';
const STALE_BOOK = '该通讯录已被他人修改，请刷新后重新编辑';
const MISSING_ENTRY = '联系人不存在';
const MISSING_BOOK = '通讯录不存在';

// ---------------------------------------------------------------- the organisation frame

interface DeptInfo {
  id: number;
  name: string;
  parentId: number | null;
  enabled: boolean;
  /** its own campus or the nearest ancestor's */
  campusId: number | null;
  children: number[];
  /** position in tree order (siblings by sort, then id; depth first) */
  order: number;
}

interface OrgFrame {
  depts: Map<number, DeptInfo>;
  roots: number[];
  campuses: { id: number; name: string }[];
}

/** Departments in tree order with their effective campus: from parent links, cycle-safe. */
async function loadFrame(db: Database, t?: Transaction): Promise<OrgFrame> {
  const { Department, Campus } = db.models;
  const [rows, campuses] = await Promise.all([
    Department.findAll({ attributes: ['id', 'name', 'parentId', 'campusId', 'sort', 'enabled'], raw: true, transaction: t }),
    Campus.findAll({ attributes: ['id', 'name', 'sort'], raw: true, transaction: t }),
  ]);
  const sortOf = new Map(rows.map((r) => [r.id, r.sort]));
  const depts = new Map<number, DeptInfo & { own: number | null }>(
    rows.map((r) => [r.id, { id: r.id, name: r.name, parentId: r.parentId, enabled: !!r.enabled, campusId: null, own: r.campusId, children: [], order: -1 }]),
  );
  const roots: number[] = [];
  for (const d of depts.values()) {
    const p = d.parentId !== null && d.parentId !== d.id ? depts.get(d.parentId) : undefined;
    if (p) p.children.push(d.id);
    else roots.push(d.id);
  }
  const bySort = (a: number, b: number) => sortOf.get(a)! - sortOf.get(b)! || a - b;
  for (const d of depts.values()) d.children.sort(bySort);
  roots.sort(bySort);
  let next = 0;
  const visit = (id: number, inherited: number | null) => {
    const stack: [number, number | null][] = [[id, inherited]];
    while (stack.length) {
      const [cur, inh] = stack.pop()!;
      const d = depts.get(cur)!;
      if (d.order >= 0) continue; // a cycle must not hang the directory
      d.order = next++;
      d.campusId = d.own ?? inh;
      for (let i = d.children.length - 1; i >= 0; i--) stack.push([d.children[i]!, d.campusId]);
    }
  };
  for (const r of roots) visit(r, null);
  for (const id of [...depts.keys()].sort(bySort)) visit(id, null); // departments caught in a cycle
  return {
    depts,
    roots,
    campuses: [...campuses].sort((a, b) => a.sort - b.sort || a.id - b.id).map((c) => ({ id: c.id, name: c.name })),
  };
}

function subtreeOf(f: OrgFrame, deptId: number): Set<number> {
  const out = new Set<number>();
  const stack = f.depts.has(deptId) ? [deptId] : [];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...f.depts.get(id)!.children);
  }
  return out;
}

// ---------------------------------------------------------------- people cards

const CARD_ATTRS = ['id', 'name', 'employeeNo', 'deptId', 'postId', 'titleId', 'positionId', 'workPhone', 'mobile', 'mobilePublic', 'email', 'status', 'pinyin', 'pinyinInitials'] as const;

interface CardRow {
  card: DirectoryCard;
  active: boolean;
  pinyin: string;
  initials: string;
}

/** Cards of these people (any status) in a fixed number of queries. */
async function loadCards(db: Database, frame: OrgFrame, ids: number[], viewer: AbViewer, t?: Transaction): Promise<Map<number, CardRow>> {
  if (!ids.length) return new Map();
  const { User, UserDept, Post, Title, Position } = db.models;
  const users = await User.findAll({ where: { id: ids }, attributes: [...CARD_ATTRS], raw: true, transaction: t });
  const secondary = await UserDept.findAll({ where: { userId: ids }, attributes: ['userId', 'deptId'], raw: true, transaction: t });
  const want = (k: 'postId' | 'titleId' | 'positionId') => [...new Set(users.map((u) => u[k]).filter((x): x is number => x !== null))];
  const names = async (model: typeof Post, list: number[]) =>
    new Map(list.length ? (await model.findAll({ where: { id: list }, attributes: ['id', 'name'], raw: true, transaction: t })).map((r) => [r.id, r.name]) : []);
  const [posts, titles, positions] = await Promise.all([
    names(Post, want('postId')),
    names(Title as unknown as typeof Post, want('titleId')),
    names(Position as unknown as typeof Post, want('positionId')),
  ]);
  const ref = (m: Map<number, string>, id: number | null): Ref | null => (id !== null && m.has(id) ? { id, name: m.get(id)! } : null);
  const deptRef = (id: number | null): Ref | null => (id !== null && frame.depts.has(id) ? { id, name: frame.depts.get(id)!.name } : null);
  const campusName = new Map(frame.campuses.map((c) => [c.id, c.name]));
  const secondaryOf = new Map<number, number[]>();
  for (const s of secondary) (secondaryOf.get(s.userId) ?? secondaryOf.set(s.userId, []).get(s.userId)!).push(s.deptId);
  const out = new Map<number, CardRow>();
  for (const u of users) {
    const showMobile = viewer.orgManage || !!u.mobilePublic || u.id === viewer.userId;
    const campusId = u.deptId !== null ? (frame.depts.get(u.deptId)?.campusId ?? null) : null;
    const sec = (secondaryOf.get(u.id) ?? [])
      .filter((d) => d !== u.deptId)
      .map(deptRef)
      .filter((r): r is Ref => r !== null)
      .sort((a, b) => frame.depts.get(a.id)!.order - frame.depts.get(b.id)!.order);
    out.set(u.id, {
      active: u.status === 'active',
      pinyin: u.pinyin ?? '',
      initials: u.pinyinInitials ?? '',
      card: {
        id: u.id,
        name: u.name,
        employeeNo: u.employeeNo,
        dept: deptRef(u.deptId),
        secondaryDepts: sec,
        campus: campusId !== null && campusName.has(campusId) ? { id: campusId, name: campusName.get(campusId)! } : null,
        post: ref(posts, u.postId),
        position: ref(positions, u.positionId),
        title: ref(titles, u.titleId),
        workPhone: u.workPhone,
        email: u.email,
        mobile: showMobile ? u.mobile : null,
        mobileHidden: !showMobile,
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------- the directory

export class DirectoryService {
  constructor(
    private readonly db: Database,
    private readonly search: PeopleSearch,
  ) {}

  /** Campuses → department trees with active member counts (R11, R20.7). */
  async tree(): Promise<{ campuses: CampusNode[] }> {
    const { User, UserDept } = this.db.models;
    const frame = await loadFrame(this.db);
    const [users, secondary] = await Promise.all([
      User.findAll({ where: { status: 'active' }, attributes: ['id', 'deptId'], raw: true }),
      UserDept.findAll({ attributes: ['userId', 'deptId'], raw: true }),
    ]);
    const active = new Set(users.map((u) => u.id));
    const deptsOf = new Map<number, Set<number>>();
    const add = (userId: number, deptId: number | null) => {
      if (deptId === null || !frame.depts.has(deptId)) return;
      (deptsOf.get(userId) ?? deptsOf.set(userId, new Set()).get(userId)!).add(deptId);
    };
    for (const u of users) add(u.id, u.deptId);
    for (const s of secondary) if (active.has(s.userId)) add(s.userId, s.deptId);
    const direct = new Map<number, number>();
    const total = new Map<number, number>();
    const campusCount = new Map<number | null, number>();
    for (const ds of deptsOf.values()) {
      const above = new Set<number>();
      const campuses = new Set<number | null>();
      for (const d of ds) {
        direct.set(d, (direct.get(d) ?? 0) + 1);
        campuses.add(frame.depts.get(d)!.campusId);
        // walk up the parent chain (bounded: a cycle stops at a department already seen)
        for (let cur: number | null = d; cur !== null && !above.has(cur); ) {
          above.add(cur);
          const p: number | null = frame.depts.get(cur)!.parentId;
          cur = p !== null && frame.depts.has(p) ? p : null;
        }
      }
      for (const d of above) total.set(d, (total.get(d) ?? 0) + 1);
      for (const c of campuses) campusCount.set(c, (campusCount.get(c) ?? 0) + 1);
    }
    // Each campus shows the departments whose effective campus it is; a department whose parent
    // is in another campus (or in none) starts a tree of its own there. Disabled departments and
    // what lies below them are left out.
    const build = (id: number, seen: Set<number>): TreeNode => {
      seen.add(id);
      const d = frame.depts.get(id)!;
      return {
        id,
        name: d.name,
        memberCount: direct.get(id) ?? 0,
        totalCount: total.get(id) ?? 0,
        children: d.children
          .filter((c) => !seen.has(c) && frame.depts.get(c)!.enabled && frame.depts.get(c)!.campusId === d.campusId)
          .map((c) => build(c, seen)),
      };
    };
    const startsTree = (d: DeptInfo) => {
      const p = d.parentId !== null ? frame.depts.get(d.parentId) : undefined;
      return !p || p.id === d.id || p.campusId !== d.campusId;
    };
    const liveAbove = (d: DeptInfo) => {
      const seen = new Set<number>();
      for (let cur: DeptInfo | undefined = d; cur && !seen.has(cur.id); cur = cur.parentId !== null ? frame.depts.get(cur.parentId) : undefined) {
        if (!cur.enabled) return false;
        seen.add(cur.id);
      }
      return true;
    };
    const ordered = [...frame.depts.values()].sort((a, b) => a.order - b.order);
    const groups: CampusNode[] = [{ id: null, name: '全院', memberCount: campusCount.get(null) ?? 0, departments: [] }, ...frame.campuses.map((c) => ({ ...c, memberCount: campusCount.get(c.id) ?? 0, departments: [] as TreeNode[] }))];
    const byCampus = new Map(groups.map((g) => [g.id, g]));
    const seen = new Set<number>();
    for (const d of ordered) {
      if (seen.has(d.id) || !startsTree(d) || !liveAbove(d)) continue;
      byCampus.get(d.campusId)?.departments.push(build(d.id, seen));
    }
    return { campuses: groups.filter((g) => g.id !== null || g.departments.length) };
  }

  /** A page of active people: by department tree order then sort, or by relevance with `q`. */
  async list(q: DirectoryQuery, viewer: AbViewer): Promise<DirectoryPage> {
    const { User, UserDept } = this.db.models;
    const frame = await loadFrame(this.db);
    if (q.deptId !== undefined && !frame.depts.has(q.deptId)) throw badRequest('部门不存在', field('query.deptId', '部门不存在'), 'DEPT_NOT_FOUND');
    if (q.campusId !== undefined && !frame.campuses.some((c) => c.id === q.campusId)) throw badRequest('院区不存在', field('query.campusId', '院区不存在'), 'CAMPUS_NOT_FOUND');
    const start = (q.page - 1) * q.pageSize;

    if (q.q) {
      // the people search (R3.17): one ranking for every picker and the directory
      const hits = await this.search.search({ q: q.q, deptId: q.deptId, includeSubtree: q.includeSubtree, campusId: q.campusId, activeOnly: true, limit: SEARCH_LIMIT_MAX });
      // at most SEARCH_LIMIT_MAX cards; people placed in no department (system accounts) are left out
      const cards = await loadCards(this.db, frame, hits.map((h) => h.id), viewer);
      const found = hits.flatMap((h) => {
        const c = cards.get(h.id);
        return c && c.active && (c.card.dept || c.card.secondaryDepts.length) ? [{ ...c.card, match: h.match }] : [];
      });
      return { total: found.length, page: q.page, pageSize: q.pageSize, truncated: hits.length >= SEARCH_LIMIT_MAX, items: found.slice(start, start + q.pageSize) };
    }

    let depts: Set<number> | null = null;
    if (q.deptId !== undefined) depts = q.includeSubtree ? subtreeOf(frame, q.deptId) : new Set([q.deptId]);
    if (q.campusId !== undefined) depts = new Set([...(depts ?? frame.depts.keys())].filter((d) => frame.depts.get(d)!.campusId === q.campusId));
    const secondary = depts === null ? [] : depts.size ? await UserDept.findAll({ where: { deptId: [...depts] }, attributes: ['userId', 'deptId'], raw: true }) : [];
    // without a filter: everyone placed in a department (system accounts without one are left out)
    const where =
      depts === null
        ? { status: 'active', [Op.or]: [{ deptId: { [Op.ne]: null } }, { id: (await UserDept.findAll({ attributes: ['userId'], raw: true })).map((s) => s.userId) }] }
        : { status: 'active', [Op.or]: [{ deptId: [...depts] }, ...(secondary.length ? [{ id: [...new Set(secondary.map((s) => s.userId))] }] : [])] };
    const users = depts !== null && !depts.size ? [] : await User.findAll({ where, attributes: ['id', 'deptId', 'sort', 'pinyin'], raw: true });
    // a person listed through a secondary department sorts under that department
    const secondaryIn = new Map<number, number[]>();
    for (const s of secondary) (secondaryIn.get(s.userId) ?? secondaryIn.set(s.userId, []).get(s.userId)!).push(s.deptId);
    const orderOf = (d: number | null | undefined) => (d !== null && d !== undefined && frame.depts.has(d) ? frame.depts.get(d)!.order : Number.MAX_SAFE_INTEGER);
    const keyed = users.map((u) => {
      let at = orderOf(u.deptId);
      if (depts !== null && (u.deptId === null || !depts.has(u.deptId))) at = Math.min(...(secondaryIn.get(u.id) ?? []).map(orderOf), Number.MAX_SAFE_INTEGER);
      return { id: u.id, at, sort: u.sort ?? 0, pinyin: u.pinyin ?? '' };
    });
    keyed.sort((a, b) => a.at - b.at || a.sort - b.sort || (a.pinyin < b.pinyin ? -1 : a.pinyin > b.pinyin ? 1 : 0) || a.id - b.id);
    const ids = keyed.slice(start, start + q.pageSize).map((k) => k.id);
    const cards = await loadCards(this.db, frame, ids, viewer);
    return {
      total: keyed.length,
      page: q.page,
      pageSize: q.pageSize,
      truncated: false,
      items: ids.flatMap((id) => {
        const c = cards.get(id);
        return c && c.active ? [{ ...c.card, match: null }] : [];
      }),
    };
  }

  /** One active person's card; disabled or unknown people are not in the directory (404). */
  async card(id: number, viewer: AbViewer): Promise<DirectoryCard> {
    const frame = await loadFrame(this.db);
    const c = (await loadCards(this.db, frame, [id], viewer)).get(id);
    if (!c || !c.active) throw notFound('通讯录中没有此人');
    return c.card;
  }
}

// ---------------------------------------------------------------- entries and books

type EntryRow = Pick<
  AddressBookEntry,
  | 'id'
  | 'bookId'
  | 'ownerId'
  | 'personId'
  | 'name'
  | 'organisation'
  | 'title'
  | 'phones'
  | 'email'
  | 'note'
  | 'tags'
  | 'pinyin'
  | 'pinyinInitials'
  | 'sort'
  | 'version'
  | 'createdAt'
  | 'updatedAt'
>;

const EXTERNAL_FIELDS = ['name', 'organisation', 'title', 'phones', 'email'] as const;

/** What the audit keeps of an entry. */
function entrySnapshot(e: EntryRow): Record<string, unknown> {
  return {
    bookId: e.bookId,
    ownerId: e.ownerId,
    personId: e.personId,
    name: e.name,
    organisation: e.organisation,
    title: e.title,
    phones: e.phones ?? [],
    email: e.email,
    note: e.note,
    tags: e.tags ?? [],
    sort: e.sort,
  };
}

function cleanTags(tags: string[] | undefined): string[] | undefined {
  if (!tags) return tags;
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
}

interface Prepared {
  personId: number | null;
  name: string | null;
  organisation: string | null;
  title: string | null;
  phones: ContactPhone[] | null;
  email: string | null;
  note: string | null;
  tags: string[] | null;
  sort: number;
}

export class AddressBookService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly access: AccessService,
  ) {}

  // ---- books ------------------------------------------------------------------------------

  /** The shared books the viewer may read (all of them for addressbook:manage), by sort then name. */
  async listBooks(viewer: AbViewer): Promise<BookView[]> {
    const { AddressBook } = this.db.models;
    let where = {};
    if (!viewer.bookManage) {
      const ids = (await this.access.allowedIds(viewer.userId, 'view', ADDRESS_BOOK_RESOURCE)).filter((x) => /^\d+$/.test(x)).map(Number);
      if (!ids.length) return [];
      where = { id: ids };
    }
    const rows = await AddressBook.findAll({
      where,
      order: [
        ['sort', 'ASC'],
        ['name', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    });
    return this.bookViews(rows, viewer);
  }

  private async bookViews(rows: AddressBook[], viewer: AbViewer, t?: Transaction): Promise<BookView[]> {
    const ids = rows.map((r) => r.id);
    const counts = ids.length
      ? ((await this.db.models.AddressBookEntry.findAll({
          where: { bookId: ids },
          attributes: ['bookId', [fn('COUNT', col('id')), 'n']],
          group: [col('book_id')],
          raw: true,
          transaction: t,
        })) as unknown as { bookId: number; n: number | string }[])
      : [];
    const countOf = new Map(counts.map((c) => [Number(c.bookId), Number(c.n)]));
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      sort: r.sort,
      entryCount: countOf.get(r.id) ?? 0,
      version: r.version,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      canManage: viewer.bookManage,
    }));
  }

  /** A book the viewer may read; otherwise 404 (whether it exists is not told). */
  async readableBook(id: number, viewer: AbViewer, t?: Transaction): Promise<AddressBook> {
    const book = (await this.db.models.AddressBook.findByPk(id, { raw: true, transaction: t })) as AddressBook | null;
    if (!book) throw notFound(MISSING_BOOK);
    if (!viewer.bookManage && !(await this.access.can(viewer.userId, 'view', { type: ADDRESS_BOOK_RESOURCE, id }))) throw notFound(MISSING_BOOK);
    return book;
  }

  async getBook(id: number, viewer: AbViewer): Promise<BookView> {
    return (await this.bookViews([await this.readableBook(id, viewer)], viewer))[0]!;
  }

  private async checkBookName(name: string, selfId: number | null, t: Transaction): Promise<void> {
    const other = await this.db.models.AddressBook.findOne({ where: { name, ...(selfId !== null ? { id: { [Op.ne]: selfId } } : {}) }, attributes: ['id'], transaction: t });
    if (other) throw conflict(`已有名为「${name}」的公共通讯录`, 'ADDRESS_BOOK_NAME_TAKEN');
  }

  async createBook(input: BookInput, actor: Actor, viewer: AbViewer): Promise<BookView> {
    const { AddressBook } = this.db.models;
    const id = await this.write(actor, async (uow) => {
      if ((await AddressBook.count({ transaction: uow.t })) >= BOOKS_MAX) throw conflict(`公共通讯录最多 ${BOOKS_MAX} 个`, 'ADDRESS_BOOK_LIMIT');
      await this.checkBookName(input.name, null, uow.t);
      const b = await AddressBook.create(
        { name: input.name, description: input.description ?? null, sort: input.sort ?? 0, createdBy: actor.id, updatedBy: actor.id },
        { transaction: uow.t },
      );
      uow.audit({ action: 'addressbook.book.create', objectType: 'address_book', objectId: b.id, detail: { before: null, after: { name: b.name, description: b.description, sort: b.sort } } });
      return b.id;
    });
    return this.getBook(id, viewer);
  }

  async updateBook(id: number, patch: Partial<BookInput> & { version: number }, actor: Actor, viewer: AbViewer): Promise<BookView> {
    await this.write(actor, async (uow) => {
      const b = await this.lockBook(id, uow.t);
      if (b.version !== patch.version) throw conflict(STALE_BOOK, 'VERSION_CONFLICT');
      const before = { name: b.name, description: b.description, sort: b.sort };
      const after = { name: patch.name ?? b.name, description: patch.description === undefined ? b.description : patch.description, sort: patch.sort ?? b.sort };
      if (JSON.stringify(before) === JSON.stringify(after)) return;
      if (after.name !== b.name) await this.checkBookName(after.name, id, uow.t);
      await b.update({ ...after, updatedBy: actor.id }, { transaction: uow.t });
      uow.audit({ action: 'addressbook.book.update', objectType: 'address_book', objectId: id, detail: { before, after } });
    });
    return this.getBook(id, viewer);
  }

  /** Delete a book with its entries and the grants that shared it. */
  async deleteBook(id: number, actor: Actor): Promise<void> {
    const { AddressBookEntry, AccessGrant } = this.db.models;
    await this.write(actor, async (uow) => {
      const b = await this.lockBook(id, uow.t);
      const entries = await AddressBookEntry.count({ where: { bookId: id }, transaction: uow.t });
      await AddressBookEntry.destroy({ where: { bookId: id }, transaction: uow.t });
      // The access-control service has no call for "forget a resource" that joins a caller's unit
      // of work; its hooks see this delete and drop the cached decisions after commit.
      const grants = await AccessGrant.findAll({ where: { resourceType: ADDRESS_BOOK_RESOURCE, resourceId: String(id) }, raw: true, transaction: uow.t });
      if (grants.length) await AccessGrant.destroy({ where: { resourceType: ADDRESS_BOOK_RESOURCE, resourceId: String(id) }, transaction: uow.t });
      await b.destroy({ transaction: uow.t });
      uow.audit({
        action: 'addressbook.book.delete',
        objectType: 'address_book',
        objectId: id,
        detail: {
          before: {
            name: b.name,
            description: b.description,
            entries,
            grants: grants.map((g) => ({ id: g.id, subjectType: g.subjectType, subjectId: g.subjectId, subtree: !!g.subtree, action: g.action, effect: g.effect })),
          },
          after: null,
        },
      });
    });
  }

  private async lockBook(id: number, t: Transaction): Promise<AddressBook> {
    const b = await this.db.models.AddressBook.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
    if (!b) throw notFound(MISSING_BOOK);
    return b;
  }

  // ---- entries ----------------------------------------------------------------------------

  /** One page of a scope's entries: filtered by text and tag, ordered by sort, then name's pinyin. */
  async listEntries(scope: Scope, q: EntryListQuery, viewer: AbViewer): Promise<{ total: number; page: number; pageSize: number; items: EntryView[]; tags: string[] }> {
    const rows = (await this.db.models.AddressBookEntry.findAll({ where: scopeWhere(scope), raw: true })) as EntryRow[];
    const { views, keys } = await this.entryViews(rows, viewer);
    const allTags = [...new Set(views.flatMap((v) => v.tags))].sort((a, b) => a.localeCompare(b, 'zh-Hans-CN'));
    let list = views.map((v, i) => ({ v, k: keys[i]! }));
    if (q.tag) list = list.filter((x) => x.v.tags.includes(q.tag!));
    if (q.q) {
      const needle = norm(q.q);
      const latin = /^[a-z0-9 ]+$/.test(needle) ? needle.replace(/ /g, '') : null;
      const digits = /^[\d\s+-]+$/.test(needle) ? needle.replace(/\D/g, '') : null;
      list = list.filter(({ v, k }) => {
        if (norm(v.name).includes(needle)) return true;
        if (latin && (k.pinyin.split(' ').some((p) => p.startsWith(latin)) || k.initials.split(' ').some((i) => i.startsWith(latin)))) return true;
        if (v.organisation && norm(v.organisation).includes(needle)) return true;
        if (v.title && norm(v.title).includes(needle)) return true;
        if (v.email && norm(v.email).includes(needle)) return true;
        if (digits && digits.length >= 3 && v.phones.some((p) => p.number.replace(/\D/g, '').includes(digits))) return true;
        if (v.person && v.person.active && v.person.employeeNo && norm(v.person.employeeNo) === needle) return true;
        return v.tags.some((t) => norm(t) === needle);
      });
    }
    list.sort((a, b) => a.v.sort - b.v.sort || (a.k.pinyin < b.k.pinyin ? -1 : a.k.pinyin > b.k.pinyin ? 1 : 0) || a.v.id - b.v.id);
    const start = (q.page - 1) * q.pageSize;
    return { total: list.length, page: q.page, pageSize: q.pageSize, items: list.slice(start, start + q.pageSize).map((x) => x.v), tags: allTags };
  }

  /** Every entry of a scope in display order (export). */
  async allEntries(scope: Scope, viewer: AbViewer): Promise<EntryView[]> {
    return (await this.listEntries(scope, { page: 1, pageSize: BOOK_MAX + PERSONAL_MAX }, viewer)).items;
  }

  async getEntry(scope: Scope, id: number, viewer: AbViewer, t?: Transaction): Promise<EntryView> {
    const row = (await this.db.models.AddressBookEntry.findOne({ where: { id, ...scopeWhere(scope) }, raw: true, transaction: t })) as EntryRow | null;
    if (!row) throw notFound(MISSING_ENTRY);
    return (await this.entryViews([row], viewer, t)).views[0]!;
  }

  private async entryViews(rows: EntryRow[], viewer: AbViewer, t?: Transaction): Promise<{ views: EntryView[]; keys: { pinyin: string; initials: string }[] }> {
    const personIds = [...new Set(rows.map((r) => r.personId).filter((x): x is number => x !== null))];
    const cards = personIds.length ? await loadCards(this.db, await loadFrame(this.db, t), personIds, viewer, t) : new Map<number, CardRow>();
    const keys: { pinyin: string; initials: string }[] = [];
    const views = rows.map((r): EntryView => {
      // read raw: the JSON text columns arrive unparsed
      const tags = parseJsonColumn<string[]>(r.tags) ?? [];
      const base = {
        id: r.id,
        bookId: r.bookId,
        note: r.note,
        tags,
        sort: r.sort ?? 0,
        version: r.version,
        createdAt: new Date(r.createdAt),
        updatedAt: new Date(r.updatedAt),
      };
      if (r.personId === null) {
        keys.push({ pinyin: r.pinyin ?? '', initials: r.pinyinInitials ?? '' });
        return { ...base, kind: 'external', name: r.name ?? '', organisation: r.organisation, title: r.title, phones: parseJsonColumn<ContactPhone[]>(r.phones) ?? [], email: r.email, person: null };
      }
      const c = cards.get(r.personId);
      keys.push({ pinyin: c?.pinyin ?? '', initials: c?.initials ?? '' });
      if (!c || !c.active) {
        // someone who left: kept by name, without contact details
        return { ...base, kind: 'internal', name: c?.card.name ?? '（已删除人员）', organisation: null, title: null, phones: [], email: null, person: { id: r.personId, name: c?.card.name ?? '', active: false } };
      }
      const card = c.card;
      const phones: ContactPhone[] = [];
      if (card.workPhone) phones.push({ label: '办公电话', number: card.workPhone });
      if (card.mobile) phones.push({ label: '手机', number: card.mobile });
      return {
        ...base,
        kind: 'internal',
        name: card.name,
        organisation: card.dept?.name ?? null,
        title: card.position?.name ?? card.title?.name ?? null,
        phones,
        email: card.email,
        person: { ...card, active: true },
      };
    });
    return { views, keys };
  }

  /** Checks an entry's fields (all problems at once, with field paths) and normalises them. */
  private async prepare(input: EntryInput, t: Transaction, path = ''): Promise<Prepared> {
    const errors: FieldError[] = [];
    const p = (k: string) => `${path}${k}`;
    if (input.personId !== undefined) {
      for (const k of EXTERNAL_FIELDS) {
        if (input[k] !== undefined && input[k] !== null) errors.push({ path: p(k), message: '引用院内人员时，姓名和联系方式随人员信息自动更新，不能另填' });
      }
      const person = await this.db.models.User.findByPk(input.personId, { attributes: ['id', 'status'], raw: true, transaction: t });
      if (!person || person.status !== 'active') errors.push({ path: p('personId'), message: '院内人员不存在或已停用' });
    } else if (!input.name) {
      errors.push({ path: p('name'), message: '请填写姓名，或选择院内人员（personId）' });
    }
    if (errors.length) throw badRequest(`联系人信息有误：${errors[0]!.message}`, errors, 'INVALID_CONTACT');
    return {
      personId: input.personId ?? null,
      name: input.personId !== undefined ? null : (input.name ?? null),
      organisation: input.organisation ?? null,
      title: input.title ?? null,
      phones: input.personId !== undefined ? null : (input.phones ?? []),
      email: input.email ?? null,
      note: input.note ?? null,
      tags: cleanTags(input.tags) ?? [],
      sort: input.sort ?? 0,
    };
  }

  /** The scope accepts `n` more entries; internal people at most once per scope. */
  private async checkRoom(scope: Scope, add: Prepared[], t: Transaction): Promise<void> {
    const { AddressBookEntry } = this.db.models;
    const max = scope.kind === 'personal' ? PERSONAL_MAX : BOOK_MAX;
    // A shared book's writes are serialised by the lock on its row; a personal book has no row of
    // its own, so its entries are read with a lock (on MariaDB the index range too): two parallel
    // additions cannot both see room for one more.
    const count =
      scope.kind === 'book'
        ? await AddressBookEntry.count({ where: scopeWhere(scope), transaction: t })
        : (await AddressBookEntry.findAll({ where: scopeWhere(scope), attributes: ['id'], raw: true, transaction: t, lock: t.LOCK.UPDATE })).length;
    if (count + add.length > max) {
      const what = scope.kind === 'personal' ? '个人通讯录' : '该公共通讯录';
      throw conflict(`${what}最多 ${max} 位联系人，现有 ${count} 位${add.length > 1 ? `，无法再添加 ${add.length} 位` : '，请先删除不再需要的联系人'}`, 'ADDRESS_BOOK_FULL');
    }
    const ids = add.map((a) => a.personId).filter((x): x is number => x !== null);
    if (ids.length) {
      const dup = await AddressBookEntry.findOne({ where: { ...scopeWhere(scope), personId: ids }, attributes: ['personId'], raw: true, transaction: t });
      if (dup) throw conflict('该院内人员已在通讯录中', 'CONTACT_EXISTS');
      if (new Set(ids).size !== ids.length) throw conflict('同一院内人员不能重复添加', 'CONTACT_EXISTS');
    }
  }

  private ownerOf(scope: Scope): { bookId: number | null; ownerId: number | null } {
    return scope.kind === 'personal' ? { bookId: null, ownerId: scope.ownerId } : { bookId: scope.bookId, ownerId: null };
  }

  private auditType(scope: Scope) {
    return scope.kind === 'personal' ? 'addressbook.personal' : 'addressbook.entry';
  }

  async createEntry(scope: Scope, input: EntryInput, actor: Actor, viewer: AbViewer): Promise<EntryView> {
    const { AddressBookEntry } = this.db.models;
    const id = await this.write(actor, async (uow) => {
      if (scope.kind === 'book') await this.lockBook(scope.bookId, uow.t);
      const data = await this.prepare(input, uow.t);
      await this.checkRoom(scope, [data], uow.t);
      const e = await AddressBookEntry.create({ ...data, ...this.ownerOf(scope), createdBy: actor.id, updatedBy: actor.id }, { transaction: uow.t });
      uow.audit({ action: `${this.auditType(scope)}.create`, objectType: 'address_book_entry', objectId: e.id, detail: { before: null, after: entrySnapshot(e) } });
      return e.id;
    });
    return this.getEntry(scope, id, viewer);
  }

  async updateEntry(scope: Scope, id: number, patch: EntryPatch, actor: Actor, viewer: AbViewer): Promise<EntryView> {
    await this.write(actor, async (uow) => {
      if (scope.kind === 'book') await this.lockBook(scope.bookId, uow.t);
      const e = await this.db.models.AddressBookEntry.findOne({ where: { id, ...scopeWhere(scope) }, transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!e) throw notFound(MISSING_ENTRY);
      if (e.version !== patch.version) throw conflict(STALE_ENTRY, 'VERSION_CONFLICT');
      const errors: FieldError[] = [];
      if (e.personId !== null) {
        for (const k of EXTERNAL_FIELDS) if (patch[k] !== undefined) errors.push({ path: k, message: '院内人员的姓名和联系方式随人员信息自动更新，不能修改' });
      } else if (patch.name === null || patch.name === '') {
        errors.push({ path: 'name', message: '姓名不能为空' });
      }
      if (errors.length) throw badRequest(`联系人信息有误：${errors[0]!.message}`, errors, 'INVALID_CONTACT');
      const before = entrySnapshot(e);
      const changes: Partial<Prepared> = {};
      for (const k of ['name', 'organisation', 'title', 'phones', 'email', 'note', 'tags', 'sort'] as const) {
        if (patch[k] !== undefined) (changes as Record<string, unknown>)[k] = k === 'tags' ? cleanTags(patch.tags) : patch[k];
      }
      const after = { ...before, ...changes };
      if (JSON.stringify(before) === JSON.stringify(after)) return;
      e.set({ ...changes, updatedBy: actor.id });
      // the model's version column adds `WHERE version = …` and increments it
      await e.save({ transaction: uow.t });
      uow.audit({ action: `${this.auditType(scope)}.update`, objectType: 'address_book_entry', objectId: id, detail: { before, after: entrySnapshot(e) } });
    });
    return this.getEntry(scope, id, viewer);
  }

  async deleteEntry(scope: Scope, id: number, actor: Actor): Promise<void> {
    await this.write(actor, async (uow) => {
      if (scope.kind === 'book') await this.lockBook(scope.bookId, uow.t);
      const e = await this.db.models.AddressBookEntry.findOne({ where: { id, ...scopeWhere(scope) }, transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!e) throw notFound(MISSING_ENTRY);
      const before = entrySnapshot(e);
      await e.destroy({ transaction: uow.t });
      uow.audit({ action: `${this.auditType(scope)}.delete`, objectType: 'address_book_entry', objectId: id, detail: { before, after: null } });
    });
  }

  /**
   * Add many entries at once (Excel import), all or nothing. `check` only validates: the same
   * checks and limits, then a rollback. Problems carry the index of the input they concern.
   */
  async importEntries(scope: Scope, inputs: EntryInput[], actor: Actor, o: { dryRun: boolean; fileName: string }): Promise<{ problems: { index: number; path: string; message: string }[]; added: number }> {
    const { AddressBookEntry } = this.db.models;
    const DRY = Symbol('dry run');
    const problems: { index: number; path: string; message: string }[] = [];
    let added = 0;
    try {
      await this.write(actor, async (uow) => {
        if (scope.kind === 'book') await this.lockBook(scope.bookId, uow.t);
        const prepared: Prepared[] = [];
        for (const [i, input] of inputs.entries()) {
          try {
            prepared.push(await this.prepare(input, uow.t));
          } catch (err) {
            const fe = (err as { errors?: FieldError[] }).errors;
            if (!fe) throw err;
            for (const e of fe) problems.push({ index: i, path: e.path, message: e.message });
          }
        }
        const seen = new Map<number, number>();
        prepared.forEach((p, i) => {
          if (p.personId === null) return;
          if (seen.has(p.personId)) problems.push({ index: i, path: 'personId', message: `与第 ${seen.get(p.personId)! + 1} 条重复` });
          else seen.set(p.personId, i);
        });
        const existing = seen.size
          ? await AddressBookEntry.findAll({ where: { ...scopeWhere(scope), personId: [...seen.keys()] }, attributes: ['personId'], raw: true, transaction: uow.t })
          : [];
        for (const x of existing) problems.push({ index: seen.get(x.personId!)!, path: 'personId', message: '该院内人员已在通讯录中' });
        if (problems.length) throw DRY;
        try {
          await this.checkRoom(scope, prepared, uow.t);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          problems.push({ index: -1, path: '', message: err.detail });
          throw DRY;
        }
        if (prepared.length) await AddressBookEntry.bulkCreate(prepared.map((p) => ({ ...p, ...this.ownerOf(scope), createdBy: actor.id, updatedBy: actor.id })), { transaction: uow.t });
        added = prepared.length;
        if (o.dryRun) throw DRY;
        uow.audit({
          action: `${this.auditType(scope)}.import`,
          objectType: scope.kind === 'personal' ? 'user' : 'address_book',
          objectId: scope.kind === 'personal' ? scope.ownerId : scope.bookId,
          detail: { file: o.fileName, added },
        });
      });
    } catch (err) {
      if (err !== DRY) throw err;
    }
    return { problems: problems.sort((a, b) => a.index - b.index), added: problems.length ? 0 : added };
  }

  private async write<T>(actor: Actor, fn: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    try {
      return await inUnitOfWork(this.db, actor, this.clock.now(), fn);
    } catch (err) {
      if (err instanceof OptimisticLockError) throw conflict(STALE_ENTRY, 'VERSION_CONFLICT');
      const code = (err as { parent?: { code?: string } }).parent?.code;
      if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY') throw conflict('数据正被其他请求同时修改，请稍后重试', 'CONCURRENT_CHANGE');
      if (err instanceof UniqueConstraintError) throw conflict('已有同名的公共通讯录', 'ADDRESS_BOOK_NAME_TAKEN'); // the only unique index
      throw err;
    }
  }
}
