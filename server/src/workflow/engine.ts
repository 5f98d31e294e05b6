import { type Database, type InferCreationAttributes, type UnitOfWork, type WfDelegation, type WfHistory, type WfInstance, type WfTask, type WfTaskKind, type WfToken } from '@oa/db';
import { badRequest, conflict } from '../http/errors.ts';
import type { Notice } from '../notify/centre.ts';
import { usersWithRole } from '../org/resolvers.ts';
import { resolveAssignees } from './assignees.ts';
import { isHuman, type HumanNode, type NodeDef } from './definition.ts';
import type { Graph } from './graph.ts';

/**
 * The token machine (issue 4). One `Run` executes one action on one instance inside the caller's
 * unit of work, with the instance row already locked: every state change, history row, audit row
 * and notification of the action commits together or not at all (principle 2).
 *
 * Tokens: the root token walks the graph; at a parallel or inclusive split it becomes `forked` and
 * one child token per branch continues; children wait `joined` at the join until all have
 * arrived, then the parent continues past the join. Because blocks are properly nested (graph.ts),
 * "return to any earlier node" and "jump" are one operation, `moveTo`, that cancels what runs below
 * the deepest block shared by the two nodes and rebuilds the branches leading to the target.
 */

export interface EngineHooks {
  /** evaluate a branch condition; throws a Chinese error when it cannot be evaluated */
  condition(source: string, scope: Record<string, unknown>): boolean;
  /** automatic action nodes (archive, update a record, a registered server hook) */
  action(hook: string, params: Record<string, unknown>, run: Run): Promise<void>;
  /** the facts about people that conditions may test (R3.3) */
  personFacts(userId: number | null, t: UnitOfWork['t']): Promise<Record<string, unknown> | null>;
  /** out-of-office rules that may be in force (active, not yet ended) */
  delegations(run: Run): Promise<WfDelegation[]>;
  /** out-of-office delegation: who actually receives a task meant for `userId` (or null) */
  delegateFor(userId: number, run: Run): Promise<number | null>;
  /** start a sub-process instance for `tok`; says whether it already ended (nobody to ask) */
  startChild(run: Run, tok: WfToken, node: Extract<NodeDef, { type: 'subprocess' }>): Promise<'running' | 'completed' | 'rejected'>;
  /** a sub-process instance ended: its parent continues (or is rejected with it) */
  childFinished(run: Run, status: 'completed' | 'rejected' | 'withdrawn' | 'terminated'): Promise<void>;
  /** the instance ended early: its running sub-processes end with it */
  endChildren(run: Run): Promise<void>;
  /** schedule a timer node's wake-up or a task's time limit */
  schedule(kind: 'timer' | 'timeout', runAt: Date, payload: Record<string, unknown>, run: Run): Promise<void>;
}

export interface Actor {
  id: number | null;
  name: string;
}

/** The children one fork created are inserted one after another: the newest run of consecutive ids. */
function lastGeneration(tokens: WfToken[]): WfToken[] {
  const sorted = [...tokens].sort((a, b) => b.id - a.id);
  const out: WfToken[] = [];
  for (const t of sorted) {
    const prev = out[out.length - 1];
    if (prev && (t.id !== prev.id - 1 || t.parentId !== prev.parentId || out.some((o) => o.branchEdge === t.branchEdge))) break;
    out.push(t);
  }
  return out;
}

/** a task handed to someone else: the new task counts in its place */
const REPLACED: ReadonlySet<string> = new Set(['transfer', 'escalated']);
const OPEN_TASK = ['pending', 'queued', 'waiting', 'suspended'] as const;
const MAX_STEPS = 500;

export class Run {
  private tokens = new Map<number, WfToken>();
  private tasks = new Map<number, WfTask>();
  /** rows changed in memory, written once in flush() */
  private dirty = new Set<WfToken | WfTask>();
  private pendingHistory: Omit<InferCreationAttributes<WfHistory>, 'id'>[] = [];
  private delegations: WfDelegation[] | null = null;
  private steps = 0;
  /** approvers of the node completed last: for "skip if just approved" */
  private lastApprovers = new Set<number>();
  /** people chosen for later nodes by the one acting now: nodeId → user ids */
  chosen: Record<string, number[]> = {};
  readonly notices: Notice[] = [];

