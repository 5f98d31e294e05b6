import { inUnitOfWork, type Actor, type Database, type InfoChange, type InfoChangeStatus, type UnitOfWork } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';
import { PeopleService, type Ref } from './people.ts';
import type { NotificationCentre } from '../notify/centre.ts';

/**
 * Information changes (信息变更, issue 3 item 6, R12.4): a person asks for a change to their own
 * file; the org admin approves (the file is updated through PeopleService, audited with before and
 * after) or rejects, and the person is told either way. Also the batch change of department,
 * post, title or position for many people at once, all or nothing.
 */

export const INFO_FIELDS = ['mobile', 'workPhone', 'email', 'mobilePublic', 'gender'] as const;
export type InfoField = (typeof INFO_FIELDS)[number];
export type InfoChanges = Partial<{ mobile: string | null; workPhone: string | null; email: string | null; mobilePublic: boolean; gender: string | null }>;
export const INFO_STATUSES = ['pending', 'approved', 'rejected'] as const;

const LABEL: Record<InfoField, string> = { mobile: '手机号', workPhone: '办公电话', email: '邮箱', mobilePublic: '手机号是否公开', gender: '性别' };

/**
 * Requests may also carry personnel-file fields (`changes.file`, R12.2, personnel.ts): the
 * personnel module registers how to apply them on approval (keyed by the application's database,
 * like the handover registry). It returns the prior values.
 */
export type FileChangeApplier = (uow: UnitOfWork, userId: number, file: { labels?: string[] } & Record<string, unknown>, actor: Actor, infoChangeId: number) => Promise<Record<string, unknown>>;
const fileAppliers = new WeakMap<Database, FileChangeApplier>();
export function registerFileChangeApplier(db: Database, apply: FileChangeApplier): void {
  fileAppliers.set(db, apply);
}
type FileRequest = { labels?: string[] } & Record<string, unknown>;

export interface InfoChangeView {
  id: number;
  person: Ref;
  changes: InfoChanges;
  priorValues: Record<string, unknown> | null;
  reason: string | null;
  status: InfoChangeStatus;
  decidedBy: Ref | null;
  decidedAt: Date | null;
  decisionNote: string | null;
  createdAt: Date;
}

export interface BatchFields {
  deptId?: number;
  postId?: number | null;
  titleId?: number | null;
  positionId?: number | null;
}

