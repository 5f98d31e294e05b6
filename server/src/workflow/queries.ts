import { Op, type Database, type WfInstance, type WfInstanceStatus, type WfTask } from '@oa/db';
import type { AccessService } from '../access/grants.ts';
import { notFound } from '../http/errors.ts';
import { PROCESS, type ProcessService } from './processes.ts';
import type { WorkflowForms } from './forms.ts';
import { isHuman } from './definition.ts';
import type { Graph } from './graph.ts';

/**
 * What people read (R3.5, R3.9, R20.2): my to-do, done, started and cc boxes with counts, one
 * instance with its definition, current nodes (for highlighting the diagram) and full history, and
 * the administrators' monitoring list with counts by outcome.
 */

export interface Page {
  page: number;
  pageSize: number;
}

const URGENCY_ORDER: Record<string, number> = { critical: 0, urgent: 1, normal: 2 };

export class WorkflowQueries {
  constructor(
    private readonly db: Database,
    private readonly processes: ProcessService,
    private readonly access: AccessService,
    private readonly forms: WorkflowForms,
  ) {}

  private async names(ids: (number | null | undefined)[]): Promise<Map<number, string>> {
    const list = [...new Set(ids.filter((x): x is number => typeof x === 'number'))];
    if (!list.length) return new Map();
    const rows = await this.db.models.User.findAll({ where: { id: list }, attributes: ['id', 'name'], raw: true });
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  private async instanceCards(ids: number[]) {
    if (!ids.length) return new Map<number, ReturnType<typeof card>>();
    const rows = await this.db.models.WfInstance.findAll({ where: { id: ids } });
    const procs = new Map((await this.db.models.WfProcess.findAll({ where: { id: [...new Set(rows.map((r) => r.processId))] }, attributes: ['id', 'name', 'processKey', 'categoryId'], raw: true })).map((p) => [p.id, p]));
    const people = await this.names(rows.map((r) => r.initiatorId));
    const card = (r: WfInstance) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      suspended: r.suspended,
      urgency: r.urgency,
      process: { id: r.processId, key: procs.get(r.processId)?.processKey ?? '', name: procs.get(r.processId)?.name ?? '' },
      initiator: { id: r.initiatorId, name: people.get(r.initiatorId) ?? '' },
      currentNodes: r.currentNodes ?? [],
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
    });
    return new Map(rows.map((r) => [r.id, card(r)]));
  }

  private async taskList(where: Record<string | symbol, unknown>, p: Page, order: [string, string][]) {
    const { WfTask } = this.db.models;
    const total = await WfTask.count({ where });
    const rows = await WfTask.findAll({ where, order, offset: (p.page - 1) * p.pageSize, limit: p.pageSize });
    const cards = await this.instanceCards(rows.map((r) => r.instanceId));
    const behalf = await this.names(rows.map((r) => r.onBehalfOf));
    const items = rows.map((t) => ({
      id: t.id,
      kind: t.kind,
      status: t.status,
      outcome: t.outcome,
      node: { id: t.nodeId, name: t.nodeName },
      onBehalfOf: t.onBehalfOf ? { id: t.onBehalfOf, name: behalf.get(t.onBehalfOf) ?? '' } : null,
      createdAt: t.createdAt,
      doneAt: t.doneAt,
      dueAt: t.dueAt,
      instance: cards.get(t.instanceId)!,
    }));
    return { total, page: p.page, pageSize: p.pageSize, items };
  }

  async todo(userId: number, p: Page) {
    const r = await this.taskList({ assigneeId: userId, status: ['pending', 'suspended'], kind: { [Op.ne]: 'cc' } }, p, [['createdAt', 'ASC'], ['id', 'ASC']]);
    // urgent work first, then oldest first (R3.10)
    r.items.sort((a, b) => (URGENCY_ORDER[a.instance.urgency] ?? 9) - (URGENCY_ORDER[b.instance.urgency] ?? 9));
    return r;
  }

  async done(userId: number, p: Page) {
    return this.taskList({ assigneeId: userId, status: 'done', kind: { [Op.ne]: 'cc' } }, p, [['doneAt', 'DESC'], ['id', 'DESC']]);
  }

  async cc(userId: number, p: Page & { unread?: boolean }) {
    return this.taskList({ assigneeId: userId, kind: 'cc', ...(p.unread ? { status: 'pending' } : {}) }, p, [['id', 'DESC']]);
  }

  async started(userId: number, p: Page & { status?: WfInstanceStatus }) {
    const where = { initiatorId: userId, ...(p.status ? { status: p.status } : {}) };
    const total = await this.db.models.WfInstance.count({ where });
    const rows = await this.db.models.WfInstance.findAll({ where, attributes: ['id'], order: [['id', 'DESC']], offset: (p.page - 1) * p.pageSize, limit: p.pageSize, raw: true });
    const cards = await this.instanceCards(rows.map((r) => r.id));
    return { total, page: p.page, pageSize: p.pageSize, items: rows.map((r) => cards.get(r.id)!) };
  }

  async counts(userId: number) {
    const { WfTask, WfInstance } = this.db.models;
    const [todo, ccUnread, drafts, running] = await Promise.all([
      WfTask.count({ where: { assigneeId: userId, status: ['pending', 'suspended'], kind: { [Op.ne]: 'cc' } } }),
      WfTask.count({ where: { assigneeId: userId, status: 'pending', kind: 'cc' } }),
      WfInstance.count({ where: { initiatorId: userId, status: 'draft' } }),
      WfInstance.count({ where: { initiatorId: userId, status: 'running' } }),
    ]);
    return { todo, ccUnread, drafts, running };
  }

  /** The initiator, anyone who had a task on it, workflow admins and the process's managers may look. */
  async canView(userId: number, admin: boolean, inst: WfInstance): Promise<boolean> {
    if (admin || inst.initiatorId === userId) return true;
    if (inst.status === 'draft') return false;
    if (await this.db.models.WfTask.count({ where: { instanceId: inst.id, assigneeId: userId } })) return true;
    return this.access.can(userId, 'manage', { type: PROCESS, id: inst.processId });
  }

  async instance(id: number, viewer: { id: number; admin: boolean }) {
    const inst = await this.db.models.WfInstance.findByPk(id);
    if (!inst || !(await this.canView(viewer.id, viewer.admin, inst))) throw notFound('流程实例不存在');
    const { definition, graph } = await this.processes.graphOf(inst.versionId);
    const version = await this.db.models.WfProcessVersion.findByPk(inst.versionId, { attributes: ['version'], raw: true });
    const tasks = await this.db.models.WfTask.findAll({ where: { instanceId: id }, order: [['id', 'ASC']] });
    const history = await this.db.models.WfHistory.findAll({ where: { instanceId: id }, order: [['id', 'ASC']] });
    const tokens = await this.db.models.WfToken.findAll({ where: { instanceId: id, status: 'active' }, attributes: ['nodeId'], raw: true });
    const people = await this.names([...tasks.flatMap((t) => [t.assigneeId, t.onBehalfOf]), ...history.map((h) => h.onBehalfOf)]);
    const card = (await this.instanceCards([id])).get(id)!;
    return {
      ...card,
      version: version?.version ?? null,
      formData: inst.formVersionId ? await this.forms.filter(inst.formVersionId, inst.formData, this.permissionsFor(viewer, inst, tasks, graph)) : inst.formData,
      formVersionId: inst.formVersionId,
      definition,
      /** node ids to highlight on the diagram */
      activeNodes: [...new Set(tokens.map((t) => t.nodeId))],
      tasks: tasks.map((t) => taskView(t, people)),
      history: history.map((h) => ({
        id: h.id,
        at: h.at,
        actor: h.actorId ? { id: h.actorId, name: h.actorName ?? '' } : null,
        onBehalfOf: h.onBehalfOf ? { id: h.onBehalfOf, name: people.get(h.onBehalfOf) ?? '' } : null,
        node: h.nodeId ? { id: h.nodeId, name: h.nodeName ?? '' } : null,
        taskId: h.taskId,
        action: h.action,
        comment: h.comment,
        detail: h.detail,
      })),
    };
  }

  /**
   * What a viewer may see of the form (R16.1): the permissions of the node of their latest task,
   * the start node's for the initiator, everything for workflow admins.
   */
  private permissionsFor(viewer: { id: number; admin: boolean }, inst: WfInstance, tasks: WfTask[], graph: Graph) {
    if (viewer.admin) return {};
    const mine = tasks.filter((t) => t.assigneeId === viewer.id && graph.nodes.has(t.nodeId)).pop();
    const nodeId = mine?.nodeId ?? (inst.initiatorId === viewer.id ? graph.startId : null);
    if (!nodeId) return {};
    const n = graph.node(nodeId);
    return (n.type === 'start' || isHuman(n) ? n.fieldPermissions : undefined) ?? {};
  }

  /** monitoring (R3.9): filter by status, process, title words and start time; counts by status */
  async monitor(q: Page & { status?: WfInstanceStatus; processId?: number; q?: string; from?: Date; to?: Date }) {
    const where: Record<string | symbol, unknown> = { status: { [Op.ne]: 'draft' } };
    if (q.status) where.status = q.status;
    if (q.processId) where.processId = q.processId;
    if (q.q) where.title = { [Op.substring]: q.q };
    if (q.from || q.to) where.createdAt = { ...(q.from ? { [Op.gte]: q.from } : {}), ...(q.to ? { [Op.lt]: q.to } : {}) };
    const { WfInstance } = this.db.models;
    const total = await WfInstance.count({ where });
    const rows = await WfInstance.findAll({ where, attributes: ['id'], order: [['id', 'DESC']], offset: (q.page - 1) * q.pageSize, limit: q.pageSize, raw: true });
    const cards = await this.instanceCards(rows.map((r) => r.id));
    const countWhere: Record<string | symbol, unknown> = { ...where };
    delete countWhere.status;
    const byStatus = (await WfInstance.count({ where: { ...countWhere, status: { [Op.ne]: 'draft' } }, group: ['status'] })) as unknown as { status: string; count: number }[];
    return { total, page: q.page, pageSize: q.pageSize, items: rows.map((r) => cards.get(r.id)!), byStatus: Object.fromEntries(byStatus.map((b) => [b.status, Number(b.count)])) };
  }

  async task(id: number, viewerId: number) {
    const t = await this.db.models.WfTask.findByPk(id);
    if (!t || t.assigneeId !== viewerId) throw notFound('任务不存在');
    const people = await this.names([t.assigneeId, t.onBehalfOf]);
    return taskView(t, people);
  }
}

function taskView(t: WfTask, people: Map<number, string>) {
  return {
    id: t.id,
    node: { id: t.nodeId, name: t.nodeName },
    kind: t.kind,
    assignee: { id: t.assigneeId, name: people.get(t.assigneeId) ?? '' },
    onBehalfOf: t.onBehalfOf ? { id: t.onBehalfOf, name: people.get(t.onBehalfOf) ?? '' } : null,
    status: t.status,
    outcome: t.outcome,
    comment: t.comment,
    addMode: t.addMode,
    seq: t.seq,
    createdAt: t.createdAt,
    openedAt: t.openedAt,
    doneAt: t.doneAt,
    dueAt: t.dueAt,
  };
}
