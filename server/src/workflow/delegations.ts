import { inUnitOfWork, Op, type Actor as AuditActor, type Database, type InferCreationAttributes, type WfDelegation, type WfHistory, type WfTask } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { AppDeps } from '../deps.ts';
import { BASE_FUNCTIONS, compileExpr, ExprError } from '../expr/index.ts';
import { badRequest, conflict, forbidden, notFound } from '../http/errors.ts';
import type { JobRunner } from '../jobs/runner.ts';
import { createConditions, type ConditionChecker } from './conditions.ts';
import { MAX_DELEGATION_HOPS } from './hooks.ts';
import type { Person } from './service.ts';
import type { NotificationCentre } from '../notify/centre.ts';

/**
 * Out-of-office delegation management (R3.11, R5.1). People set a delegation for themselves; a
 * workflow admin may set one for someone else. While a delegation is in force, the engine's hooks
 * (hooks.ts `delegateFor`) send new tasks meant for the delegator to the delegate, on behalf of the
 * delegator. When it ends (by hand, or when `endsAt` passes through a durable job), the tasks it
 * sent away that are still open return to the delegator, one instance at a time under the instance
 * lock, with a history row naming both people, a notice and an audit row.
 *
 * Rules chosen here:
 * - a delegation's scope is (process, category, condition): at most one active delegation per
 *   delegator and scope may overlap in time (409); different scopes may coexist.
 * - a delegation that would close a loop (A→B while B→…→A is in force in an overlapping window) is
 *   refused (409); chains are followed up to MAX_DELEGATION_HOPS by the engine.
 * - the window starts no earlier than now (tasks already on the delegator's desk stay there), lasts
 *   at most one year and must end after it starts.
 * - which delegation sent a task away is recomputed from the rules in force when the task was
 *   created (the engine's first-match-by-id rule), so ending one of several delegations of the same
 *   person, or one link of a chain, moves only the tasks that link sent on. A task in a chain
 *   A→B→C whose link B→C ends goes back to B, still on behalf of A.
 * - open tasks are pending, queued, waiting and suspended ones; a task the delegate transferred or
 *   an admin reassigned is no longer the delegation's and stays where it is. A task is not returned
 *   to a delegator who is no longer active.
 */

export const DELEGATION_END_JOB = 'workflow.delegation.end';
export const DELEGATION_RETURN_JOB = 'workflow.delegation.return';

const OPEN: WfTask['status'][] = ['pending', 'queued', 'waiting', 'suspended'];
const MAX_WINDOW_MS = 366 * 86_400_000;
const SYSTEM: AuditActor = { id: null, name: '系统' };

export interface DelegationInput {
  /** whose tasks are delegated; defaults to the caller (someone else: workflow admins only) */
  delegatorId?: number;
  delegateId: number;
  processId?: number | null;
  categoryId?: number | null;
  condition?: string | null;
  startsAt?: Date;
  endsAt: Date;
}

export interface PersonRef {
  id: number;
  name: string;
}

export interface DelegationView {
  id: number;
  delegator: PersonRef;
  delegate: PersonRef;
  process: { id: number; name: string } | null;
  category: { id: number; name: string } | null;
  condition: string | null;
  startsAt: Date;
  endsAt: Date;
  status: 'active' | 'ended';
  /** scheduled: not started yet; active: in force now; ended: ended by hand or expired */
  state: 'scheduled' | 'active' | 'ended';
  createdBy: PersonRef | null;
  createdAt: Date;
  endedAt: Date | null;
}

/** when a delegation stopped applying (its end, or earlier when ended by hand) */
function effectiveEnd(d: WfDelegation): Date {
  return d.endedAt && d.endedAt < d.endsAt ? d.endedAt : d.endsAt;
}

/**
 * Was the delegation in force at `at`? Like the engine (startsAt ≤ now < endsAt); a delegation
 * ended by hand still covers tasks created in the very millisecond it was ended (they came first).
 */
function inForce(d: WfDelegation, at: Date): boolean {
  if (d.startsAt > at) return false;
  return d.endedAt && d.endedAt < d.endsAt ? at <= d.endedAt : at < d.endsAt;
}

const actorOf = (who: Person): AuditActor => ({ id: who.id, name: who.name, ip: who.ip ?? null, requestId: who.requestId ?? null });