  constructor(
    readonly db: Database,
    readonly uow: UnitOfWork,
    readonly inst: WfInstance,
    readonly graph: Graph,
    readonly actor: Actor,
    private readonly hooks: EngineHooks,
  ) {}

  get t() {
    return this.uow.t;
  }

  /** Read the instance's tokens and tasks once; the run works on them in memory. */
  async load(): Promise<void> {
    const [tokens, tasks] = await Promise.all([
      this.db.models.WfToken.findAll({ where: { instanceId: this.inst.id }, transaction: this.t }),
      this.db.models.WfTask.findAll({ where: { instanceId: this.inst.id }, transaction: this.t }),
    ]);
    for (const r of tokens) this.tokens.set(r.id, r);
    for (const r of tasks) this.tasks.set(r.id, r);
  }

  /** Write what changed: token and task updates, the history rows (one insert). */
  async flush(): Promise<void> {
    for (const row of this.dirty) await row.save({ transaction: this.t });
    this.dirty.clear();
    if (this.pendingHistory.length) await this.db.models.WfHistory.bulkCreate(this.pendingHistory, { transaction: this.t });
    this.pendingHistory = [];
  }

  task(id: number): WfTask | undefined {
    const t = this.tasks.get(id);
    return t && t.instanceId === this.inst.id ? t : undefined;
  }

  /** tasks of the instance matching `f`, oldest first */
  findTasks(f: (t: WfTask) => boolean): WfTask[] {
    return [...this.tasks.values()].filter(f).sort((a, b) => a.id - b.id);
  }

  setTask(task: WfTask, values: Partial<Pick<WfTask, 'status' | 'outcome' | 'comment' | 'doneAt' | 'assigneeId' | 'onBehalfOf'>>): void {
    task.set({ ...values, rev: task.rev + 1 });
    this.dirty.add(task);
  }

  activeTokens(): WfToken[] {
    return [...this.tokens.values()].filter((t) => t.status === 'active');
  }

  token(id: number | null): WfToken | undefined {
    return id === null ? undefined : this.tokens.get(id);
  }

  // ── history and notices ──────────────────────────────────────────────────────────────────────

  /** append to the trail (written in one insert when the run flushes) */
  history(action: string, e: { nodeId?: string | null; taskId?: number | null; comment?: string | null; detail?: Record<string, unknown>; onBehalfOf?: number | null } = {}): void {
    const node = e.nodeId ? this.graph.nodes.get(e.nodeId) : undefined;
    this.pendingHistory.push({
      instanceId: this.inst.id,
      at: this.uow.now,
      actorId: this.actor.id,
      actorName: this.actor.name,
      onBehalfOf: e.onBehalfOf ?? null,
      nodeId: e.nodeId ?? null,
      nodeName: node?.name ?? null,
      taskId: e.taskId ?? null,
      action,
      comment: e.comment ?? null,
      detail: e.detail ?? null,
    });
  }

  notify(userId: number, title: string, body: string, link: string, key: string, task?: WfTask): void {
    this.notices.push({ userId, title, body, link, key, ...(task ? { kind: 'task' as const, taskId: task.id } : { kind: 'notice' as const }) });
  }

  // ── tokens ───────────────────────────────────────────────────────────────────────────────────

  private async newToken(nodeId: string, parentId: number | null, branchEdge: string | null, status: WfToken['status'] = 'active'): Promise<WfToken> {
    const tok = await this.db.models.WfToken.create(
      { instanceId: this.inst.id, nodeId, status, parentId, branchEdge, expected: null, branches: null, resumeNodeId: null, createdAt: this.uow.now },
      { transaction: this.t },
    );
    this.tokens.set(tok.id, tok);
    return tok;
  }

  /** the root token's creation: the instance starts at the start node */
  async begin(): Promise<WfToken> {
    return this.newToken(this.graph.startId, null, null);
  }

  private children(tok: WfToken): WfToken[] {
    return [...this.tokens.values()].filter((c) => c.parentId === tok.id);
  }

