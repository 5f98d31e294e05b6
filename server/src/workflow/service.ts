import { inUnitOfWork, Op, UniqueConstraintError, type Actor as AuditActor, type Database, type Transaction, type WfInstance, type WfTask, type WfToken, type WfUrgency } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, forbidden, notFound, tooManyRequests } from '../http/errors.ts';
import { ACTIONABLE, isHuman, TASK_ACTIONS, type NodeDef, type TaskAction } from './definition.ts';
import { Run, type EngineHooks } from './engine.ts';
import type { ProcessService } from './processes.ts';
import type { Graph } from './graph.ts';
import { PROCESS } from './processes.ts';
import type { AccessService } from '../access/grants.ts';
import type { FieldPermissions } from '../forms/index.ts';
import type { WorkflowForms } from './forms.ts';
import type { NotificationCentre } from '../notify/centre.ts';

/**
 * Runtime actions (issue 4 "Runtime actions", R3.2, R3.5, R3.9, R3.11): every action locks the
 * instance row, runs the engine inside one unit of work (state, history, audit, notifications
 * together), is audited, and is idempotent per person and client key. Two people acting on one
 * task at once: the first wins, the second gets 409 naming who handled it.
 */

export interface Person {
  id: number;
  name: string;
  ip?: string | null;
  requestId?: string | null;
  /** holds workflow:admin (monitoring and interventions) */
  admin?: boolean;
}

export interface StartInput {
  processKey: string;
  formData: Record<string, unknown>;
  title?: string;
  urgency?: WfUrgency;
  /** save as a draft instead of submitting */
  draft?: boolean;
  /** handlers picked by the initiator for nodes that ask for them: nodeId → user ids */
  chosen?: Record<string, number[]>;
  clientKey?: string;
  /** another system starting it for the initiator (R3.12): named in the history and the audit */
  via?: { id: number; name: string };
}

export type TaskActionInput =
  | { action: 'approve'; comment?: string; formData?: Record<string, unknown>; chosen?: Record<string, number[]> }
  | { action: 'propose'; comment: string; formData?: Record<string, unknown>; chosen?: Record<string, number[]> }
  | { action: 'reject'; comment: string; toInitiator?: boolean }
  | { action: 'return'; comment: string; toNode: string; direct?: boolean }
  | { action: 'transfer'; comment?: string; toUserId: number }
  | { action: 'addSign'; comment?: string; userIds: number[]; mode: 'before' | 'after' | 'parallel' }
  | { action: 'removeAddSign'; addSignTaskId: number; comment?: string }
  | { action: 'read'; comment?: string }
  | { action: 'resubmit'; comment?: string; formData?: Record<string, unknown>; chosen?: Record<string, number[]> }
  | { action: 'suspend'; comment?: string }
  | { action: 'resume'; comment?: string };

const URGE_INTERVAL_MS = 10 * 60_000;
const MAX_FORM_BYTES = 512 * 1024;

class Replay extends Error {
  constructor(readonly instanceId: number | null) {
    super('replay');
  }
}