export class DelegationService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly jobs: JobRunner,
    private readonly notices: NotificationCentre,
    private readonly conditions: ConditionChecker = createConditions(),
  ) {}

  // ── create ───────────────────────────────────────────────────────────────────────────────────

  async create(who: Person, input: DelegationInput): Promise<DelegationView> {
    const { User, WfProcess, WfCategory, WfDelegation } = this.db.models;
    const delegatorId = input.delegatorId ?? who.id;
    if (delegatorId !== who.id && !who.admin) throw forbidden('只有流程管理员可以为他人设置委托', 'NOT_WORKFLOW_ADMIN');
    if (input.delegateId === delegatorId) throw badRequest('不能委托给自己', [{ path: 'delegateId', message: '不能委托给自己' }], 'DELEGATE_SELF');
    if (input.processId != null && input.categoryId != null) {
      throw badRequest('委托范围只能选择一个流程或一个流程分类，不能同时选择', [{ path: 'categoryId', message: '不能与流程同时选择' }], 'DELEGATION_SCOPE');
    }
    const condition = input.condition?.trim() || null;
    if (condition) this.checkCondition(condition);

    const now = this.clock.now();
    const startsAt = input.startsAt && input.startsAt > now ? input.startsAt : now;
    const endsAt = input.endsAt;
    if (endsAt <= startsAt) throw badRequest('结束时间必须晚于开始时间（且晚于现在）', [{ path: 'endsAt', message: '结束时间必须晚于开始时间' }], 'DELEGATION_WINDOW');
    if (endsAt.getTime() - startsAt.getTime() > MAX_WINDOW_MS) throw badRequest('委托期限最长一年', [{ path: 'endsAt', message: '委托期限最长一年' }], 'DELEGATION_WINDOW');

    const view = await inUnitOfWork(this.db, actorOf(who), now, async (uow) => {
      const t = uow.t;
      // the delegator's row serialises concurrent creations for the same person (overlap, loops)
      const delegator = await User.findByPk(delegatorId, { transaction: t, lock: t.LOCK.UPDATE });
      if (!delegator || delegator.status !== 'active') throw badRequest('委托人不存在或已停用', [{ path: 'delegatorId', message: '委托人不存在或已停用' }], 'PERSON_NOT_FOUND');
      const delegate = await User.findByPk(input.delegateId, { attributes: ['id', 'name', 'status'], transaction: t, raw: true });
      if (!delegate || delegate.status !== 'active') throw badRequest('受托人不存在或已停用', [{ path: 'delegateId', message: '受托人不存在或已停用' }], 'PERSON_NOT_FOUND');
      if (input.processId != null && !(await WfProcess.findByPk(input.processId, { attributes: ['id'], transaction: t, raw: true }))) {
        throw badRequest('所选流程不存在', [{ path: 'processId', message: '流程不存在' }], 'PROCESS_NOT_FOUND');
      }
      if (input.categoryId != null && !(await WfCategory.findByPk(input.categoryId, { attributes: ['id'], transaction: t, raw: true }))) {
        throw badRequest('所选流程分类不存在', [{ path: 'categoryId', message: '流程分类不存在' }], 'CATEGORY_NOT_FOUND');
      }
      // every active delegation whose window overlaps the new one
      const overlapping = await WfDelegation.findAll({
        where: { status: 'active', startsAt: { [Op.lt]: endsAt }, endsAt: { [Op.gt]: startsAt } },
        order: [['id', 'ASC']],
        transaction: t,
      });
      const same = overlapping.find(
        (d) => d.delegatorId === delegatorId && d.processId === (input.processId ?? null) && d.categoryId === (input.categoryId ?? null) && (d.condition?.trim() || null) === condition,
      );
      if (same) throw conflict(`该时间段内已有相同范围的委托（编号 ${same.id}），请先结束它或调整时间`, 'DELEGATION_OVERLAP');
      const loop = findLoop(overlapping, delegatorId, input.delegateId);
      if (loop) {
        const names = await this.names(loop);
        throw conflict(`不能形成循环委托：${loop.map((id) => names.get(id) ?? String(id)).join(' → ')} → ${delegator.name}`, 'DELEGATION_CYCLE');
      }
      const row = await WfDelegation.create(
        {
          delegatorId,
          delegateId: input.delegateId,
          processId: input.processId ?? null,
          categoryId: input.categoryId ?? null,
          condition,
          startsAt,
          endsAt,
          status: 'active',
          createdBy: who.id,
          createdAt: now,
          endedAt: null,
        },
        { transaction: t },
      );
      // expiry is a durable job: it survives restarts and runs once across server instances
      await this.jobs.enqueue(DELEGATION_END_JOB, { delegationId: row.id }, { runAt: endsAt, dedupeKey: `${DELEGATION_END_JOB}:${row.id}`, transaction: t });
      uow.audit({
        action: 'workflow.delegation.create',
        objectType: 'wf_delegation',
        objectId: row.id,
        detail: { delegatorId, delegateId: input.delegateId, processId: row.processId, categoryId: row.categoryId, condition, startsAt, endsAt, forOther: delegatorId !== who.id },
      });
      if (delegatorId !== who.id) {
        this.notices.write(uow, [{ userId: delegatorId, title: '【委托】管理员为您设置了流程委托', body: `${who.name}为您设置了委托：期间您的待办交由${delegate.name}办理`, link: '/workflow/delegations', key: `wf.delegation.${row.id}.created.delegator` }]);
      }
      this.notices.write(uow, [{ userId: input.delegateId, title: '【委托】您已被设置为受托人', body: `${delegator.name}的待办将在委托期间交由您办理`, link: '/workflow/delegations', key: `wf.delegation.${row.id}.created.delegate` }]);
      return row;
    });
    return (await this.views([view]))[0]!;
  }

  /** the condition must compile and read form fields only (the engine gives it `form`, nothing else) */
  private checkCondition(source: string): void {
    if (source.length > 2000) throw badRequest('委托条件不能超过 2000 个字符', [{ path: 'condition', message: '条件过长' }], 'BAD_CONDITION');
    const why = this.conditions.check(source);
    if (why) throw badRequest(`委托条件有误：${why}`, [{ path: 'condition', message: why }], 'BAD_CONDITION');
    let refs: readonly string[];
    try {
      refs = compileExpr(source, { functions: BASE_FUNCTIONS }).refs;
    } catch (err) {
      if (err instanceof ExprError) throw badRequest(`委托条件有误：${err.message}`, [{ path: 'condition', message: err.message }], 'BAD_CONDITION');
      throw err;
    }
    const bad = refs.filter((r) => r !== 'form' && !r.startsWith('form.'));
    if (bad.length) {
      const msg = `委托条件只能使用表单字段（写作 form.字段名），不能使用：${bad.join('、')}`;
      throw badRequest(msg, [{ path: 'condition', message: msg }], 'BAD_CONDITION');
    }
  }

  // ── read ─────────────────────────────────────────────────────────────────────────────────────

  /** mine: the delegations I gave and the ones I hold, newest first */
  async mine(userId: number): Promise<{ given: DelegationView[]; received: DelegationView[] }> {
    const { WfDelegation } = this.db.models;
    const [given, received] = await Promise.all([
      WfDelegation.findAll({ where: { delegatorId: userId }, order: [['id', 'DESC']], limit: 200 }),
      WfDelegation.findAll({ where: { delegateId: userId }, order: [['id', 'DESC']], limit: 200 }),
    ]);
    const all = await this.views([...given, ...received]);
    return { given: all.slice(0, given.length), received: all.slice(given.length) };
  }

  /** all delegations (workflow admins), filterable by person and status */
  async all(q: { page: number; pageSize: number; userId?: number; status?: 'active' | 'ended' }): Promise<{ total: number; items: DelegationView[] }> {
    const where: Record<string | symbol, unknown> = {};
    if (q.status) where.status = q.status;
    if (q.userId) where[Op.or] = [{ delegatorId: q.userId }, { delegateId: q.userId }];
    const { count, rows } = await this.db.models.WfDelegation.findAndCountAll({ where, order: [['id', 'DESC']], offset: (q.page - 1) * q.pageSize, limit: q.pageSize });
    return { total: count, items: await this.views(rows) };
  }

  async get(who: Person, id: number): Promise<DelegationView> {
    const d = await this.db.models.WfDelegation.findByPk(id);
    if (!d || (!who.admin && d.delegatorId !== who.id && d.delegateId !== who.id && d.createdBy !== who.id)) throw notFound('委托不存在');
    return (await this.views([d]))[0]!;
  }

  private async names(ids: (number | null)[]): Promise<Map<number, string>> {
    const list = [...new Set(ids.filter((x): x is number => typeof x === 'number'))];
    if (!list.length) return new Map();
    const rows = await this.db.models.User.findAll({ where: { id: list }, attributes: ['id', 'name'], raw: true });
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  private async views(rows: WfDelegation[]): Promise<DelegationView[]> {
    const { WfProcess, WfCategory } = this.db.models;
    const people = await this.names(rows.flatMap((r) => [r.delegatorId, r.delegateId, r.createdBy]));
    const pids = [...new Set(rows.map((r) => r.processId).filter((x): x is number => x !== null))];
    const cids = [...new Set(rows.map((r) => r.categoryId).filter((x): x is number => x !== null))];
    const procs = new Map(pids.length ? (await WfProcess.findAll({ where: { id: pids }, attributes: ['id', 'name'], raw: true })).map((p) => [p.id, p.name]) : []);
    const cats = new Map(cids.length ? (await WfCategory.findAll({ where: { id: cids }, attributes: ['id', 'name'], raw: true })).map((c) => [c.id, c.name]) : []);
    const now = this.clock.now();
    const ref = (id: number): PersonRef => ({ id, name: people.get(id) ?? '' });
    return rows.map((r) => ({
      id: r.id,
      delegator: ref(r.delegatorId),
      delegate: ref(r.delegateId),
      process: r.processId === null ? null : { id: r.processId, name: procs.get(r.processId) ?? '' },
      category: r.categoryId === null ? null : { id: r.categoryId, name: cats.get(r.categoryId) ?? '' },
      condition: r.condition,
      startsAt: r.startsAt,
      endsAt: r.endsAt,
      status: r.status,
      state: r.status === 'ended' || r.endsAt <= now ? 'ended' : r.startsAt > now ? 'scheduled' : 'active',
      createdBy: r.createdBy === null ? null : ref(r.createdBy),
      createdAt: r.createdAt,
      endedAt: r.endedAt,
    }));
  }

  // ── end ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * End a delegation early (the delegator, whoever created it, or a workflow admin). Its open tasks
   * return to the delegator at once; a durable job repeats the return in case this process stops
   * half-way (it finds nothing left to do otherwise).
   */
  async end(who: Person, id: number): Promise<{ delegation: DelegationView; returned: number }> {
    const d0 = await this.db.models.WfDelegation.findByPk(id, { attributes: ['delegatorId', 'delegateId', 'createdBy'], raw: true });
    if (!d0 || (!who.admin && d0.delegatorId !== who.id && d0.delegateId !== who.id && d0.createdBy !== who.id)) throw notFound('委托不存在');
    if (!who.admin && d0.delegatorId !== who.id && d0.createdBy !== who.id) throw forbidden('只有委托人或流程管理员可以结束委托', 'NOT_DELEGATOR');
    const ended = await this.markEnded(id, actorOf(who), 'manual');
    if (!ended) throw conflict('委托已结束', 'DELEGATION_ENDED');
    const returned = await this.returnTasks(id, actorOf(who));
    return { delegation: await this.get({ ...who, admin: true }, id), returned };
  }

  /** the expiry job: endsAt has passed (a delegation already ended by hand is left alone) */
  async expire(id: number): Promise<number> {
    const d = await this.db.models.WfDelegation.findByPk(id, { attributes: ['endsAt', 'status'], raw: true });
    if (!d) return 0;
    if (d.status === 'active') {
      // run early (a clock moved back): try again when it is really due
      if (d.endsAt > this.clock.now()) throw new Error(`delegation ${id} is not due until ${d.endsAt.toISOString()}`);
      await this.markEnded(id, SYSTEM, 'expired');
    }
    return this.returnTasks(id, SYSTEM);
  }

  /** status → ended in one unit of work with its audit row and the return job; false when already ended */
  private async markEnded(id: number, actor: AuditActor, reason: 'manual' | 'expired'): Promise<boolean> {
    const now = this.clock.now();
    return inUnitOfWork(this.db, actor, now, async (uow) => {
      const t = uow.t;
      const d = await this.db.models.WfDelegation.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!d || d.status === 'ended') return false;
      const endedAt = reason === 'expired' ? d.endsAt : now;
      await d.update({ status: 'ended', endedAt }, { transaction: t });
      await this.jobs.enqueue(DELEGATION_RETURN_JOB, { delegationId: id }, { runAt: now, dedupeKey: `${DELEGATION_RETURN_JOB}:${id}`, transaction: t });
      uow.audit({ action: 'workflow.delegation.end', objectType: 'wf_delegation', objectId: id, detail: { reason, delegatorId: d.delegatorId, delegateId: d.delegateId, endedAt } });
      return true;
    });
  }

  /**
   * Give the delegation's still-open tasks back to the delegator. One unit of work per instance,
   * with the instance row locked as every engine action does, so this never interleaves with an
   * approval on the same instance. Returns how many tasks moved; repeating it moves nothing more.
   */
  async returnTasks(id: number, actor: AuditActor): Promise<number> {
    const { WfDelegation, WfTask } = this.db.models;
    const d = await WfDelegation.findByPk(id);
    if (!d) return 0;
    const end = effectiveEnd(d);
    // every rule that may have been in force while this one was: chains are recomputed from them
    const rules = await WfDelegation.findAll({ where: { startsAt: { [Op.lte]: end }, endsAt: { [Op.gt]: d.startsAt } }, order: [['id', 'ASC']] });
    const downstream = reachable(rules, d.delegateId);
    const candidates = await WfTask.findAll({
      where: { status: OPEN, onBehalfOf: { [Op.ne]: null }, assigneeId: [...downstream], createdAt: { [Op.gte]: d.startsAt, [Op.lte]: end } },
      attributes: ['id', 'instanceId'],
      order: [['id', 'ASC']],
      raw: true,
    });
    const byInstance = new Map<number, number[]>();
    for (const c of candidates) byInstance.set(c.instanceId, [...(byInstance.get(c.instanceId) ?? []), c.id]);
    let moved = 0;
    for (const [instanceId, taskIds] of byInstance) moved += await this.returnOnInstance(d, rules, instanceId, taskIds, actor);
    return moved;
  }

  private async returnOnInstance(d: WfDelegation, rules: WfDelegation[], instanceId: number, taskIds: number[], actor: AuditActor): Promise<number> {
    const { WfInstance, WfProcess, WfTask, WfHistory, User } = this.db.models;
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const inst = await WfInstance.findByPk(instanceId, { transaction: t, lock: t.LOCK.UPDATE });
      if (!inst) return 0;
      const proc = await WfProcess.findByPk(inst.processId, { attributes: ['id', 'categoryId'], transaction: t, raw: true });
      const tasks = await WfTask.findAll({ where: { id: taskIds, status: OPEN }, order: [['id', 'ASC']], transaction: t });
      const moves: { task: WfTask; from: number; to: number }[] = [];
      for (const task of tasks) {
        if (task.onBehalfOf === null) continue;
        const chain = this.chainAt(rules, task.onBehalfOf, task.createdAt, proc?.id ?? null, proc?.categoryId ?? null, inst.formData);
        const k = chain.rules.findIndex((r) => r.id === d.id);
        // this delegation sent the task on, and it still sits with someone it reached
        if (k < 0 || chain.people.indexOf(task.assigneeId) <= k) continue;
        moves.push({ task, from: task.assigneeId, to: chain.people[k]! });
      }
      if (!moves.length) return 0;
      const people = await User.findAll({ where: { id: [...new Set(moves.flatMap((m) => [m.from, m.to, d.delegatorId, d.delegateId]))] }, attributes: ['id', 'name', 'status'], transaction: t, raw: true });
      const person = new Map(people.map((p) => [p.id, p]));
      const name = (id: number) => person.get(id)?.name ?? '';
      const history: Omit<InferCreationAttributes<WfHistory>, 'id'>[] = [];
      const done: number[] = [];
      for (const { task, from, to } of moves) {
        if (person.get(to)?.status !== 'active') continue;
        // back to the delegator: their own task again; back to a middle link: still for the first person
        const onBehalfOf = to === task.onBehalfOf ? null : task.onBehalfOf;
        await task.update({ assigneeId: to, onBehalfOf, rev: task.rev + 1 }, { transaction: t });
        done.push(task.id);
        history.push({
          instanceId,
          at: uow.now,
          actorId: actor.id,
          actorName: actor.name ?? '系统',
          onBehalfOf: null,
          nodeId: task.nodeId,
          nodeName: task.nodeName,
          taskId: task.id,
          action: 'delegation_return',
          comment: `委托已结束：${name(from)}代${name(to)}办理的任务退回${name(to)}`,
          detail: {
            delegationId: d.id,
            delegator: { id: d.delegatorId, name: name(d.delegatorId) },
            delegate: { id: d.delegateId, name: name(d.delegateId) },
            from: { id: from, name: name(from) },
            to: { id: to, name: name(to) },
            onBehalfOf,
          },
        });
        const what = task.kind === 'cc' ? '待阅' : '待办';
        this.notices.write(uow, [{ userId: to, title: `【${what}】${inst.title}`, body: `${task.nodeName}：委托已结束，原由${name(from)}代办的任务已退回给您，请处理`, link: `/workflow/tasks/${task.id}`, key: `wf.task.${task.id}.delegation_return.${d.id}.to`, ...(task.kind === 'cc' ? {} : { kind: 'task' as const, taskId: task.id }) }]);
        this.notices.write(uow, [{ userId: from, title: `【委托结束】${inst.title}`, body: `${task.nodeName}：${name(d.delegatorId)}的委托已结束，该任务已交回${name(to)}，您无需再处理`, link: `/workflow/instances/${instanceId}`, key: `wf.task.${task.id}.delegation_return.${d.id}.from` }]);
      }
      if (!done.length) return 0;
      await WfHistory.bulkCreate(history, { transaction: t });
      await inst.update({ updatedAt: uow.now, rev: inst.rev + 1 }, { transaction: t });
      uow.audit({ action: 'workflow.delegation.return', objectType: 'wf_instance', objectId: instanceId, detail: { delegationId: d.id, taskIds: done } });
      return done.length;
    });
  }

  /**
   * The delegation chain the engine followed for `userId` at `at` (hooks.ts `delegateFor`: first
   * matching rule by id, no person twice, at most MAX_DELEGATION_HOPS links).
   */
  private chainAt(rules: WfDelegation[], userId: number, at: Date, processId: number | null, categoryId: number | null, form: Record<string, unknown>): { people: number[]; rules: WfDelegation[] } {
    const people = [userId];
    const used: WfDelegation[] = [];
    let current = userId;
    for (let hop = 0; hop < MAX_DELEGATION_HOPS; hop++) {
      const rule = rules.find(
        (r) =>
          r.delegatorId === current &&
          inForce(r, at) &&
          (r.processId === null || r.processId === processId) &&
          (r.categoryId === null || r.categoryId === categoryId) &&
          (!r.condition || this.holds(r.condition, form)),
      );
      if (!rule || people.includes(rule.delegateId)) break;
      people.push(rule.delegateId);
      used.push(rule);
      current = rule.delegateId;
    }
    return { people, rules: used };
  }

  private holds(condition: string, form: Record<string, unknown>): boolean {
    try {
      return this.conditions.evaluate(condition, { form });
    } catch {
      return false;
    }
  }
}