  private descendants(tok: WfToken): WfToken[] {
    const out: WfToken[] = [];
    const stack = this.children(tok);
    while (stack.length) {
      const c = stack.pop()!;
      out.push(c);
      stack.push(...this.children(c));
    }
    return out;
  }

  /** root first */
  private chain(tok: WfToken): WfToken[] {
    const out = [tok];
    let p = this.token(tok.parentId);
    while (p) {
      out.unshift(p);
      p = this.token(p.parentId);
    }
    return out;
  }

  private async setToken(tok: WfToken, values: Partial<Pick<WfToken, 'nodeId' | 'status' | 'expected' | 'branches' | 'resumeNodeId'>>): Promise<void> {
    tok.set(values);
    this.dirty.add(tok);
  }

  // ── tasks ────────────────────────────────────────────────────────────────────────────────────

  async tasksAt(tok: WfToken): Promise<WfTask[]> {
    return this.findTasks((t) => t.tokenId === tok.id && t.nodeId === tok.nodeId);
  }

  async createTask(tok: WfToken | null, node: NodeDef, assigneeId: number, kind: WfTaskKind, extra: Partial<Pick<WfTask, 'status' | 'seq' | 'addMode' | 'addedBy' | 'blockedBy' | 'onBehalfOf'>> = {}): Promise<WfTask> {
    let assignee = assigneeId;
    let onBehalfOf = extra.onBehalfOf ?? null;
    if (kind !== 'start' && onBehalfOf === null) {
      const d = await this.hooks.delegateFor(assigneeId, this);
      if (d !== null && d !== assigneeId) {
        onBehalfOf = assigneeId;
        assignee = d;
      }
    }
    const status = extra.status ?? 'pending';
    const limit = isHuman(node) ? node.timeLimitHours : undefined;
    const dueAt = limit && kind !== 'cc' ? new Date(this.uow.now.getTime() + limit * 3_600_000) : null;
    const task = await this.db.models.WfTask.create(
      {
        instanceId: this.inst.id,
        tokenId: tok?.id ?? null,
        nodeId: node.id,
        nodeName: node.name,
        kind,
        assigneeId: assignee,
        onBehalfOf,
        status,
        outcome: null,
        comment: null,
        seq: extra.seq ?? 0,
        addMode: extra.addMode ?? null,
        addedBy: extra.addedBy ?? null,
        blockedBy: extra.blockedBy ?? null,
        createdAt: this.uow.now,
        openedAt: null,
        doneAt: null,
        dueAt,
      },
      { transaction: this.t },
    );
    this.tasks.set(task.id, task);
    if (status === 'pending') await this.announce(task);
    return task;
  }

  /** a task became actionable: tell its holder, start its clock */
  async announce(task: WfTask): Promise<void> {
    const what = task.kind === 'cc' ? '待阅' : task.kind === 'start' ? '退回待修改' : '待办';
    this.notify(task.assigneeId, `【${what}】${this.inst.title}`, `${task.nodeName}：请处理${task.onBehalfOf ? '（委托）' : ''}`, `/workflow/tasks/${task.id}`, `wf.task.${task.id}.pending.${task.rev}`, task.kind === 'cc' ? undefined : task);
    if (task.dueAt) await this.hooks.schedule('timeout', task.dueAt, { taskId: task.id, round: 0 }, this);
  }

  async closeTask(task: WfTask, outcome: string, comment: string | null, status: 'done' | 'cancelled' = 'done'): Promise<void> {
    this.setTask(task, { status, outcome, comment, doneAt: this.uow.now });
  }

  private async cancelTasksOf(tokIds: number[], except?: number): Promise<void> {
    if (!tokIds.length) return;
    const ids = new Set(tokIds);
    const open = this.findTasks((x) => x.tokenId !== null && ids.has(x.tokenId) && (OPEN_TASK as readonly string[]).includes(x.status));
    for (const task of open) {
      if (task.id === except || task.kind === 'cc') continue;
      await this.closeTask(task, 'cancelled', task.comment, 'cancelled');
    }
  }

  // ── walking the graph ────────────────────────────────────────────────────────────────────────

