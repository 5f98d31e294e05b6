import ExcelJS from 'exceljs';
import { Op, col, fn, inUnitOfWork, type Actor, type Database, type Transfer, type TransferStatus, type UnitOfWork } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { JobRunner } from '../jobs/runner.ts';
import { AppError, badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';
import { PeopleService, type PersonDetail, type Ref } from './people.ts';
import { deptHeads } from './resolvers.ts';
import type { NotificationCentre } from '../notify/centre.ts';

/**
 * Transfers (调动, issue 3 item 5, R12.3). A transfer is drafted by the org admin, approved (a
 * direct, audited action until the workflow engine lands), and takes effect on its date: at
 * 00:00 Beijing time a durable job moves the person through PeopleService (locked, version
 * checked, audited) and marks the transfer effective, in one unit of work. A date today or in the
 * past takes effect at approval. Approval notifies the person and the heads of the old and new
 * departments, once each.
 *
 * A move that cannot be made on its date (the target department was deleted or disabled, the
 * post is gone, the person was disabled meanwhile) is not left as a dead job (R12.3): the transfer
 * becomes `failed` with a Chinese reason, in its own audited unit of work, and the org admins
 * (everyone holding org:manage) and whoever drafted it are told through the outbox. An org admin
 * then retries it (after fixing the cause) or cancels it. Transient errors (database unreachable,
 * deadlocks, lock timeouts) are not failures of the transfer: the job throws and the job runner
 * retries it with backoff; only when its last attempt fails too is the transfer marked failed,
 * so nothing ends silently.
 */

export const TRANSFER_JOB = 'org.transfer.apply';
export const TRANSFER_STATUSES = ['draft', 'approved', 'effective', 'cancelled', 'failed'] as const;
const STATUS_LABEL: Record<TransferStatus, string> = { draft: '待审批', approved: '已审批（待生效）', effective: '已生效', cancelled: '已撤销', failed: '生效失败' };
const SYSTEM: Actor = { id: null, name: '系统（调动生效）' };

/** A reason the move can never succeed as it stands (R12.3): the transfer is marked failed, not retried. */
export class TransferFailure extends Error {}

/** AppError codes that mean "someone else was writing at the same time": worth another attempt. */
const RETRYABLE_CODES = new Set(['CONCURRENT_CHANGE', 'VERSION_CONFLICT']);

/**
 * The Chinese reason when `err` means the transfer itself cannot take effect (a business rule
 * refused it); null for transient errors (database down, deadlock, timeout, a bug), which the job
 * runner retries with backoff.
 */
export function permanentReason(err: unknown): string | null {
  if (err instanceof TransferFailure) return err.message;
  if (err instanceof AppError && err.status >= 400 && err.status < 500 && !RETRYABLE_CODES.has(err.code)) return err.detail;
  return null;
}

const shanghaiFmt = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The Beijing calendar date of an instant, `YYYY-MM-DD`. */
export function shanghaiDate(d: Date): string {
  return shanghaiFmt.format(d);
}

/** 00:00 Beijing time of a calendar date (China keeps no daylight saving time). */
export function shanghaiMidnight(date: string): Date {
  return new Date(`${date}T00:00:00+08:00`);
}

/** A real calendar date written `YYYY-MM-DD`. */
export function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export interface TransferInput {
  personId?: number;
  /** employee number or exact name, when personId is not given */
  person?: string;
  toDeptId: number;
  /** undefined: keep the current post; null: none */
  toPostId?: number | null;
  toPositionId?: number | null;
  effectiveDate: string;
  reason: string;
}

export interface TransferQuery {
  status?: TransferStatus;
  personId?: number;
  /** from or to this department */
  deptId?: number;
  dateFrom?: string;
  dateTo?: string;
}

export interface TransferView {
  id: number;
  person: { id: number; name: string; employeeNo: string | null };
  fromDept: Ref | null;
  toDept: Ref | null;
  fromPost: Ref | null;
  toPost: Ref | null;
  fromPosition: Ref | null;
  toPosition: Ref | null;
  effectiveDate: string;
  reason: string;
  status: TransferStatus;
  createdBy: Ref | null;
  approvedBy: Ref | null;
  approvedAt: Date | null;
  effectiveAt: Date | null;
  cancelledAt: Date | null;
  /** status `failed`: why the move could not be made, and when (R12.3) */
  failureReason: string | null;
  failedAt: Date | null;
  /** the approval process instance, when approval goes through a workflow */
  workflowInstanceId: number | null;
  createdAt: Date;
}

const field = (path: string, message: string): FieldError[] => [{ path, message }];

/** The workflow side of transfer approval (issue 3 item 5 wired to issue 4). */
export interface TransferApprovals {
  /** start the approval process for a new transfer; null when no process is configured */
  start(transfer: TransferView, actor: Actor): Promise<number | null>;
  /** whether that approval instance still decides (running, or rejected: no direct bypass) */
  running(instanceId: number, t: UnitOfWork['t']): Promise<boolean>;
}

export class TransferService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly people: PeopleService,
    private readonly jobs: JobRunner,
    private readonly notices: NotificationCentre,
  ) {}

  /** approval through a workflow process, when one is configured (set by the routes module) */
  approvals: TransferApprovals | null = null;

  /** Register the effective-date job (once per application). */
  registerJob(): void {
    this.jobs.register(TRANSFER_JOB, async (payload, job) => {
      const transferId = Number((payload as { transferId?: unknown } | null)?.transferId);
      if (!Number.isInteger(transferId) || transferId <= 0) throw new Error('transfer job without transferId');
      await this.applyDue(transferId, job);
    });
  }

  // ---------------------------------------------------------------- reading

  /** People whose employee number (any case) or exact name is `q`, with their current place: fills the form. */
  async lookup(q: string): Promise<PersonDetail[]> {
    const key = q.normalize('NFKC').trim();
    if (!key) return [];
    const { User } = this.db.models;
    const rows = await User.findAll({
      where: { [Op.or]: [this.db.sequelize.where(fn('lower', col('employee_no')), key.toLowerCase()), { name: key }] },
      attributes: ['id'],
      order: [['id', 'ASC']],
      limit: 20,
      raw: true,
    });
    const out: PersonDetail[] = [];
    for (const r of rows) out.push(await this.people.get(r.id, { userId: 0, canManage: true }));
    return out;
  }

  private where(q: TransferQuery): Record<string | symbol, unknown> {
    const where: Record<string | symbol, unknown> = {};
    if (q.status) where.status = q.status;
    if (q.personId) where.personId = q.personId;
    if (q.deptId) where[Op.or] = [{ fromDeptId: q.deptId }, { toDeptId: q.deptId }];
    const range: Record<symbol, string> = {};
    if (q.dateFrom) range[Op.gte] = q.dateFrom;
    if (q.dateTo) range[Op.lte] = q.dateTo;
    if (q.dateFrom || q.dateTo) where.effectiveDate = range;
    return where;
  }

  async list(q: TransferQuery & { page: number; pageSize: number }): Promise<{ total: number; page: number; pageSize: number; items: TransferView[] }> {
    const { Transfer } = this.db.models;
    const where = this.where(q);
    const total = await Transfer.count({ where });
    const rows = await Transfer.findAll({
      where,
      order: [
        ['effectiveDate', 'DESC'],
        ['id', 'DESC'],
      ],
      offset: (q.page - 1) * q.pageSize,
      limit: q.pageSize,
    });
    return { total, page: q.page, pageSize: q.pageSize, items: await this.views(rows) };
  }

  async get(id: number): Promise<TransferView> {
    const row = await this.db.models.Transfer.findByPk(id);
    if (!row) throw notFound('调动记录不存在');
    return (await this.views([row]))[0]!;
  }

  /** One query per lookup table for the whole set. */
  private async views(rows: Transfer[]): Promise<TransferView[]> {
    const { User, Department, Post, Position } = this.db.models;
    const ids = (ks: (keyof Transfer)[]) => [...new Set(rows.flatMap((r) => ks.map((k) => r[k] as number | null)).filter((x): x is number => typeof x === 'number'))];
    const names = async (model: typeof Post, list: number[]) =>
      new Map(list.length ? (await model.findAll({ where: { id: list }, attributes: ['id', 'name'], raw: true })).map((x) => [x.id, x.name]) : []);
    const userIds = ids(['personId', 'createdBy', 'approvedBy']);
    const users = new Map(userIds.length ? (await User.findAll({ where: { id: userIds }, attributes: ['id', 'name', 'employeeNo'], raw: true })).map((u) => [u.id, u]) : []);
    const depts = await names(Department as unknown as typeof Post, ids(['fromDeptId', 'toDeptId']));
    const posts = await names(Post, ids(['fromPostId', 'toPostId']));
    const positions = await names(Position as unknown as typeof Post, ids(['fromPositionId', 'toPositionId']));
    const ref = (m: Map<number, string>, id: number | null): Ref | null => (id !== null && m.has(id) ? { id, name: m.get(id)! } : null);
    const uref = (id: number | null): Ref | null => (id !== null && users.has(id) ? { id, name: users.get(id)!.name } : null);
    return rows.map((r) => {
      const p = users.get(r.personId);
      return {
        id: r.id,
        person: { id: r.personId, name: p?.name ?? '', employeeNo: p?.employeeNo ?? null },
        fromDept: ref(depts, r.fromDeptId),
        toDept: ref(depts, r.toDeptId),
        fromPost: ref(posts, r.fromPostId),
        toPost: ref(posts, r.toPostId),
        fromPosition: ref(positions, r.fromPositionId),
        toPosition: ref(positions, r.toPositionId),
        effectiveDate: r.effectiveDate,
        reason: r.reason,
        status: r.status,
        createdBy: uref(r.createdBy),
        approvedBy: uref(r.approvedBy ?? null),
        approvedAt: r.approvedAt ?? null,
        effectiveAt: r.effectiveAt ?? null,
        cancelledAt: r.cancelledAt ?? null,
        failureReason: r.failureReason ?? null,
        workflowInstanceId: r.workflowInstanceId ?? null,
        failedAt: r.failedAt ?? null,
        createdAt: r.createdAt,
      };
    });
  }

  /** The transfer summary (调动汇总) as a workbook: Chinese headers, one row per transfer. */
  async exportWorkbook(q: TransferQuery): Promise<{ buffer: Buffer; count: number }> {
    const rows = await this.db.models.Transfer.findAll({
      where: this.where(q),
      order: [
        ['effectiveDate', 'ASC'],
        ['id', 'ASC'],
      ],
      limit: 50_000,
    });
    const views = await this.views(rows);
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('调动汇总');
    ws.columns = [
      { header: '工号', key: 'employeeNo', width: 12 },
      { header: '姓名', key: 'name', width: 12 },
      { header: '原部门', key: 'fromDept', width: 18 },
      { header: '新部门', key: 'toDept', width: 18 },
      { header: '原岗位', key: 'fromPost', width: 14 },
      { header: '新岗位', key: 'toPost', width: 14 },
      { header: '原职务', key: 'fromPosition', width: 14 },
      { header: '新职务', key: 'toPosition', width: 14 },
      { header: '生效日期', key: 'effectiveDate', width: 12 },
      { header: '调动原因', key: 'reason', width: 30 },
      { header: '状态', key: 'status', width: 16 },
      { header: '经办人', key: 'createdBy', width: 12 },
      { header: '审批人', key: 'approvedBy', width: 12 },
      { header: '失败原因', key: 'failureReason', width: 30 },
    ];
    ws.getRow(1).font = { bold: true };
    for (const v of views) {
      ws.addRow({
        employeeNo: v.person.employeeNo ?? '',
        name: v.person.name,
        fromDept: v.fromDept?.name ?? '',
        toDept: v.toDept?.name ?? '',
        fromPost: v.fromPost?.name ?? '',
        toPost: v.toPost?.name ?? '',
        fromPosition: v.fromPosition?.name ?? '',
        toPosition: v.toPosition?.name ?? '',
        effectiveDate: v.effectiveDate,
        reason: v.reason,
        status: STATUS_LABEL[v.status],
        createdBy: v.createdBy?.name ?? '',
        approvedBy: v.approvedBy?.name ?? '',
        failureReason: v.failureReason ?? '',
      });
    }
    return { buffer: Buffer.from(await wb.xlsx.writeBuffer()), count: views.length };
  }

  // ---------------------------------------------------------------- writing

  private async resolvePerson(input: TransferInput, uow: UnitOfWork) {
    const { User } = this.db.models;
    const t = uow.t;
    if (input.personId !== undefined) {
      const p = await User.findByPk(input.personId, { transaction: t, lock: t.LOCK.UPDATE });
      if (!p) throw badRequest('人员不存在', field('personId', '人员不存在'), 'PERSON_NOT_FOUND');
      return p;
    }
    const key = (input.person ?? '').normalize('NFKC').trim();
    if (!key) throw badRequest('请填写调动人员（人员编号、工号或姓名）', field('person', '不能为空'), 'PERSON_REQUIRED');
    const found = await User.findAll({
      where: { [Op.or]: [this.db.sequelize.where(fn('lower', col('employee_no')), key.toLowerCase()), { name: key }] },
      order: [['id', 'ASC']],
      limit: 5,
      transaction: t,
    });
    if (!found.length) throw badRequest(`没有工号或姓名为「${key}」的人员`, field('person', '未找到该人员'), 'PERSON_NOT_FOUND');
    if (found.length > 1) throw badRequest(`姓名「${key}」有 ${found.length} 人重名，请改用工号`, field('person', '重名，请用工号'), 'PERSON_AMBIGUOUS');
    return (await User.findByPk(found[0]!.id, { transaction: t, lock: t.LOCK.UPDATE }))!;
  }

  async create(input: TransferInput, actor: Actor): Promise<TransferView> {
    const { Transfer, Department, Post, Position } = this.db.models;
    if (!isCalendarDate(input.effectiveDate)) throw badRequest('生效日期格式应为 YYYY-MM-DD', field('effectiveDate', '日期无效'), 'INVALID_DATE');
    const id = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const person = await this.resolvePerson(input, uow);
      if (person.status !== 'active') throw badRequest(`${person.name}已停用，不能调动`, field('personId', '人员已停用'), 'PERSON_DISABLED');
      const dept = await Department.findByPk(input.toDeptId, { attributes: ['id', 'name', 'enabled'], transaction: t });
      if (!dept) throw badRequest('调入部门不存在', field('toDeptId', '部门不存在'), 'DEPT_NOT_FOUND');
      if (!dept.enabled) throw badRequest(`部门「${dept.name}」已停用，不能调入人员`, field('toDeptId', '部门已停用'), 'DEPT_DISABLED');
      const toPostId = input.toPostId === undefined ? person.postId : input.toPostId;
      const toPositionId = input.toPositionId === undefined ? person.positionId : input.toPositionId;
      if (toPostId !== null && !(await Post.findByPk(toPostId, { attributes: ['id'], transaction: t }))) {
        throw badRequest('岗位不存在', field('toPostId', '岗位不存在'), 'POST_NOT_FOUND');
      }
      if (toPositionId !== null && !(await Position.findByPk(toPositionId, { attributes: ['id'], transaction: t }))) {
        throw badRequest('职务不存在', field('toPositionId', '职务不存在'), 'POSITION_NOT_FOUND');
      }
      if (person.deptId === input.toDeptId && person.postId === toPostId && person.positionId === toPositionId) {
        throw badRequest(`${person.name}已在「${dept.name}」，岗位和职务也未改变，无需调动`, field('toDeptId', '与现在相同'), 'TRANSFER_NOTHING');
      }
      const row = await Transfer.create(
        {
          personId: person.id,
          fromDeptId: person.deptId,
          toDeptId: input.toDeptId,
          fromPostId: person.postId,
          toPostId,
          fromPositionId: person.positionId,
          toPositionId,
          effectiveDate: input.effectiveDate,
          reason: input.reason,
          status: 'draft',
          createdBy: actor.id,
        },
        { transaction: t },
      );
      uow.audit({ action: 'org.transfer.create', objectType: 'transfer', objectId: row.id, detail: { after: row.get({ plain: true }) } });
      return row.id;
    });
    // With an `org-transfer` process the approval runs through the workflow; a start that fails
    // leaves a valid draft (approvable directly, or cancelled) and says why.
    if (this.approvals) {
      const instanceId = await this.approvals.start(await this.get(id), actor);
      if (instanceId) await this.db.models.Transfer.update({ workflowInstanceId: instanceId }, { where: { id } });
    }
    return this.get(id);
  }

  /**
   * Approve (until the workflow engine exists, a direct audited action): notifies the person and
   * both departments' heads once each, and schedules the move for 00:00 of the effective date, or
   * moves the person now when that date has come.
   */
  /**
   * Approve inside the caller's unit of work (the direct route, or the `org.transfer.approve`
   * automatic action at the end of the approval process). Returns the person moved at once.
   */
  async approveInUnit(uow: UnitOfWork, id: number, actor: Actor): Promise<number | null> {
    const { Transfer, User, Department } = this.db.models;
    let moved: number | null = null;
    const t = uow.t;
    const tr = await Transfer.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
    if (!tr) throw notFound('调动记录不存在');
    if (tr.status !== 'draft') throw conflict(`该调动${STATUS_LABEL[tr.status]}，不能再审批`, 'TRANSFER_NOT_DRAFT');
    const person = await User.findByPk(tr.personId, { attributes: ['id', 'name', 'status'], transaction: t });
    if (!person || person.status !== 'active') throw conflict('调动人员已停用，不能审批', 'PERSON_DISABLED');
    tr.status = 'approved';
    tr.approvedBy = actor.id;
    tr.approvedAt = uow.now;
    await tr.save({ transaction: t });
    uow.audit({ action: 'org.transfer.approve', objectType: 'transfer', objectId: id, detail: { before: { status: 'draft' }, after: { status: 'approved' }, effectiveDate: tr.effectiveDate } });

    // everyone concerned, once each (a head of both departments gets one message)
    const deptIds = [tr.fromDeptId, tr.toDeptId].filter((d): d is number => d !== null);
    const depts = new Map((await Department.findAll({ where: { id: deptIds }, attributes: ['id', 'name'], raw: true, transaction: t })).map((d) => [d.id, d.name]));
    const fromName = tr.fromDeptId !== null ? (depts.get(tr.fromDeptId) ?? '原部门') : '（无部门）';
    const toName = depts.get(tr.toDeptId) ?? '新部门';
    const recipients = new Set<number>([tr.personId]);
    if (tr.fromDeptId !== null) for (const u of (await deptHeads(this.db, tr.fromDeptId, { transaction: t })).userIds) recipients.add(u);
    for (const u of (await deptHeads(this.db, tr.toDeptId, { transaction: t })).userIds) recipients.add(u);
    for (const userId of recipients) {
      this.notices.write(uow, [
        {
          userId,
          title: userId === tr.personId ? '您的调动已批准' : `人员调动：${person.name}`,
          body: `${person.name}由「${fromName}」调至「${toName}」，${tr.effectiveDate} 生效。原因：${tr.reason}`,
          link: `/org/transfers/${id}`,
          key: `org.transfer.${id}.approved.${userId}`,
        },
      ]);
    }

    if (tr.effectiveDate <= shanghaiDate(uow.now)) {
      if (await this.applyIn(uow, tr)) moved = tr.personId;
    } else {
      await this.jobs.enqueue(TRANSFER_JOB, { transferId: id }, { runAt: shanghaiMidnight(tr.effectiveDate), dedupeKey: `${TRANSFER_JOB}:${id}`, transaction: t });
    }
    return moved;
  }

  /** a move that cannot be made when the date has come refuses the approval as a whole */
  static refusal(err: unknown): never {
    if (err instanceof TransferFailure) throw conflict(`调动无法生效：${err.message}`, 'TRANSFER_CANNOT_APPLY');
    return PeopleService.concurrency(err);
  }

  async approve(id: number, actor: Actor): Promise<TransferView> {
    let moved: number | null = null;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const tr = await this.db.models.Transfer.findByPk(id, { attributes: ['workflowInstanceId'], transaction: uow.t });
      if (tr?.workflowInstanceId && (await this.approvals?.running(tr.workflowInstanceId, uow.t))) {
        throw conflict('该调动由审批流程决定（流程进行中或已驳回），不能直接审批', 'TRANSFER_IN_WORKFLOW');
      }
      moved = await this.approveInUnit(uow, id, actor);
    }).catch(TransferService.refusal);
    if (moved !== null) await this.people.afterChange([moved]);
    return this.get(id);
  }

  /**
   * What the move needs, checked with clear reasons before PeopleService applies it (R12.3): the
   * person still active, the target department still there and enabled, the post and position
   * still there. Throws TransferFailure.
   */
  private async checkApplicable(uow: UnitOfWork, tr: Transfer): Promise<void> {
    const { User, Department, Post, Position } = this.db.models;
    const t = uow.t;
    const person = await User.findByPk(tr.personId, { attributes: ['id', 'name', 'status'], transaction: t });
    if (!person) throw new TransferFailure('调动人员已不存在');
    if (person.status !== 'active') throw new TransferFailure(`${person.name}已停用，不能再调动`);
    const dept = await Department.findByPk(tr.toDeptId, { attributes: ['id', 'name', 'enabled'], transaction: t });
    if (!dept) throw new TransferFailure(`调入部门已被删除（部门编号 ${tr.toDeptId}）`);
    if (!dept.enabled) throw new TransferFailure(`调入部门「${dept.name}」已停用`);
    if (tr.toPostId !== null && !(await Post.findByPk(tr.toPostId, { attributes: ['id'], transaction: t }))) {
      throw new TransferFailure(`新岗位已被删除（岗位编号 ${tr.toPostId}）`);
    }
    if (tr.toPositionId !== null && !(await Position.findByPk(tr.toPositionId, { attributes: ['id'], transaction: t }))) {
      throw new TransferFailure(`新职务已被删除（职务编号 ${tr.toPositionId}）`);
    }
  }

  /** Move the person and mark the transfer effective, inside the caller's unit of work. */
  private async applyIn(uow: UnitOfWork, tr: Transfer): Promise<boolean> {
    await this.checkApplicable(uow, tr);
    const changed = await this.people.changeInUnit(
      uow,
      tr.personId,
      { deptId: tr.toDeptId, postId: tr.toPostId, positionId: tr.toPositionId },
      { action: 'org.person.transfer', detail: { transferId: tr.id, effectiveDate: tr.effectiveDate } },
    );
    tr.status = 'effective';
    tr.effectiveAt = uow.now;
    await tr.save({ transaction: uow.t });
    uow.audit({ action: 'org.transfer.effective', objectType: 'transfer', objectId: tr.id, detail: { before: { status: 'approved' }, after: { status: 'effective' }, moved: changed } });
    return changed;
  }

  /**
   * The effective-date job: applies an approved transfer; anything else (done, cancelled, failed)
   * is left alone. A permanent failure marks the transfer failed and the job ends; a transient
   * error is thrown for the job runner's backoff, except on the job's last attempt (R12.3).
   */
  async applyDue(id: number, job?: { id: number; attempts: number }): Promise<boolean> {
    const { Transfer, Job } = this.db.models;
    let moved: boolean;
    try {
      moved = await inUnitOfWork(this.db, SYSTEM, this.clock.now(), async (uow) => {
        const tr = await Transfer.findByPk(id, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
        if (!tr || tr.status !== 'approved') return false;
        return this.applyIn(uow, tr);
      });
    } catch (err) {
      const reason = permanentReason(err);
      if (reason !== null) {
        await this.markFailed(id, reason);
        return false;
      }
      if (job) {
        // the runner would now give up on the job: say so on the transfer instead of a dead job
        const row = await Job.findByPk(job.id, { attributes: ['maxAttempts'], raw: true }).catch(() => null);
        if (row && job.attempts >= row.maxAttempts) {
          await this.markFailed(id, `系统在 ${job.attempts} 次自动重试后仍未能执行调动（${describeTransient(err)}）；请确认系统恢复正常后重试`).catch(() => {
            throw err;
          });
          return false;
        }
      }
      throw err;
    }
    if (moved) await this.people.afterChange([(await Transfer.findByPk(id, { attributes: ['personId'], raw: true }))!.personId]);
    return moved;
  }

  /** Active holders of a role with org:manage (global or department-scoped): they handle failed transfers. */
  private async orgAdmins(uow: UnitOfWork): Promise<number[]> {
    const { Role, UserRole, UserRoleScope, User } = this.db.models;
    const t = uow.t;
    const roleIds = (await Role.findAll({ attributes: ['id', 'permissions'], transaction: t })).filter((r) => (r.permissions ?? []).includes('org:manage')).map((r) => r.id);
    if (!roleIds.length) return [];
    const [global, scoped] = await Promise.all([
      UserRole.findAll({ where: { roleId: roleIds }, attributes: ['userId'], raw: true, transaction: t }),
      UserRoleScope.findAll({ where: { roleId: roleIds }, attributes: ['userId'], raw: true, transaction: t }),
    ]);
    const ids = [...new Set([...global, ...scoped].map((r) => r.userId))];
    if (!ids.length) return [];
    return (await User.findAll({ where: { id: ids, status: 'active' }, attributes: ['id'], order: [['id', 'ASC']], raw: true, transaction: t })).map((u) => u.id);
  }

  /**
   * Record that the move failed (R12.3): status `failed` with the reason, audited, and the org
   * admins and the transfer's author told through the outbox, in one unit of work. A transfer
   * that is no longer approved (cancelled meanwhile) is left alone. `notify: false` when an admin
   * retrying it sees the reason in the answer.
   */
  private async markFailed(id: number, reason: string, o: { actor?: Actor; from?: TransferStatus; notify?: boolean } = {}): Promise<void> {
    const { Transfer, User, Department } = this.db.models;
    const from = o.from ?? 'approved';
    const text = reason.slice(0, 500);
    await inUnitOfWork(this.db, o.actor ?? SYSTEM, this.clock.now(), async (uow) => {
      const t = uow.t;
      const tr = await Transfer.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!tr || tr.status !== from) return;
      const before = { status: tr.status, failureReason: tr.failureReason ?? null };
      tr.status = 'failed';
      tr.failureReason = text;
      tr.failedAt = uow.now;
      await tr.save({ transaction: t });
      uow.audit({ action: 'org.transfer.failed', objectType: 'transfer', objectId: id, detail: { before, after: { status: 'failed', failureReason: text }, effectiveDate: tr.effectiveDate } });
      if (o.notify === false) return;
      const person = await User.findByPk(tr.personId, { attributes: ['id', 'name'], raw: true, transaction: t });
      const dept = await Department.findByPk(tr.toDeptId, { attributes: ['name'], raw: true, transaction: t });
      const who = person?.name ?? `人员（编号 ${tr.personId}）`;
      const recipients = new Set(await this.orgAdmins(uow));
      if (tr.createdBy !== null) recipients.add(tr.createdBy);
      for (const userId of recipients) {
        this.notices.write(uow, [
          {
            userId,
            title: `调动未能生效：${who}`,
            body: `${who}调至「${dept?.name ?? '调入部门'}」的调动（${tr.effectiveDate} 生效）未能执行：${text}。请处理后在调动管理中重试，或撤销该调动。`,
            link: `/org/transfers/${id}`,
            key: `org.transfer.${id}.failed.${uow.now.getTime()}.${userId}`,
          },
        ]);
      }
    });
  }

  /**
   * Retry a failed transfer (R12.3), after an org admin fixed the cause: it is approved again and,
   * its date having come, applied at once. If it still cannot take effect, nothing moves, the
   * transfer stays failed with the new reason and the answer is a 409 saying why.
   */
  async retry(id: number, actor: Actor): Promise<TransferView> {
    const { Transfer } = this.db.models;
    let moved: number | null = null;
    try {
      await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
        const t = uow.t;
        const tr = await Transfer.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
        if (!tr) throw notFound('调动记录不存在');
        if (tr.status !== 'failed') throw conflict(`该调动${STATUS_LABEL[tr.status]}，只有生效失败的调动可以重试`, 'TRANSFER_NOT_FAILED');
        const before = { status: tr.status, failureReason: tr.failureReason ?? null };
        tr.status = 'approved';
        tr.failureReason = null;
        tr.failedAt = null;
        await tr.save({ transaction: t });
        uow.audit({ action: 'org.transfer.retry', objectType: 'transfer', objectId: id, detail: { before, after: { status: 'approved' } } });
        if (tr.effectiveDate <= shanghaiDate(uow.now)) {
          if (await this.applyIn(uow, tr)) moved = tr.personId;
        } else {
          await this.jobs.enqueue(TRANSFER_JOB, { transferId: id }, { runAt: shanghaiMidnight(tr.effectiveDate), dedupeKey: `${TRANSFER_JOB}:${id}:retry@${uow.now.toISOString()}`, transaction: t });
        }
      });
    } catch (err) {
      const reason = permanentReason(err);
      if (reason === null || (err instanceof AppError && (err.code === 'TRANSFER_NOT_FAILED' || err.status === 404))) return PeopleService.concurrency(err);
      await this.markFailed(id, reason, { actor, from: 'failed', notify: false });
      throw conflict(`调动仍无法生效：${reason}`, 'TRANSFER_STILL_FAILING');
    }
    if (moved !== null) await this.people.afterChange([moved]);
    return this.get(id);
  }

  /** Cancel a transfer that has not taken effect; a scheduled job then finds nothing to do. */
  async cancel(id: number, reason: string | undefined, actor: Actor): Promise<TransferView> {
    const { Transfer } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const tr = await Transfer.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!tr) throw notFound('调动记录不存在');
      if (tr.status === 'effective') throw conflict('调动已生效，不能撤销；如需调回请另建调动', 'TRANSFER_EFFECTIVE');
      if (tr.status === 'cancelled') throw conflict('调动已撤销', 'TRANSFER_CANCELLED');
      const was = tr.status;
      tr.status = 'cancelled';
      tr.cancelledBy = actor.id;
      tr.cancelledAt = uow.now;
      await tr.save({ transaction: t });
      uow.audit({ action: 'org.transfer.cancel', objectType: 'transfer', objectId: id, detail: { before: { status: was }, after: { status: 'cancelled' }, reason: reason ?? null } });
      if (was === 'approved' || was === 'failed') {
        this.notices.write(uow, [{ userId: tr.personId, title: '您的调动已撤销', body: `原定 ${tr.effectiveDate} 生效的调动已撤销${reason ? `：${reason}` : ''}`, link: `/org/transfers/${id}`, key: `org.transfer.${id}.cancelled.${tr.personId}` }]);
      }
    });
    return this.get(id);
  }
}

/** A transient error in a few Chinese words (for the reason recorded after the last attempt). */
function describeTransient(err: unknown): string {
  const name = (err as { name?: string } | null)?.name ?? '';
  if (/Connection|HostNotFound|HostNotReachable|AccessDenied/.test(name)) return '数据库暂时无法连接';
  if (/Timeout/.test(name)) return '数据库响应超时';
  const code = (err as { parent?: { code?: string } } | null)?.parent?.code;
  if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY') return '数据正被其他操作占用';
  return '系统内部错误';
}