/** people reachable from `from` along delegations (including `from`), at most MAX_DELEGATION_HOPS links */
function reachable(rules: WfDelegation[], from: number): Set<number> {
  const seen = new Set([from]);
  let frontier = [from];
  for (let hop = 0; hop < MAX_DELEGATION_HOPS && frontier.length; hop++) {
    const next: number[] = [];
    for (const r of rules) if (frontier.includes(r.delegatorId) && !seen.has(r.delegateId)) next.push(r.delegateId);
    for (const n of next) seen.add(n);
    frontier = next;
  }
  return seen;
}

/** a path delegate → … → delegator along `rules` (the loop the new link would close), or null */
function findLoop(rules: WfDelegation[], delegatorId: number, delegateId: number): number[] | null {
  const prev = new Map<number, number>();
  const queue = [delegateId];
  const seen = new Set([delegateId]);
  while (queue.length) {
    const cur = queue.shift()!;
    if (cur === delegatorId) {
      const path = [cur];
      let p = cur;
      while (prev.has(p)) path.unshift((p = prev.get(p)!));
      // delegator → delegate → … → delegator
      return [delegatorId, ...path.slice(0, -1)];
    }
    for (const r of rules) {
      if (r.delegatorId === cur && !seen.has(r.delegateId)) {
        seen.add(r.delegateId);
        prev.set(r.delegateId, cur);
        queue.push(r.delegateId);
      }
    }
  }
  return null;
}

const services = new WeakMap<AppDeps, DelegationService>();

/** One delegation service per app; its jobs are registered with the runner on first use. */
export function delegationsOf(deps: AppDeps): DelegationService {
  let s = services.get(deps);
  if (s) return s;
  s = new DelegationService(deps.db, deps.clock, deps.jobs, deps.notices);
  registerDelegationJobs(deps, s);
  services.set(deps, s);
  return s;
}

export function registerDelegationJobs(deps: AppDeps, s: DelegationService): void {
  deps.jobs.register(DELEGATION_END_JOB, async (payload) => {
    await s.expire((payload as { delegationId: number }).delegationId);
  });
  deps.jobs.register(DELEGATION_RETURN_JOB, async (payload) => {
    await s.returnTasks((payload as { delegationId: number }).delegationId, SYSTEM);
  });
}