  async enter(tok: WfToken, nodeId: string): Promise<void> {
    if (++this.steps > MAX_STEPS) throw badRequest('流程配置存在死循环，已停止执行，请联系流程管理员', undefined, 'WORKFLOW_LOOP');
    const node = this.graph.node(nodeId);
    await this.setToken(tok, { nodeId, status: 'active' });
    switch (node.type) {
      case 'end':
        await this.setToken(tok, { status: 'done' });
        if (tok.parentId === null) await this.finish('completed');
        return;
      case 'start':
        // returned to the initiator: they revise and resubmit
        await this.createTask(tok, node, this.inst.initiatorId, 'start');
        return;
      case 'approval':
      case 'handle':
        return this.enterHuman(tok, node);
      case 'cc': {
        const r = await resolveAssignees(this.db, node.assignees, this.assigneeContext(node.id));
        for (const uid of r.userIds) await this.createTask(tok, node, uid, 'cc');
        this.history('cc', { nodeId: node.id, detail: { userIds: r.userIds } });
        return this.leave(tok);
      }
      case 'exclusive':
      case 'parallel':
      case 'inclusive':
        return this.enterGateway(tok, node);
      case 'action':
        await this.hooks.action(node.hook, node.params ?? {}, this);
        this.history('auto_action', { nodeId: node.id, detail: { hook: node.hook } });
        return this.leave(tok);
      case 'timer':
        await this.hooks.schedule('timer', new Date(this.uow.now.getTime() + node.delayHours * 3_600_000), { tokenId: tok.id, nodeId: node.id }, this);
        this.history('timer_set', { nodeId: node.id, detail: { delayHours: node.delayHours } });
        return;
      case 'subprocess': {
        const outcome = await this.hooks.startChild(this, tok, node);
        if (outcome === 'completed') return this.leave(tok);
        if (outcome === 'rejected') {
          this.history('subprocess_rejected', { nodeId: node.id });
          return this.finish('rejected');
        }
        return;
      }
    }
  }

  /** continue from the token's node along its single outgoing edge (or straight back, 直送) */
  async leave(tok: WfToken): Promise<void> {
    if (tok.resumeNodeId) {
      const target = tok.resumeNodeId;
      await this.setToken(tok, { resumeNodeId: null });
      this.history('direct_return', { nodeId: target, detail: { from: tok.nodeId } });
      return this.moveTo(tok, target);
    }
    const edges = this.graph.outgoing(tok.nodeId);
    if (edges.length !== 1) throw new Error(`node ${tok.nodeId} has ${edges.length} outgoing edges`);
    return this.enter(tok, edges[0]!.to);
  }

  assigneeContext(nodeId: string) {
    return {
      initiatorId: this.inst.initiatorId,
      initiatorDeptId: this.inst.initiatorDeptId,
      previousId: this.actor.id,
      formData: this.inst.formData,
      chosen: this.chosen[nodeId],
      transaction: this.t,
    };
  }

  private async enterHuman(tok: WfToken, node: HumanNode): Promise<void> {
    const resolved = await resolveAssignees(this.db, node.assignees, this.assigneeContext(node.id));
    let ids = resolved.userIds;
    if (!ids.length) {
      if (node.onEmpty === 'skip') {
        this.history('skip', { nodeId: node.id, comment: `找不到处理人，自动跳过（${resolved.explain}）` });
        return this.completeNode(tok, new Set());
      }
      if (node.onEmpty === 'admin') {
        ids = (await usersWithRole(this.db, 'processadmin', {}, { transaction: this.t })).userIds;
      }
      if (!ids.length) {
        throw badRequest(`节点“${node.name}”找不到处理人（${resolved.explain}），请联系流程管理员`, [{ path: `nodes.${node.id}`, message: resolved.explain }], 'NO_ASSIGNEE');
      }
    }
    const skippable = (id: number) => (node.skipIfInitiator && id === this.inst.initiatorId) || (node.skipIfJustApproved && this.lastApprovers.has(id));
    const skipped = ids.filter(skippable);
    if (skipped.length && (node.mode === 'any' || skipped.length === ids.length)) {
      this.history('auto_approve', { nodeId: node.id, comment: skipped.includes(this.inst.initiatorId) && node.skipIfInitiator ? '处理人是发起人，自动通过' : '处理人刚审批过，自动通过', detail: { userIds: skipped } });
      return this.completeNode(tok, new Set(skipped));
    }
    ids = ids.filter((id) => !skippable(id));
    const kind = node.type === 'handle' ? 'handle' : 'approval';
    for (const [i, uid] of ids.entries()) {
      await this.createTask(tok, node, uid, kind, { seq: i, status: node.mode === 'sequential' && i > 0 ? 'queued' : 'pending' });
    }
    this.history('assign', { nodeId: node.id, detail: { userIds: ids, explain: resolved.explain } });
  }

