import type { Database, Transaction } from '@oa/db';

// Which committed writes change an access decision. The same technique as the people search
// (org/search.ts): Sequelize hooks on the models see every write made through them; what a
// transaction changed is told once, after it commits (a reload never reads an uncommitted or
// rolled-back state); a write outside a transaction is told at once.

/** What changed: grants or the resource tree, some people's subjects, or everything. */
export interface AclChange {
  /** grants, resource parents or the department tree: resource entries must go */
  grants: boolean;
  /** every person's subjects (departments moved, a bulk write of unknown scope) */
  everyone: boolean;
  /** these people's subjects */
  userIds: Set<number>;
}

export const noChange = (): AclChange => ({ grants: false, everyone: false, userIds: new Set() });

function merge(a: AclChange, b: AclChange): AclChange {
  return { grants: a.grants || b.grants, everyone: a.everyone || b.everyone, userIds: new Set([...a.userIds, ...b.userIds]) };
}

type HookOptions = { fields?: string[]; transaction?: Transaction | null; where?: Record<string, unknown> };
type Row = Record<string, unknown>;

interface Watch {
  /** a write touching none of these fields changes no decision (null: any field matters) */
  fields: Set<string> | null;
  /** the attribute naming the person the row belongs to; null: not a per-person table */
  person: string | null;
  /** a change of this kind without a known person */
  wide: 'grants' | 'all' | 'everyone';
}

const WATCHED: Record<string, Watch> = {
  // a person's own subjects: department, post, status (disabled people may do nothing)
  User: { fields: new Set(['id', 'deptId', 'postId', 'status']), person: 'id', wide: 'everyone' },
  UserDept: { fields: null, person: 'userId', wide: 'everyone' },
  UserRole: { fields: null, person: 'userId', wide: 'everyone' },
  UserRoleScope: { fields: null, person: 'userId', wide: 'everyone' },
  UserGroupMember: { fields: null, person: 'userId', wide: 'everyone' },
  // a group deleted: its members' subjects (the members' rows may go by group id)
  UserGroup: { fields: new Set(['id']), person: null, wide: 'everyone' },
  // paths decide subtree membership and how department resources inherit
  Department: { fields: new Set(['id', 'parentId', 'path']), person: null, wide: 'all' },
  AccessGrant: { fields: null, person: null, wide: 'grants' },
  ResourceNode: { fields: null, person: null, wide: 'grants' },
};

const wideChange = (w: Watch): AclChange => ({ grants: w.wide !== 'everyone', everyone: w.wide !== 'grants', userIds: new Set() });

/** The ids a bulk `where` is limited to (`{ userId: [1, 2] }`), else null. */
function idsOfWhere(where: Record<string, unknown> | undefined, key: string): number[] | null {
  // by the time bulk hooks run, Sequelize has renamed attributes to columns (userId → user_id)
  const v = where?.[key] ?? where?.[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return null;
}

interface Registry {
  listeners: Set<(c: AclChange) => void>;
  pending: WeakMap<Transaction, AclChange>;
}
const registries = new WeakMap<Database, Registry>();

/** Call `listener` after every committed write that may change an access decision. */
export function watchAclWrites(db: Database, listener: (c: AclChange) => void): () => void {
  let reg = registries.get(db);
  if (!reg) {
    const r: Registry = { listeners: new Set(), pending: new WeakMap() };
    reg = r;
    registries.set(db, r);
    const tell = (c: AclChange) => {
      for (const l of r.listeners) l(c);
    };
    const record = (options: HookOptions | undefined, c: AclChange) => {
      const t = options?.transaction;
      if (!t) return tell(c);
      const had = r.pending.get(t);
      r.pending.set(t, had ? merge(had, c) : c);
      if (!had) t.afterCommit(() => tell(r.pending.get(t) ?? c));
    };
    for (const [name, w] of Object.entries(WATCHED)) {
      const model = (db.models as unknown as Record<string, { addHook(type: string, name: string, fn: (...args: unknown[]) => void): void }>)[name];
      if (!model) continue;
      const relevant = (o: HookOptions | undefined) => !w.fields || !o?.fields || o.fields.some((f) => w.fields!.has(f));
      const ofRows = (rows: Row[]): AclChange => {
        if (!w.person) return wideChange(w);
        const ids = rows.map((row) => row[w.person!]);
        return ids.every((id) => typeof id === 'number') ? { ...noChange(), userIds: new Set(ids as number[]) } : wideChange(w);
      };
      const ofWhere = (o: HookOptions | undefined): AclChange => {
        const ids = w.person ? idsOfWhere(o?.where, w.person) : null;
        return ids ? { ...noChange(), userIds: new Set(ids) } : wideChange(w);
      };
      const rowOf = (i: unknown) => (i as { get(): Row }).get();
      model.addHook('afterSave', 'accessControl', (i, o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, ofRows([rowOf(i)]));
      });
      model.addHook('afterDestroy', 'accessControl', (i, o) => record(o as HookOptions, ofRows([rowOf(i)])));
      model.addHook('afterUpsert', 'accessControl', (_res, o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, wideChange(w));
      });
      model.addHook('afterBulkCreate', 'accessControl', (is, o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, ofRows((is as unknown[]).map(rowOf)));
      });
      model.addHook('afterBulkUpdate', 'accessControl', (o) => {
        if (relevant(o as HookOptions)) record(o as HookOptions, ofWhere(o as HookOptions));
      });
      model.addHook('afterBulkDestroy', 'accessControl', (o) => record(o as HookOptions, ofWhere(o as HookOptions)));
    }
  }
  reg.listeners.add(listener);
  const own = reg;
  return () => own.listeners.delete(listener);
}