export class InfoChangeService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly people: PeopleService,
    private readonly notices: NotificationCentre,
  ) {}

  private async views(rows: InfoChange[]): Promise<InfoChangeView[]> {
    const ids = [...new Set(rows.flatMap((r) => [r.userId, r.decidedBy ?? null]).filter((x): x is number => x !== null))];
    const users = new Map(ids.length ? (await this.db.models.User.findAll({ where: { id: ids }, attributes: ['id', 'name'], raw: true })).map((u) => [u.id, u.name]) : []);
    const ref = (id: number | null): Ref | null => (id !== null && users.has(id) ? { id, name: users.get(id)! } : null);
    return rows.map((r) => ({
      id: r.id,
      person: ref(r.userId) ?? { id: r.userId, name: '' },
      changes: r.changes as InfoChanges,
      priorValues: r.priorValues ?? null,
      reason: r.reason,
      status: r.status,
      decidedBy: ref(r.decidedBy ?? null),
      decidedAt: r.decidedAt ?? null,
      decisionNote: r.decisionNote ?? null,
      createdAt: r.createdAt,
    }));
  }

  async get(id: number): Promise<InfoChangeView> {
    const row = await this.db.models.InfoChange.findByPk(id);
    if (!row) throw notFound('信息变更申请不存在');
    return (await this.views([row]))[0]!;
  }

  async list(q: { status?: InfoChangeStatus; userId?: number; page: number; pageSize: number }) {
    const { InfoChange } = this.db.models;
    const where: Record<string, unknown> = {};
    if (q.status) where.status = q.status;
    if (q.userId) where.userId = q.userId;
    const total = await InfoChange.count({ where });
    const rows = await InfoChange.findAll({ where, order: [['id', 'DESC']], offset: (q.page - 1) * q.pageSize, limit: q.pageSize });
    return { total, page: q.page, pageSize: q.pageSize, items: await this.views(rows) };
  }

  /** A person asks to change their own file. */
  async request(userId: number, changes: InfoChanges, reason: string | null, actor: Actor): Promise<InfoChangeView> {
    const keys = INFO_FIELDS.filter((k) => changes[k] !== undefined);
    if (!keys.length) throw badRequest('请至少填写一项要变更的信息', [{ path: 'changes', message: '没有要变更的内容' }], 'NOTHING_TO_CHANGE');
    const clean: Record<string, unknown> = {};
    for (const k of keys) clean[k] = changes[k];
    const id = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const me = await this.db.models.User.findByPk(userId, { attributes: ['id', 'status'], transaction: uow.t });
      if (!me || me.status !== 'active') throw badRequest('人员不存在或已停用', undefined, 'PERSON_NOT_FOUND');
      const row = await this.db.models.InfoChange.create({ userId, changes: clean, reason, status: 'pending', createdAt: uow.now }, { transaction: uow.t });
      uow.audit({ action: 'org.info_change.request', objectType: 'info_change', objectId: row.id, detail: { userId, changes: clean, reason } });
      return row.id;
    });
    return this.get(id);
  }

  /** Approve: the file is updated (audited before/after by PeopleService) and the person told. */
  async approve(id: number, actor: Actor): Promise<InfoChangeView> {
    return this.decide(id, 'approved', null, actor);
  }

  async reject(id: number, note: string, actor: Actor): Promise<InfoChangeView> {
    return this.decide(id, 'rejected', note, actor);
  }

  private async decide(id: number, status: 'approved' | 'rejected', note: string | null, actor: Actor): Promise<InfoChangeView> {
    const { InfoChange, User } = this.db.models;
    let changed: number | null = null;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const row = await InfoChange.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!row) throw notFound('信息变更申请不存在');
      if (row.status !== 'pending') throw conflict(`该申请已${row.status === 'approved' ? '批准' : '驳回'}，不能再处理`, 'INFO_CHANGE_DECIDED');
      const changes = row.changes as InfoChanges;
      if (status === 'approved') {
        const person = await User.findByPk(row.userId, { transaction: t });
        if (!person) throw notFound('申请人不存在');
        const prior: Record<string, unknown> = {};
        for (const k of INFO_FIELDS) if (changes[k] !== undefined) prior[k] = person.get(k);
        if (await this.people.changeInUnit(uow, row.userId, changes, { action: 'org.person.info_change', detail: { infoChangeId: id } })) changed = row.userId;
        const file = (row.changes as { file?: FileRequest }).file;
        if (file) {
          const apply = fileAppliers.get(this.db);
          if (!apply) throw conflict('人事档案模块未启用，无法批准档案变更', 'FILE_CHANGES_UNAVAILABLE');
          prior.file = await apply(uow, row.userId, file, actor, id);
        }
        row.priorValues = prior;
      }
      row.status = status;
      row.decidedBy = actor.id;
      row.decidedAt = uow.now;
      row.decisionNote = note;
      await row.save({ transaction: t });
      uow.audit({ action: `org.info_change.${status === 'approved' ? 'approve' : 'reject'}`, objectType: 'info_change', objectId: id, detail: { userId: row.userId, changes, note } });
      const what = [...INFO_FIELDS.filter((k) => changes[k] !== undefined).map((k) => LABEL[k]), ...((row.changes as { file?: FileRequest }).file?.labels ?? [])].join('、');
      this.notices.write(uow, [
        {
          userId: row.userId,
          title: status === 'approved' ? '您的信息变更已批准' : '您的信息变更未通过',
          body: status === 'approved' ? `已更新：${what}` : `申请变更的${what}未获批准${note ? `：${note}` : ''}`,
          link: `/org/info-changes/${id}`,
          key: `org.info_change.${id}.decided`,
        },
      ]);
    }).catch(PeopleService.concurrency);
    if (changed !== null) await this.people.afterChange([changed]);
    return this.get(id);
  }

  /** Change the same fields of many people at once: all or nothing, audited per person. */
  async batchUpdate(personIds: number[], fields: BatchFields, actor: Actor): Promise<{ updated: number; unchanged: number }> {
    const keys = (['deptId', 'postId', 'titleId', 'positionId'] as const).filter((k) => fields[k] !== undefined);
    if (!keys.length) throw badRequest('请至少选择一项要批量修改的字段', [{ path: 'fields', message: '没有要修改的字段' }], 'NOTHING_TO_CHANGE');
    const ids = [...new Set(personIds)];
    const touched: number[] = [];
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      // locked in id order: two batches over overlapping people cannot deadlock each other
      const rows = await this.db.models.User.findAll({ where: { id: ids }, attributes: ['id'], order: [['id', 'ASC']], transaction: t, lock: t.LOCK.UPDATE });
      const found = new Set(rows.map((r) => r.id));
      const errors: FieldError[] = [];
      personIds.forEach((id, i) => {
        if (!found.has(id)) errors.push({ path: `personIds[${i}]`, message: `人员（编号 ${id}）不存在` });
      });
      if (errors.length) throw badRequest(`批量修改有误：${errors[0]!.message}，未做任何修改`, errors, 'PERSON_NOT_FOUND');
      for (const id of [...found].sort((a, b) => a - b)) {
        if (await this.people.changeInUnit(uow, id, fields, { action: 'org.person.batch_update', detail: { batch: { fields, count: ids.length } } })) touched.push(id);
      }
    }).catch(PeopleService.concurrency);
    await this.people.afterChange(touched);
    return { updated: touched.length, unchanged: ids.length - touched.length };
  }
}