  private async conditionScope(): Promise<Record<string, unknown>> {
    const initiator = await this.hooks.personFacts(this.inst.initiatorId, this.t);
    const approver = await this.hooks.personFacts(this.actor.id, this.t);
    const superiorId = approver && typeof approver.superiorId === 'number' ? approver.superiorId : null;
    const approverSuperior = await this.hooks.personFacts(superiorId, this.t);
    return { form: this.inst.formData, initiator, approver, approverSuperior };
  }

  private async enterGateway(tok: WfToken, node: NodeDef): Promise<void> {
    const g = this.graph;
    if (g.isJoin(node.id)) return this.arriveAtJoin(tok, node.id);
    const outs = g.outgoing(node.id);
    if (outs.length === 1) return this.enter(tok, outs[0]!.to);
    if (node.type === 'parallel') return this.fork(tok, node.id, outs.map((e) => e.id));
    const scope = await this.conditionScope();
    const chosen = outs.filter((e) => !e.isDefault && e.condition && this.hooks.condition(e.condition, scope));
    const fallback = outs.find((e) => e.isDefault)!;
    if (node.type === 'exclusive') {
      const e = chosen[0] ?? fallback;
      this.history('branch', { nodeId: node.id, detail: { edge: e.id, name: e.name ?? null } });
      return this.enter(tok, e.to);
    }
    return this.fork(tok, node.id, (chosen.length ? chosen : [fallback]).map((e) => e.id));
  }

  private async fork(tok: WfToken, splitId: string, edgeIds: string[]): Promise<void> {
    await this.setToken(tok, { nodeId: splitId, status: 'forked', expected: edgeIds.length, branches: edgeIds });
    this.history('fork', { nodeId: splitId, detail: { branches: edgeIds } });
    const kids: [WfToken, string][] = [];
    for (const eid of edgeIds) kids.push([await this.newToken(splitId, tok.id, eid), this.graph.edges.get(eid)!.to]);
    for (const [kid, to] of kids) if (kid.status === 'active') await this.enter(kid, to);
  }

  private async arriveAtJoin(tok: WfToken, joinId: string): Promise<void> {
    await this.setToken(tok, { nodeId: joinId, status: 'joined' });
    const parent = this.token(tok.parentId);
    if (!parent) throw new Error(`token ${tok.id} joined without a parent`);
    const arrived = this.children(parent).filter((c) => c.status === 'joined' && c.nodeId === joinId);
    if (arrived.length < (parent.expected ?? 0)) return;
    for (const c of arrived) await this.setToken(c, { status: 'done' });
    this.history('join', { nodeId: joinId });
    await this.setToken(parent, { nodeId: joinId, status: 'active', expected: null });
    const outs = this.graph.outgoing(joinId);
    return this.enter(parent, outs[0]!.to);
  }

  // ── completing, rejecting, moving ────────────────────────────────────────────────────────────