export class WorkflowService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly processes: ProcessService,
    private readonly hooks: EngineHooks,
    private readonly access: AccessService,
    private readonly forms: WorkflowForms,
    private readonly notices: NotificationCentre,
  ) {}

  /** field permissions of a node (the start node's for the initiator's writes) */
  private fieldPermissions(graph: Graph, nodeId: string): FieldPermissions {
    const n = graph.node(nodeId);
    return n.type === 'start' || isHuman(n) ? (n.fieldPermissions ?? {}) : {};
  }

  // ── the frame around every action ───────────────────────────────────────────────────────────

  /**
   * Lock the instance, run `fn` with an engine run, record the notices and the audit row, all in
   * one transaction. A repeated client key returns the instance as the first call left it.
   */
  private async mutate<T>(who: Omit<Person, 'id'> & { id: number | null }, instanceId: number, clientKey: string | undefined, audit: string, fn: (run: Run) => Promise<T>): Promise<T | null> {
    const actor: AuditActor = { id: who.id, name: who.name, ip: who.ip ?? null, requestId: who.requestId ?? null };
    try {
      return await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
        const t = uow.t;
        if (clientKey && who.id !== null) await this.claimKey(who.id, clientKey, instanceId, uow.now, t);
        const inst = await this.db.models.WfInstance.findByPk(instanceId, { transaction: t, lock: t.LOCK.UPDATE });
        if (!inst) throw notFound('流程实例不存在');
        const { graph } = await this.processes.graphOf(inst.versionId, t);
        const run = new Run(this.db, uow, inst, graph, { id: who.id, name: who.name }, this.hooks);
        await run.load();
        const out = await fn(run);
        await run.refreshCurrent();
        this.flush(run);
        uow.audit({ action: `workflow.${audit}`, objectType: 'wf_instance', objectId: inst.id, detail: { status: inst.status } });
        return out;
      });
    } catch (err) {
      if (err instanceof Replay) return null;
      // a concurrent duplicate inserted the same key first: the action happened once
      if (err instanceof UniqueConstraintError && clientKey && who.id !== null && (await this.keyExists(who.id, clientKey))) return null;
      throw err;
    }
  }

  private async keyExists(userId: number, clientKey: string): Promise<boolean> {
    return !!(await this.db.models.WfActionKey.findOne({ where: { userId, clientKey } }));
  }

  private async claimKey(userId: number, clientKey: string, instanceId: number | null, now: Date, t: Transaction): Promise<void> {
    const seen = await this.db.models.WfActionKey.findOne({ where: { userId, clientKey }, transaction: t });
    if (seen) throw new Replay(seen.instanceId);
    await this.db.models.WfActionKey.create({ userId, clientKey, instanceId, createdAt: now }, { transaction: t });
  }

  private flush(run: Run): void {
    this.notices.write(run.uow, run.allNotices());
  }

  private checkForm(data: Record<string, unknown>): void {
    if (Buffer.byteLength(JSON.stringify(data)) > MAX_FORM_BYTES) throw badRequest('表单内容过大（超过 512 KB）', [{ path: 'formData', message: '表单内容过大' }], 'FORM_TOO_LARGE');
  }

  // ── start, drafts ───────────────────────────────────────────────────────────────────────────

  async canStart(userId: number, processId: number): Promise<boolean> {
    return this.access.can(userId, 'start', { type: PROCESS, id: processId });
  }

  async start(who: Person, input: StartInput): Promise<number> {
    this.checkForm(input.formData);
    const p = await this.processes.byKey(input.processKey);
    if (!p.enabled) throw conflict(`流程“${p.name}”已停用`, 'PROCESS_DISABLED');
    if (!(await this.canStart(who.id, p.id))) throw forbidden(`您没有发起“${p.name}”的权限`, 'CANNOT_START');
    const versionId = await this.processes.latestVersionId(p);
    const { definition, graph: g0 } = await this.processes.graphOf(versionId);
    const formVersionId = definition.formKey ? await this.forms.pin(definition.formKey) : null;
    // drafts may be incomplete: they are checked when submitted
    const formData =
      formVersionId && !input.draft
        ? await this.forms.validate(formVersionId, input.formData, { userId: who.id, now: this.clock.now(), previous: null, permissions: this.fieldPermissions(g0, g0.startId) })
        : input.formData;
    const actor: AuditActor = { id: who.id, name: who.name, ip: who.ip ?? null, requestId: who.requestId ?? null };
    try {
      return await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
        const t = uow.t;
        if (input.clientKey) await this.claimKey(who.id, input.clientKey, null, uow.now, t);
        const me = await this.db.models.User.findByPk(who.id, { attributes: ['deptId', 'name'], transaction: t, raw: true });
        const inst = await this.db.models.WfInstance.create(
          {
            processId: p.id,
            versionId,
            title: (input.title?.trim() || `${me?.name ?? who.name}的${p.name}`).slice(0, 200),
            initiatorId: who.id,
            initiatorDeptId: me?.deptId ?? null,
            status: input.draft ? 'draft' : 'running',
            urgency: input.urgency ?? 'normal',
            formData,
            formVersionId,
            currentNodes: null,
            restartedFrom: null,
            createdAt: uow.now,
            startedAt: input.draft ? null : uow.now,
            endedAt: null,
            updatedAt: uow.now,
          },
          { transaction: t },
        );
        if (input.clientKey) await this.db.models.WfActionKey.update({ instanceId: inst.id }, { where: { userId: who.id, clientKey: input.clientKey }, transaction: t });
        const { graph } = await this.processes.graphOf(versionId, t);
        const run = new Run(this.db, uow, inst, graph, { id: who.id, name: who.name }, this.hooks);
        if (input.draft) {
          run.history('draft', {});
        } else {
          run.chosen = input.chosen ?? {};
          const tok = await run.begin();
          run.history('submit', { nodeId: graph.startId, ...(input.via ? { detail: { via: input.via } } : {}) });
          await run.leave(tok);
        }
        await run.refreshCurrent();
        this.flush(run);
        uow.audit({ action: input.draft ? 'workflow.draft' : 'workflow.start', objectType: 'wf_instance', objectId: inst.id, detail: { process: p.processKey, versionId, ...(input.via ? { via: input.via } : {}) } });
        return inst.id;
      });
    } catch (err) {
      if (err instanceof Replay && err.instanceId) return err.instanceId;
      throw err;
    }
  }

  async updateDraft(who: Person, instanceId: number, patch: { formData?: Record<string, unknown>; title?: string; urgency?: WfUrgency }): Promise<void> {
    if (patch.formData) this.checkForm(patch.formData);
    await this.mutate(who, instanceId, undefined, 'draft.update', async (run) => {
      this.ownDraft(run.inst, who);
      await run.inst.update(
        { ...(patch.formData ? { formData: patch.formData } : {}), ...(patch.title ? { title: patch.title } : {}), ...(patch.urgency ? { urgency: patch.urgency } : {}) },
        { transaction: run.t },
      );
    });
  }

  async submitDraft(who: Person, instanceId: number, o: { chosen?: Record<string, number[]>; clientKey?: string } = {}): Promise<void> {
    await this.mutate(who, instanceId, o.clientKey, 'submit', async (run) => {
      this.ownDraft(run.inst, who);
      const p = await this.db.models.WfProcess.findByPk(run.inst.processId, { transaction: run.t });
      if (!p?.enabled) throw conflict('流程已停用，不能提交', 'PROCESS_DISABLED');
      if (run.inst.formVersionId) {
        const value = await this.forms.validate(run.inst.formVersionId, run.inst.formData, { userId: who.id, now: run.uow.now, previous: null, permissions: this.fieldPermissions(run.graph, run.graph.startId), t: run.t });
        await run.inst.update({ formData: value }, { transaction: run.t });
      }
      await run.inst.update({ status: 'running', startedAt: run.uow.now }, { transaction: run.t });
      run.chosen = o.chosen ?? {};
      const tok = await run.begin();
      run.history('submit', { nodeId: run.graph.startId });
      await run.leave(tok);
    });
  }

  async deleteDraft(who: Person, instanceId: number): Promise<void> {
    await inUnitOfWork(this.db, { id: who.id, name: who.name }, this.clock.now(), async (uow) => {
      const inst = await this.db.models.WfInstance.findByPk(instanceId, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!inst) throw notFound('流程实例不存在');
      this.ownDraft(inst, who);
      await this.db.models.WfHistory.destroy({ where: { instanceId }, transaction: uow.t });
      await inst.destroy({ transaction: uow.t });
      uow.audit({ action: 'workflow.draft.delete', objectType: 'wf_instance', objectId: instanceId });
    });
  }

  /**
   * An administrator deletes a finished instance (e.g. a test entry or one filed by mistake), with a
   * reason. Its rows go; the audit log keeps what it was, who deleted it and why.
   */
  async deleteFinished(who: Person, instanceId: number, reason: string): Promise<void> {
    this.requireAdmin(who);
    await inUnitOfWork(this.db, { id: who.id, name: who.name, ip: who.ip ?? null, requestId: who.requestId ?? null }, this.clock.now(), async (uow) => {
      const { WfInstance, WfTask, WfToken, WfHistory } = this.db.models;
      const inst = await WfInstance.findByPk(instanceId, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!inst) throw notFound('流程实例不存在');
      if (!['completed', 'rejected', 'withdrawn', 'terminated'].includes(inst.status)) throw conflict('只能删除已结束的流程；运行中的请先终止', 'NOT_FINISHED');
      if (await WfInstance.count({ where: { parentInstanceId: instanceId }, transaction: uow.t })) throw conflict('该流程有子流程记录，不能删除', 'HAS_CHILDREN');
      await WfTask.destroy({ where: { instanceId }, transaction: uow.t });
      await WfToken.destroy({ where: { instanceId }, transaction: uow.t });
      await WfHistory.destroy({ where: { instanceId }, transaction: uow.t });
      await inst.destroy({ transaction: uow.t });
      uow.audit({
        action: 'workflow.instance.delete',
        objectType: 'wf_instance',
        objectId: instanceId,
        detail: { reason, title: inst.title, processId: inst.processId, initiatorId: inst.initiatorId, status: inst.status, createdAt: inst.createdAt.toISOString() },
      });
    });
  }

  private ownDraft(inst: WfInstance, who: Person): void {
    if (inst.initiatorId !== who.id) throw notFound('流程实例不存在');
    if (inst.status !== 'draft') throw conflict('只有草稿可以这样操作', 'NOT_DRAFT');
  }

  /** restart (重新发起) a rejected or withdrawn instance: a new draft with the same form */
  async restart(who: Person, instanceId: number): Promise<number> {
    const src = await this.db.models.WfInstance.findByPk(instanceId);
    if (!src || src.initiatorId !== who.id) throw notFound('流程实例不存在');
    if (src.status !== 'rejected' && src.status !== 'withdrawn') throw conflict('只有被驳回或已撤回的流程可以重新发起', 'CANNOT_RESTART');
    const p = await this.db.models.WfProcess.findByPk(src.processId);
    const id = await this.start(who, { processKey: p!.processKey, formData: src.formData, title: src.title, urgency: src.urgency, draft: true });
    await this.db.models.WfInstance.update({ restartedFrom: src.id }, { where: { id } });
    return id;
  }

  // ── task actions ────────────────────────────────────────────────────────────────────────────

  async act(who: Person, taskId: number, input: TaskActionInput, clientKey?: string): Promise<number> {
    const task0 = await this.db.models.WfTask.findByPk(taskId, { attributes: ['id', 'instanceId'] });
    if (!task0) throw notFound('任务不存在');
    await this.mutate(who, task0.instanceId, clientKey, `task.${input.action}`, async (run) => {
      const task = run.task(taskId);
      if (!task || task.assigneeId !== who.id) throw notFound('任务不存在');
      if (input.action === 'resume') {
        if (task.status !== 'suspended') throw conflict('任务未挂起', 'TASK_NOT_SUSPENDED');
        run.ensureRunning();
        run.setTask(task, { status: 'pending' });
        run.history('task_resume', { nodeId: task.nodeId, taskId, comment: input.comment ?? null });
        return;
      }
      await this.ensureOpen(task);
      // 阅办 / 分发: reading a cc never moves the flow; it stays possible after the step or the
      // instance has ended
      if (task.kind === 'cc' || input.action === 'read') {
        if (task.kind !== 'cc' || input.action !== 'read') throw conflict(task.kind === 'cc' ? '抄送任务只能阅读和填写意见' : '审批任务请选择同意、驳回等操作', 'CC_ONLY_READ');
        await run.closeTask(task, 'read', input.comment ?? null);
        run.history('read', { nodeId: task.nodeId, taskId, comment: input.comment ?? null });
        return;
      }
      run.ensureRunning();
      const tok = run.token(task.tokenId);
      if (!tok || tok.status !== 'active') throw conflict('任务所在步骤已结束', 'TASK_CLOSED');
      const node = run.graph.node(task.nodeId);
      const allowed = isHuman(node) ? (node.actions ?? TASK_ACTIONS) : TASK_ACTIONS;
      const needs: Partial<Record<TaskActionInput['action'], TaskAction>> = { reject: 'reject', return: 'return', transfer: 'transfer', addSign: 'addSign' };
      const need = needs[input.action];
      if (need && !allowed.includes(need)) throw forbidden(`“${node.name}”不允许${ACTION_NAMES[input.action]}`, 'ACTION_NOT_ALLOWED');
      if (task.kind === 'start' && input.action !== 'resubmit') throw conflict('请修改后重新提交', 'RESUBMIT_ONLY');
      const h = { nodeId: task.nodeId, taskId, onBehalfOf: task.onBehalfOf };
      switch (input.action) {
        case 'approve':
        case 'propose':
        case 'resubmit': {
          if (input.action === 'propose' && node.type !== 'handle') throw conflict('只有办理步骤可以拟办', 'PROPOSE_ONLY_ON_HANDLE');
          if (input.formData) {
            this.checkForm(input.formData);
            const merged = { ...run.inst.formData, ...input.formData };
            const value = run.inst.formVersionId
              ? await this.forms.validate(run.inst.formVersionId, merged, { userId: who.id, now: run.uow.now, previous: run.inst.formData, permissions: this.fieldPermissions(run.graph, task.nodeId), t: run.t })
              : merged;
            await run.inst.update({ formData: value }, { transaction: run.t });
          }
          run.chosen = input.chosen ?? {};
          await run.closeTask(task, 'approve', input.comment ?? null);
          run.history(input.action, { ...h, comment: input.comment ?? null });
          if (task.kind === 'addsign' && task.addMode === 'before') await this.unblock(run, task);
          await run.evaluate(tok);
          return;
        }
        case 'reject': {
          await run.closeTask(task, 'reject', input.comment);
          run.history('reject', { ...h, comment: input.comment });
          if (input.toInitiator) {
            run.history('rejected_to_initiator', { nodeId: task.nodeId });
            await run.moveTo(tok, run.graph.startId);
            return;
          }
          await run.evaluate(tok);
          return;
        }
        case 'return': {
          const targets = await this.returnTargets(run.inst.id, run.graph, task.nodeId, run.t);
          if (!targets.some((x) => x.nodeId === input.toNode)) throw badRequest('只能退回到已经办理过的前序步骤', [{ path: 'toNode', message: '不能退回到该步骤' }], 'BAD_RETURN_TARGET');
          await run.closeTask(task, 'return', input.comment);
          run.history('return', { ...h, comment: input.comment, detail: { toNode: input.toNode, direct: !!input.direct } });
          await run.moveTo(tok, input.toNode, { resumeNodeId: input.direct ? task.nodeId : null });
          return;
        }
        case 'transfer': {
          if (input.toUserId === who.id) throw badRequest('不能转给自己', [{ path: 'toUserId', message: '不能转给自己' }], 'TRANSFER_TO_SELF');
          await this.activeUsers([input.toUserId], 'toUserId');
          await run.closeTask(task, 'transfer', input.comment ?? null);
          // an add-sign keeps its place: the person it holds up still waits for the new holder
          const next = await run.createTask(tok, node, input.toUserId, task.kind, { seq: task.seq, status: 'pending', addMode: task.addMode, addedBy: task.addedBy, blockedBy: task.blockedBy });
          run.history('transfer', { ...h, comment: input.comment ?? null, detail: { toUserId: input.toUserId, newTaskId: next.id } });
          return;
        }
        case 'addSign': {
          if (task.kind === 'start') throw conflict('发起人不能加签', 'CANNOT_ADDSIGN');
          const ids = [...new Set(input.userIds)].filter((x) => x !== who.id);
          if (!ids.length) throw badRequest('请选择加签人员（不能是自己）', [{ path: 'userIds', message: '请选择加签人员' }], 'ADDSIGN_EMPTY');
          await this.activeUsers(ids, 'userIds');
          const open = (await run.tasksAt(tok)).filter((x) => x.status !== 'done' && x.status !== 'cancelled' && ids.includes(x.assigneeId));
          if (open.length) throw conflict('所选人员在本步骤已有待办，不能重复加签', 'ADDSIGN_DUPLICATE');
          if (input.mode === 'before') run.setTask(task, { status: 'waiting' });
          if (input.mode === 'after') await run.closeTask(task, 'approve', input.comment ?? null);
          for (const uid of ids) await run.createTask(tok, node, uid, 'addsign', { addMode: input.mode, addedBy: who.id, blockedBy: input.mode === 'before' ? task.id : null });
          run.history('add_sign', { ...h, comment: input.comment ?? null, detail: { userIds: ids, mode: input.mode } });
          if (input.mode === 'after') await run.evaluate(tok);
          return;
        }
        case 'removeAddSign': {
          const add = run.task(input.addSignTaskId);
          if (!add || add.kind !== 'addsign' || add.addedBy !== who.id || add.instanceId !== task.instanceId) throw notFound('加签任务不存在');
          if (add.status !== 'pending') throw conflict('加签人已处理，不能撤销加签', 'ADDSIGN_DONE');
          await run.closeTask(add, 'removed', input.comment ?? null, 'cancelled');
          run.history('remove_add_sign', { ...h, comment: input.comment ?? null, detail: { userId: add.assigneeId } });
          if (add.addMode === 'before') await this.unblock(run, add);
          await run.evaluate(tok);
          return;
        }
        case 'suspend':
          run.setTask(task, { status: 'suspended' });
          run.history('task_suspend', { ...h, comment: input.comment ?? null });
          return;
      }
    });
    return task0.instanceId;
  }

  /** an add-sign before me is done or removed: when nobody else is before me, my task opens again */
  private async unblock(run: Run, add: WfTask): Promise<void> {
    if (!add.blockedBy) return;
    if (run.findTasks((x) => x.blockedBy === add.blockedBy && x.status === 'pending' && x.kind === 'addsign').length) return;
    const mine = run.task(add.blockedBy);
    if (mine?.status === 'waiting') {
      run.setTask(mine, { status: 'pending' });
      await run.announce(mine);
    }
  }

  /** 409 with who handled it, when a task is no longer open */
  private async ensureOpen(task: WfTask): Promise<void> {
    if (task.status === 'pending') return;
    if (task.status === 'done') {
      const by = await this.db.models.User.findByPk(task.assigneeId, { attributes: ['name'], raw: true });
      throw conflict(`该任务已由${by?.name ?? '他人'}处理（${OUTCOME_NAMES[task.outcome ?? ''] ?? task.outcome ?? ''}）`, 'TASK_ALREADY_DONE');
    }
    if (task.status === 'cancelled') throw conflict('该任务已取消（流程已流转或已结束）', 'TASK_CANCELLED');
    if (task.status === 'waiting') throw conflict('该任务正在等待加签人处理', 'TASK_WAITING');
    if (task.status === 'suspended') throw conflict('该任务已挂起，请先恢复', 'TASK_SUSPENDED');
    throw conflict('还没轮到您处理该任务', 'TASK_QUEUED');
  }

  private async activeUsers(ids: number[], path: string): Promise<void> {
    const n = await this.db.models.User.count({ where: { id: ids, status: 'active' } });
    if (n !== ids.length) throw badRequest('所选人员不存在或已停用', [{ path, message: '人员不存在或已停用' }], 'PERSON_NOT_FOUND');
  }

  /** earlier steps this one may return to: handled before in this instance and leading here */
  async returnTargets(instanceId: number, graph: Graph, nodeId: string, t?: Transaction): Promise<{ nodeId: string; name: string }[]> {
    const done = await this.db.models.WfHistory.findAll({ where: { instanceId, action: ['node_complete', 'submit'] }, attributes: ['nodeId'], transaction: t, raw: true });
    const seen = new Set(done.map((d) => d.nodeId).filter((x): x is string => !!x));
    return [...seen]
      .filter((id) => id !== nodeId && graph.nodes.has(id) && ACTIONABLE.has(graph.node(id).type) && graph.canReach(id, nodeId))
      .map((id) => ({ nodeId: id, name: graph.node(id).name }));
  }

  async returnTargetsFor(who: Person, taskId: number): Promise<{ nodeId: string; name: string }[]> {
    const task = await this.db.models.WfTask.findByPk(taskId);
    if (!task || task.assigneeId !== who.id) throw notFound('任务不存在');
    if (task.status !== 'pending') return [];
    const inst = await this.db.models.WfInstance.findByPk(task.instanceId, { attributes: ['versionId'], raw: true });
    const { graph } = await this.processes.graphOf(inst!.versionId);
    return this.returnTargets(task.instanceId, graph, task.nodeId);
  }

  // ── instance actions ────────────────────────────────────────────────────────────────────────

  /** the initiator takes the instance back while nobody has acted on it since it was submitted */
  async withdraw(who: Person, instanceId: number, comment: string | null, clientKey?: string): Promise<void> {
    await this.mutate(who, instanceId, clientKey, 'withdraw', async (run) => {
      if (run.inst.initiatorId !== who.id) throw notFound('流程实例不存在');
      run.ensureRunning();
      const lastSubmit = await this.db.models.WfHistory.findOne({ where: { instanceId, action: ['submit', 'resubmit'] }, order: [['id', 'DESC']], transaction: run.t });
      const acted = await this.db.models.WfHistory.count({
        where: { instanceId, id: { [Op.gt]: lastSubmit?.id ?? 0 }, action: ['approve', 'reject', 'return', 'transfer', 'add_sign', 'read'], actorId: { [Op.ne]: who.id } },
        transaction: run.t,
      });
      // returned to the initiator (退回发起人): it is back in their hands, they may drop it
      const returned = (await run.openTasks()).some((x) => x.kind === 'start' && x.status === 'pending');
      if (acted && !returned) throw conflict('已有人处理，不能撤回；可以请处理人退回', 'CANNOT_WITHDRAW');
      run.history('withdraw_request', { comment });
      await run.finish('withdrawn');
    });
  }

  /** an approver takes back their own approval while the next step's handlers have not acted (撤回) */
  async withdrawTask(who: Person, taskId: number, comment: string | null, clientKey?: string): Promise<void> {
    const t0 = await this.db.models.WfTask.findByPk(taskId, { attributes: ['instanceId'] });
    if (!t0) throw notFound('任务不存在');
    await this.mutate(who, t0.instanceId, clientKey, 'task.withdraw', async (run) => {
      const task = run.task(taskId);
      if (!task || task.assigneeId !== who.id) throw notFound('任务不存在');
      run.ensureRunning();
      if (task.status !== 'done' || task.outcome !== 'approve') throw conflict('只能撤回自己已同意的任务', 'CANNOT_WITHDRAW_TASK');
      const later = await this.db.models.WfHistory.count({
        where: { instanceId: run.inst.id, id: { [Op.gt]: await this.historyIdOf(run, task) }, action: ['approve', 'reject', 'return', 'transfer', 'add_sign', 'resubmit'], actorId: { [Op.ne]: who.id } },
        transaction: run.t,
      });
      if (later) throw conflict('后续步骤已有人处理，不能撤回', 'CANNOT_WITHDRAW_TASK');
      const node = run.graph.node(task.nodeId);
      let tok = run.token(task.tokenId);
      // the step is still open (countersign, sequential): just reopen my task
      if (tok?.status === 'active' && tok.nodeId === task.nodeId) {
        run.history('withdraw_task', { nodeId: task.nodeId, taskId, comment });
        await run.createTask(tok, node, who.id, task.kind, { seq: task.seq, status: 'pending', onBehalfOf: task.onBehalfOf });
        return;
      }
      while (tok && tok.status !== 'active' && tok.status !== 'forked') tok = run.token(tok.parentId);
      if (!tok) throw conflict('流程已流转，不能撤回', 'CANNOT_WITHDRAW_TASK');
      run.history('withdraw_task', { nodeId: task.nodeId, taskId, comment });
      await run.moveTo(tok, task.nodeId);
    });
  }

  private async historyIdOf(run: Run, task: WfTask): Promise<number> {
    const h = await this.db.models.WfHistory.findOne({ where: { instanceId: run.inst.id, taskId: task.id, action: ['approve', 'add_sign'] }, order: [['id', 'DESC']], transaction: run.t });
    return h?.id ?? 0;
  }

  /** 催办: remind everyone who has the instance on their desk (the initiator or an admin) */
  async urge(who: Person, instanceId: number, comment: string | null): Promise<number> {
    let count = 0;
    await this.mutate(who, instanceId, undefined, 'urge', async (run) => {
      if (run.inst.initiatorId !== who.id && !who.admin) throw notFound('流程实例不存在');
      run.ensureRunning();
      const last = await this.db.models.WfHistory.findOne({ where: { instanceId, action: 'urge' }, order: [['id', 'DESC']], transaction: run.t });
      if (last && run.uow.now.getTime() - last.at.getTime() < URGE_INTERVAL_MS) {
        const wait = Math.ceil((URGE_INTERVAL_MS - (run.uow.now.getTime() - last.at.getTime())) / 1000);
        throw tooManyRequests(`催办过于频繁，请 ${Math.ceil(wait / 60)} 分钟后再试`, wait);
      }
      const open = (await run.openTasks()).filter((x) => x.status === 'pending' && x.kind !== 'cc');
      run.history('urge', { comment, detail: { userIds: open.map((x) => x.assigneeId) } });
      const hid = run.uow.now.getTime();
      for (const x of open) run.notify(x.assigneeId, `【催办】${run.inst.title}`, comment ?? `${who.name}催您尽快处理“${x.nodeName}”`, `/workflow/tasks/${x.id}`, `wf.urge.${hid}.${x.id}`);
      count = open.length;
    });
    return count;
  }

  /**
   * 分发: send a finished instance to departments and people to read (cc tasks outside the graph).
   * The initiator or a workflow admin may; someone who already has it unread is not asked twice.
   */
  async distribute(who: Person, instanceId: number, to: { deptIds: number[]; userIds: number[]; comment: string | null }): Promise<number> {
    let count = 0;
    await this.mutate(who, instanceId, undefined, 'distribute', async (run) => {
      if (run.inst.initiatorId !== who.id && !who.admin) throw notFound('流程实例不存在');
      if (run.inst.status !== 'completed') throw conflict('只有已办结的流程可以分发', 'NOT_COMPLETED');
      const { User, UserDept } = this.db.models;
      const primary = to.deptIds.length ? await User.findAll({ where: { deptId: to.deptIds, status: 'active' }, attributes: ['id'], raw: true, transaction: run.t }) : [];
      const secondary = to.deptIds.length ? await UserDept.findAll({ where: { deptId: to.deptIds }, attributes: ['userId'], raw: true, transaction: run.t }) : [];
      const named = to.userIds.length ? await User.findAll({ where: { id: to.userIds, status: 'active' }, attributes: ['id'], raw: true, transaction: run.t }) : [];
      if (named.length !== new Set(to.userIds).size) throw badRequest('所选人员不存在或已停用', [{ path: 'userIds', message: '人员不存在或已停用' }], 'PERSON_NOT_FOUND');
      const active = new Set((await User.findAll({ where: { id: secondary.map((r) => r.userId), status: 'active' }, attributes: ['id'], raw: true, transaction: run.t })).map((r) => r.id));
      const ids = [...new Set([...primary.map((r) => r.id), ...secondary.map((r) => r.userId).filter((id) => active.has(id)), ...named.map((r) => r.id)])];
      const unread = new Set(run.findTasks((x) => x.nodeId === DISTRIBUTE_NODE.id && x.status === 'pending').map((x) => x.assigneeId));
      const fresh = ids.filter((id) => !unread.has(id));
      if (!fresh.length) throw badRequest('没有需要分发的人员（所选部门没有在职人员，或都已收到）', [{ path: 'deptIds', message: '没有可分发的人员' }], 'NOBODY_TO_DISTRIBUTE');
      if (fresh.length > 5000) throw badRequest('一次最多分发给 5000 人', [{ path: 'deptIds', message: '人数过多' }], 'TOO_MANY');
      for (const uid of fresh) await run.createTask(null, DISTRIBUTE_NODE, uid, 'cc');
      run.history('distribute', { comment: to.comment, detail: { deptIds: to.deptIds, userIds: to.userIds, count: fresh.length } });
      count = fresh.length;
    });
    return count;
  }

  // ── sub-processes (子流程) ───────────────────────────────────────────────────────────────

  /**
   * Start the process a sub-process node names, in the same unit of work, as the parent's
   * initiator with a copy of the parent's form data. The parent token waits at the node until the
   * child ends: completed → the parent goes on; otherwise the parent is rejected with it.
   */
  async startChild(run: Run, tok: WfToken, node: Extract<NodeDef, { type: 'subprocess' }>): Promise<'running' | 'completed' | 'rejected'> {
    const p = await this.processes.byKey(node.processKey, run.t);
    if (!p.enabled) throw conflict(`子流程“${p.name}”已停用`, 'PROCESS_DISABLED');
    if (run.inst.parentInstanceId && (await this.depth(run.inst.parentInstanceId, run)) >= MAX_SUBPROCESS_DEPTH) {
      throw badRequest(`子流程嵌套超过 ${MAX_SUBPROCESS_DEPTH} 层，请检查流程配置`, undefined, 'SUBPROCESS_TOO_DEEP');
    }
    const versionId = await this.processes.latestVersionId(p, run.t);
    const { graph } = await this.processes.graphOf(versionId, run.t);
    const child = await this.db.models.WfInstance.create(
      {
        processId: p.id,
        versionId,
        title: `${run.inst.title}（子流程：${p.name}）`.slice(0, 200),
        initiatorId: run.inst.initiatorId,
        initiatorDeptId: run.inst.initiatorDeptId,
        status: 'running',
        urgency: run.inst.urgency,
        formData: run.inst.formData,
        formVersionId: graph.def.formKey && graph.def.formKey === run.graph.def.formKey ? run.inst.formVersionId : null,
        currentNodes: null,
        restartedFrom: null,
        parentInstanceId: run.inst.id,
        parentTokenId: tok.id,
        createdAt: run.uow.now,
        startedAt: run.uow.now,
        endedAt: null,
        updatedAt: run.uow.now,
      },
      { transaction: run.t },
    );
    const childRun = new Run(this.db, run.uow, child, graph, run.actor, this.hooks);
    childRun.parentActive = true;
    run.related.push(childRun);
    const root = await childRun.begin();
    childRun.history('submit', { nodeId: graph.startId, detail: { parentInstanceId: run.inst.id } });
    await childRun.leave(root);
    await childRun.refreshCurrent();
    run.history('subprocess_start', { nodeId: node.id, detail: { childInstanceId: child.id, process: p.processKey } });
    run.uow.audit({ action: 'workflow.subprocess.start', objectType: 'wf_instance', objectId: child.id, detail: { parentInstanceId: run.inst.id } });
    if (child.status === 'completed') return 'completed';
    if (child.status === 'running') return 'running';
    return 'rejected';
  }

  /** the parent ended early (withdrawn, rejected, terminated): its running children are terminated */
  async endChildren(run: Run): Promise<void> {
    const children = await this.db.models.WfInstance.findAll({ where: { parentInstanceId: run.inst.id, status: 'running' }, order: [['id', 'ASC']], transaction: run.t, lock: run.t.LOCK.UPDATE });
    for (const child of children) {
      const { graph } = await this.processes.graphOf(child.versionId, run.t);
      const childRun = new Run(this.db, run.uow, child, graph, run.actor, this.hooks);
      childRun.parentActive = true;
      run.related.push(childRun);
      await childRun.load();
      childRun.history('terminate', { comment: '主流程已结束，子流程随之终止' });
      await childRun.finish('terminated');
      await childRun.refreshCurrent();
    }
  }

  private async depth(parentId: number, run: Run): Promise<number> {
    let d = 1;
    let id: number | null = parentId;
    while (id && d <= MAX_SUBPROCESS_DEPTH) {
      const row: { parentInstanceId: number | null } | null = await this.db.models.WfInstance.findByPk(id, { attributes: ['parentInstanceId'], raw: true, transaction: run.t });
      id = row?.parentInstanceId ?? null;
      if (id) d++;
    }
    return d;
  }

  /** the child ended in its own action: lock the parent and move its waiting token on */
  async childFinished(run: Run, status: 'completed' | 'rejected' | 'withdrawn' | 'terminated'): Promise<void> {
    const parent = await this.db.models.WfInstance.findByPk(run.inst.parentInstanceId!, { transaction: run.t, lock: run.t.LOCK.UPDATE });
    if (!parent || parent.status !== 'running') return;
    const { graph } = await this.processes.graphOf(parent.versionId, run.t);
    const parentRun = new Run(this.db, run.uow, parent, graph, run.actor, this.hooks);
    run.related.push(parentRun);
    await parentRun.load();
    const tok = parentRun.token(run.inst.parentTokenId ?? null);
    if (!tok || tok.status !== 'active' || graph.node(tok.nodeId).type !== 'subprocess') return;
    parentRun.history('subprocess_end', { nodeId: tok.nodeId, detail: { childInstanceId: run.inst.id, status } });
    if (status === 'completed') await parentRun.leave(tok);
    else await parentRun.finish('rejected');
    await parentRun.refreshCurrent();
  }

  // ── timers (R3.8, R3.12) ────────────────────────────────────────────────────────────────────

  /** a delay node's time is up: the token moves on (once: a token that moved already is left alone) */
  async timerFired(instanceId: number, tokenId: number, nodeId: string): Promise<void> {
    await this.mutate(SYSTEM, instanceId, undefined, 'timer', async (run) => {
      const tok = run.token(tokenId);
      if (run.inst.status !== 'running' || !tok || tok.status !== 'active' || tok.nodeId !== nodeId) return;
      if (run.inst.suspended) throw conflict('流程已挂起，定时器稍后重试', 'INSTANCE_SUSPENDED');
      run.history('timer_fired', { nodeId });
      await run.leave(tok);
    });
  }

  /** a task's time limit passed: remind N times, then escalate or decide as the node says */
  async taskTimedOut(instanceId: number, taskId: number, round: number): Promise<void> {
    await this.mutate(SYSTEM, instanceId, undefined, 'timeout', async (run) => {
      const task = run.task(taskId);
      if (!task || task.status !== 'pending' || run.inst.status !== 'running' || run.inst.suspended) return;
      const node = run.graph.node(task.nodeId);
      if (!isHuman(node)) return;
      const policy = node.timeout ?? { remindTimes: 1, remindEveryHours: 24, then: 'none' as const };
      if (round < policy.remindTimes) {
        run.history('auto_urge', { nodeId: task.nodeId, taskId, detail: { round: round + 1 } });
        run.notify(task.assigneeId, `【超时提醒】${run.inst.title}`, `“${task.nodeName}”已超过办理时限，请尽快处理`, `/workflow/tasks/${task.id}`, `wf.timeout.${task.id}.${round}`);
        const next = new Date(run.uow.now.getTime() + policy.remindEveryHours * 3_600_000);
        await this.hooks.schedule('timeout', next, { taskId, round: round + 1 }, run);
        return;
      }
      const tok = run.token(task.tokenId);
      if (!tok || tok.status !== 'active') return;
      if (policy.then === 'autoApprove' || policy.then === 'autoReject') {
        const outcome = policy.then === 'autoApprove' ? 'approve' : 'reject';
        await run.closeTask(task, outcome, '超时自动处理');
        run.history(policy.then === 'autoApprove' ? 'auto_approve' : 'auto_reject', { nodeId: task.nodeId, taskId, comment: '超过办理时限，系统自动处理' });
        await run.evaluate(tok);
      } else if (policy.then === 'escalate') {
        const facts = await this.hooks.personFacts(task.assigneeId, run.t);
        const sup = typeof facts?.superiorId === 'number' ? facts.superiorId : null;
        if (sup === null || sup === task.assigneeId) {
          run.history('escalate_failed', { nodeId: task.nodeId, taskId, comment: '找不到上级，无法升级' });
          return;
        }
        await run.closeTask(task, 'escalated', '超时升级');
        const next = await run.createTask(tok, node, sup, task.kind, { seq: task.seq, addMode: task.addMode, addedBy: task.addedBy, blockedBy: task.blockedBy });
        run.history('escalate', { nodeId: task.nodeId, taskId, detail: { from: task.assigneeId, to: sup, newTaskId: next.id } });
      }
    });
  }

  // ── admin interventions (R3.7, R3.9) ────────────────────────────────────────────────────────

  private requireAdmin(who: Person): void {
    if (!who.admin) throw forbidden('只有流程管理员可以执行此操作', 'NOT_WORKFLOW_ADMIN');
  }

  async suspend(who: Person, instanceId: number, reason: string): Promise<void> {
    this.requireAdmin(who);
    await this.mutate(who, instanceId, undefined, 'suspend', async (run) => {
      run.ensureRunning();
      await run.inst.update({ suspended: true }, { transaction: run.t });
      run.history('suspend', { comment: reason });
    });
  }

  async resume(who: Person, instanceId: number, reason: string): Promise<void> {
    this.requireAdmin(who);
    await this.mutate(who, instanceId, undefined, 'resume', async (run) => {
      if (!run.inst.suspended) throw conflict('流程未挂起', 'NOT_SUSPENDED');
      await run.inst.update({ suspended: false }, { transaction: run.t });
      run.history('resume', { comment: reason });
    });
  }

  async terminate(who: Person, instanceId: number, reason: string): Promise<void> {
    this.requireAdmin(who);
    await this.mutate(who, instanceId, undefined, 'terminate', async (run) => {
      if (run.inst.status !== 'running') throw conflict('流程已结束', 'INSTANCE_NOT_RUNNING');
      run.history('terminate', { comment: reason });
      await run.finish('terminated');
    });
  }

  /** 跳转: move the work at one step (or the only step) to any node */
  async jump(who: Person, instanceId: number, toNode: string, reason: string, fromTaskId?: number): Promise<void> {
    this.requireAdmin(who);
    await this.mutate(who, instanceId, undefined, 'jump', async (run) => {
      run.ensureRunning();
      if (!run.graph.nodes.has(toNode) || !ACTIONABLE.has(run.graph.node(toNode).type) && run.graph.node(toNode).type !== 'end') {
        throw badRequest('目标节点不存在或不能跳转', [{ path: 'toNode', message: '目标节点不存在或不能跳转' }], 'BAD_JUMP_TARGET');
      }
      let tok;
      if (fromTaskId) {
        const task = run.task(fromTaskId);
        tok = task ? run.token(task.tokenId) : undefined;
      } else {
        const active = run.activeTokens();
        if (active.length > 1) throw badRequest('流程有多个并行步骤，请指定从哪个任务跳转', [{ path: 'fromTaskId', message: '请指定任务' }], 'JUMP_AMBIGUOUS');
        tok = active[0];
      }
      if (!tok || tok.status !== 'active') throw badRequest('找不到要跳转的步骤', [{ path: 'fromTaskId', message: '任务不存在或已结束' }], 'BAD_JUMP_SOURCE');
      run.history('jump', { nodeId: toNode, comment: reason, detail: { from: tok.nodeId } });
      await run.moveTo(tok, toNode);
    });
  }

  /** 改派: give an open task to someone else */
  async reassign(who: Person, taskId: number, toUserId: number, reason: string): Promise<void> {
    this.requireAdmin(who);
    const t0 = await this.db.models.WfTask.findByPk(taskId, { attributes: ['instanceId'] });
    if (!t0) throw notFound('任务不存在');
    await this.activeUsers([toUserId], 'toUserId');
    await this.mutate(who, t0.instanceId, undefined, 'reassign', async (run) => {
      const task = run.task(taskId);
      if (!task) throw notFound('任务不存在');
      if (!['pending', 'queued', 'waiting', 'suspended'].includes(task.status)) throw conflict('任务已结束，不能改派', 'TASK_CLOSED');
      const from = task.assigneeId;
      run.setTask(task, { assigneeId: toUserId, onBehalfOf: null });
      if (task.status === 'pending') await run.announce(task);
      run.history('reassign', { nodeId: task.nodeId, taskId, comment: reason, detail: { from, to: toUserId } });
    });
  }
}

const SYSTEM = { id: null, name: '系统' };
const MAX_SUBPROCESS_DEPTH = 5;
/** distribution tasks hang off no node of the graph */
const DISTRIBUTE_NODE: NodeDef = { id: '_distribute', name: '分发', type: 'cc', assignees: [{ kind: 'initiator' }], commentable: true };

export const ACTION_NAMES: Record<TaskActionInput['action'], string> = {
  approve: '同意',
  propose: '拟办',
  reject: '驳回',
  return: '退回',
  transfer: '转签',
  addSign: '加签',
  removeAddSign: '撤销加签',
  read: '阅读',
  resubmit: '重新提交',
  suspend: '挂起',
  resume: '恢复',
};

export const OUTCOME_NAMES: Record<string, string> = {
  approve: '已同意',
  reject: '已驳回',
  return: '已退回',
  transfer: '已转签',
  read: '已阅',
  cancelled: '已取消',
  removed: '已撤销',
};