  /**
   * Re-evaluate a human node after one of its tasks changed. Returns whether the node completed.
   * Add-signs (加签) always have to be done; the node's own tasks follow its multi-person mode.
   */
  async evaluate(tok: WfToken): Promise<'open' | 'completed' | 'rejected'> {
    const node = this.graph.node(tok.nodeId);
    const tasks = (await this.tasksAt(tok)).filter((x) => x.kind !== 'cc' && x.status !== 'cancelled');
    if (node.type === 'start') {
      const t = tasks.find((x) => x.kind === 'start' && x.status === 'done');
      if (!t) return 'open';
      await this.completeNode(tok, new Set([t.assigneeId]));
      return 'completed';
    }
    if (!isHuman(node)) return 'open';
    const own = tasks.filter((x) => x.kind !== 'addsign' && !REPLACED.has(x.outcome ?? ''));
    const adds = tasks.filter((x) => x.kind === 'addsign');
    const approved = own.filter((x) => x.outcome === 'approve');
    const rejected = tasks.filter((x) => x.outcome === 'reject');
    const open = own.filter((x) => x.status !== 'done');

    let rejectedNow = false;
    if (rejected.length) {
      if (node.mode === 'ratio') {
        const ratio = node.ratio ?? 1;
        const possible = approved.length + open.length;
        rejectedNow = possible / own.length < ratio || adds.some((a) => a.outcome === 'reject');
      } else rejectedNow = true;
    }
    if (rejectedNow) {
      await this.rejectNode(tok, node);
      return 'rejected';
    }
    if (adds.some((a) => a.status !== 'done') || own.some((x) => x.status === 'waiting')) return 'open';
    let done = false;
    if (node.mode === 'any') done = approved.length > 0;
    else if (node.mode === 'ratio') done = approved.length / own.length >= (node.ratio ?? 1);
    else done = open.length === 0;
    if (!done && node.mode === 'sequential' && !open.some((x) => x.status === 'pending' || x.status === 'suspended')) {
      const next = open.filter((x) => x.status === 'queued').sort((a, b) => a.seq - b.seq)[0];
      if (next) {
        this.setTask(next, { status: 'pending' });
        await this.announce(next);
      }
      return 'open';
    }
    if (!done) return 'open';
    await this.completeNode(tok, new Set([...approved, ...adds].map((x) => x.assigneeId)));
    return 'completed';
  }

  private async completeNode(tok: WfToken, approvers: Set<number>): Promise<void> {
    await this.cancelTasksOf([tok.id]);
    this.history('node_complete', { nodeId: tok.nodeId });
    const node = this.graph.node(tok.nodeId);
    if (node.type !== 'start') {
      this.notify(this.inst.initiatorId, `【进度】${this.inst.title}`, `“${node.name}”已通过`, `/workflow/instances/${this.inst.id}`, `wf.inst.${this.inst.id}.step.${tok.id}.${node.id}.${this.steps}`);
    }
    this.lastApprovers = approvers;
    return this.leave(tok);
  }

  private async rejectNode(tok: WfToken, node: HumanNode): Promise<void> {
    if (node.rejectTo === 'initiator') {
      this.history('rejected_to_initiator', { nodeId: node.id });
      return this.moveTo(tok, this.graph.startId);
    }
    await this.finish('rejected');
  }

  /**
   * Move execution from `from` to `target` (return, jump, withdraw, direct send-back). Everything
   * running below the deepest block the two nodes share is cancelled; blocks around the target are
   * rebuilt: the target's branch restarts at the target, sibling branches that had finished in the
   * last run of that block stay finished (waiting at the join), the others start afresh.
   */
  async moveTo(from: WfToken, target: string, opts: { resumeNodeId?: string | null } = {}): Promise<void> {
    const g = this.graph;
    const fromBlocks = g.blocksOf(from.nodeId);
    const toBlocks = g.blocksOf(target);
    let c = 0;
    while (c < fromBlocks.length && c < toBlocks.length && fromBlocks[c]!.split === toBlocks[c]!.split && fromBlocks[c]!.edge === toBlocks[c]!.edge) c++;
    const chain = this.chain(from);
    // a token at a split that has forked sits one level out from its children
    let cur = chain[Math.min(c, chain.length - 1)]!;
    const below = this.descendants(cur);
    await this.cancelTasksOf([cur.id, ...below.map((d) => d.id)]);
    for (const d of below) if (d.status !== 'done' && d.status !== 'cancelled') await this.setToken(d, { status: 'cancelled' });

    const fresh: [WfToken, string][] = [];
    for (let i = c; i < toBlocks.length; i++) {
      const { split, edge } = toBlocks[i]!;
      const join = g.joinOf.get(split)!;
      // the last run of this block: the newest generation of tokens on its branches
      const onBranches = [...this.tokens.values()].filter((k) => k.branchEdge !== null && g.edges.get(k.branchEdge)?.from === split);
      const prevKids = lastGeneration(onBranches);
      const branches = prevKids.length ? [...new Set(prevKids.map((k) => k.branchEdge!))] : g.outgoing(split).map((e) => e.id);
      const all = branches.includes(edge) ? branches : [...branches, edge];
      await this.setToken(cur, { nodeId: split, status: 'forked', expected: all.length, branches: all });
      let next: WfToken | null = null;
      for (const b of all) {
        if (b === edge) {
          next = await this.newToken(split, cur.id, b);
          continue;
        }
        const finished = prevKids.some((k) => k.branchEdge === b && (k.status === 'done' || k.status === 'joined') && k.nodeId === join);
        if (finished) await this.newToken(join, cur.id, b, 'joined');
        else fresh.push([await this.newToken(split, cur.id, b), g.edges.get(b)!.to]);
      }
      cur = next!;
    }
    await this.setToken(cur, { resumeNodeId: opts.resumeNodeId ?? null });
    await this.enter(cur, target);
    for (const [tok, to] of fresh) if (tok.status === 'active') await this.enter(tok, to);
  }

  /** end the instance: every open task and token closes; the initiator is told */
  async finish(status: 'completed' | 'rejected' | 'withdrawn' | 'terminated'): Promise<void> {
    const live = [...this.tokens.values()].filter((t) => t.status !== 'done' && t.status !== 'cancelled');
    if (status !== 'completed' && live.some((t) => t.status === 'active' && this.graph.nodes.get(t.nodeId)?.type === 'subprocess')) await this.hooks.endChildren(this);
    await this.cancelTasksOf(live.map((t) => t.id));
    for (const t of live) await this.setToken(t, { status: status === 'completed' ? 'done' : 'cancelled' });
    await this.inst.update({ status, endedAt: this.uow.now }, { transaction: this.t });
    this.history(status, {});
    const word = { completed: '已办结', rejected: '已被驳回', withdrawn: '已撤回', terminated: '已被终止' }[status];
    this.notify(this.inst.initiatorId, `【${word}】${this.inst.title}`, `您发起的“${this.inst.title}”${word}`, `/workflow/instances/${this.inst.id}`, `wf.inst.${this.inst.id}.${status}`);
    // a parent waiting for this sub-process is told (unless it is the one ending it right now)
    if (this.inst.parentInstanceId && !this.parentActive) await this.hooks.childFinished(this, status);
  }

  /** set while the parent run is starting this instance as its sub-process */
  parentActive = false;
  /** runs of other instances touched by this action (sub-processes, parents): notified together */
  readonly related: Run[] = [];

  allNotices(): Run['notices'] {
    return [...this.notices, ...this.related.flatMap((r) => r.allNotices())];
  }

  /** the nodes now waiting for people, for lists and the diagram (R3.5) */
  async refreshCurrent(): Promise<void> {
    await this.flush();
    const live = this.activeTokens();
    const names = [...new Set(live.map((t) => this.graph.nodes.get(t.nodeId)?.name ?? t.nodeId))];
    await this.inst.update({ currentNodes: this.inst.status === 'running' ? names : [], updatedAt: this.uow.now, rev: this.inst.rev + 1 }, { transaction: this.t });
  }

  /** open work on the instance, for "withdraw while nobody acted" */
  async openTasks(): Promise<WfTask[]> {
    return this.findTasks((x) => (OPEN_TASK as readonly string[]).includes(x.status));
  }

  /** out-of-office rules in force now (R3.11) */
  async activeDelegations(): Promise<WfDelegation[]> {
    this.delegations ??= (await this.hooks.delegations(this)).filter((d) => d.startsAt <= this.uow.now && d.endsAt > this.uow.now);
    return this.delegations;
  }

  ensureRunning(): void {
    if (this.inst.status !== 'running') throw conflict('流程已结束，不能再操作', 'INSTANCE_NOT_RUNNING');
    if (this.inst.suspended) throw conflict('流程已挂起，恢复后才能操作', 'INSTANCE_SUSPENDED');
  }
}
