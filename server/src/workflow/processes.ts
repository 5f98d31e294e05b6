import { inUnitOfWork, Op, UniqueConstraintError, type Actor, type Database, type Transaction, type WfProcess } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { AccessService } from '../access/grants.ts';
import { badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';
import { definitionSchema, isHuman, type AssigneeRule, type ProcessDefinition } from './definition.ts';
import { analyse, type Graph, type GraphIssue } from './graph.ts';
import type { ConditionChecker } from './conditions.ts';
import { checkCron } from './triggers.ts';

/**
 * Process definitions (issue 4 "Definitions", R3.1, R3.3, R3.6, R3.7, R3.10): an editable draft
 * per process; publishing validates it and freezes an immutable version that new instances run on
 * (running instances keep theirs). Run rights (`start`) and management rights (`manage`) are
 * grants of the one access-control service on resource type `wf_process`, inherited from the
 * process's category (`wf_category`).
 */

export const PROCESS = 'wf_process';
export const CATEGORY = 'wf_category';

export interface ProcessInput {
  key: string;
  name: string;
  categoryId?: number | null;
  description?: string | null;
  definition: ProcessDefinition;
}

export interface ProcessView {
  id: number;
  key: string;
  name: string;
  categoryId: number | null;
  description: string | null;
  definition: ProcessDefinition;
  rev: number;
  latestVersion: number | null;
  enabled: boolean;
  updatedAt: Date;
}

const view = (p: WfProcess): ProcessView => ({
  id: p.id,
  key: p.processKey,
  name: p.name,
  categoryId: p.categoryId,
  description: p.description,
  definition: p.draft as ProcessDefinition,
  rev: p.rev,
  latestVersion: p.latestVersion,
  enabled: p.enabled,
  updatedAt: p.updatedAt,
});

/** immutable published versions, parsed once */
const graphs = new WeakMap<Database, Map<number, Graph>>();

export class ProcessService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly access: AccessService,
    private readonly conditions: ConditionChecker,
    /** automatic actions a process may name (built in, and registered by modules) */
    private readonly actions: ReadonlyMap<string, unknown>,
  ) {
    access.registerResourceType({
      type: PROCESS,
      name: '审批流程',
      actions: ['start', 'manage'],
      exists: async (id, t) => /^\d+$/.test(id) && !!(await db.models.WfProcess.findByPk(Number(id), { attributes: ['id'], transaction: t })),
    });
    access.registerResourceType({
      type: CATEGORY,
      name: '流程分类',
      actions: ['start', 'manage'],
      exists: async (id, t) => /^\d+$/.test(id) && !!(await db.models.WfCategory.findByPk(Number(id), { attributes: ['id'], transaction: t })),
    });
  }

  /** The graph of a published version (cached: versions never change). */
  async graphOf(versionId: number, t?: Transaction): Promise<{ graph: Graph; definition: ProcessDefinition }> {
    let cache = graphs.get(this.db);
    if (!cache) graphs.set(this.db, (cache = new Map()));
    const hit = cache.get(versionId);
    if (hit) return { graph: hit, definition: hit.def };
    const v = await this.db.models.WfProcessVersion.findByPk(versionId, { transaction: t });
    if (!v) throw notFound('流程版本不存在');
    const { graph, issues } = analyse(v.definition as ProcessDefinition);
    if (issues.length) throw new Error(`published version ${versionId} does not validate: ${issues[0]!.message}`);
    cache.set(versionId, graph);
    return { graph, definition: graph.def };
  }

  async get(id: number): Promise<ProcessView> {
    const p = await this.db.models.WfProcess.findByPk(id);
    if (!p) throw notFound('流程不存在');
    return view(p);
  }

  async byKey(key: string, t?: Transaction): Promise<WfProcess> {
    const p = await this.db.models.WfProcess.findOne({ where: { processKey: key }, transaction: t });
    if (!p) throw notFound(`流程 ${key} 不存在`);
    return p;
  }

  async list(q: { categoryId?: number; q?: string; ids?: number[] }): Promise<ProcessView[]> {
    const where: Record<string | symbol, unknown> = {};
    if (q.categoryId) where.categoryId = q.categoryId;
    if (q.ids) where.id = q.ids;
    if (q.q) where[Op.or] = [{ name: { [Op.substring]: q.q } }, { processKey: { [Op.substring]: q.q } }];
    const rows = await this.db.models.WfProcess.findAll({ where, order: [['id', 'ASC']] });
    return rows.map(view);
  }

  async create(input: ProcessInput, actor: Actor): Promise<ProcessView> {
    const { WfProcess } = this.db.models;
    const now = this.clock.now();
    try {
      const id = await inUnitOfWork(this.db, actor, now, async (uow) => {
        await this.checkCategory(input.categoryId ?? null, uow.t);
        const p = await WfProcess.create(
          {
            processKey: input.key,
            name: input.name,
            categoryId: input.categoryId ?? null,
            description: input.description ?? null,
            draft: input.definition,
            latestVersion: null,
            createdBy: actor.id,
            createdAt: now,
            updatedAt: now,
          },
          { transaction: uow.t },
        );
        if (p.categoryId) await this.access.setParent({ type: PROCESS, id: p.id }, { type: CATEGORY, id: p.categoryId }, uow.t);
        uow.audit({ action: 'workflow.process.create', objectType: 'wf_process', objectId: p.id, detail: { key: input.key, name: input.name } });
        return p.id;
      });
      // Run rights are explicit grants (deny by default): a new process starts open to everyone,
      // visibly, and the designer narrows it to departments, people or groups (R3.6).
      await this.access.createGrant({ resourceType: PROCESS, resourceId: id, subjectType: 'everyone', action: 'start', effect: 'allow' }, actor);
      return this.get(id);
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw conflict(`流程编码 ${input.key} 已存在`, 'PROCESS_KEY_TAKEN');
      throw err;
    }
  }

  async update(id: number, rev: number, patch: Partial<Omit<ProcessInput, 'key'>> & { enabled?: boolean }, actor: Actor): Promise<ProcessView> {
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const p = await this.db.models.WfProcess.findByPk(id, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!p) throw notFound('流程不存在');
      if (p.rev !== rev) throw conflict('流程已被他人修改，请刷新后再保存', 'STALE_PROCESS');
      if (patch.categoryId !== undefined) await this.checkCategory(patch.categoryId, uow.t);
      const changes: Partial<WfProcess> = { rev: p.rev + 1, updatedAt: uow.now };
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.description !== undefined) changes.description = patch.description;
      if (patch.definition !== undefined) changes.draft = patch.definition;
      if (patch.enabled !== undefined) changes.enabled = patch.enabled;
      if (patch.categoryId !== undefined) changes.categoryId = patch.categoryId;
      await p.update(changes, { transaction: uow.t });
      if (patch.categoryId !== undefined) {
        await this.access.setParent({ type: PROCESS, id }, patch.categoryId ? { type: CATEGORY, id: patch.categoryId } : null, uow.t);
      }
      uow.audit({ action: 'workflow.process.update', objectType: 'wf_process', objectId: id, detail: { fields: Object.keys(patch) } });
    });
    return this.get(id);
  }

  private async checkCategory(categoryId: number | null, t: Transaction): Promise<void> {
    if (categoryId && !(await this.db.models.WfCategory.findByPk(categoryId, { transaction: t }))) {
      throw badRequest('流程分类不存在', [{ path: 'categoryId', message: '流程分类不存在' }], 'CATEGORY_NOT_FOUND');
    }
  }

  /** Everything that stops a draft from being published, in Chinese, with the node concerned. */
  async validate(def: ProcessDefinition, t?: Transaction): Promise<GraphIssue[]> {
    const parsed = definitionSchema.safeParse(def);
    if (!parsed.success) return parsed.error.issues.map((i) => ({ code: 'SCHEMA', message: i.message }));
    const { issues } = analyse(parsed.data);
    for (const e of parsed.data.edges) {
      if (!e.condition?.trim()) continue;
      const problem = this.conditions.check(e.condition);
      if (problem) issues.push({ code: 'BAD_CONDITION', message: `连线 ${e.name ?? e.id} 的条件有误：${problem}`, edgeId: e.id });
    }
    for (const [i, tr] of (parsed.data.triggers ?? []).entries()) {
      const problem = tr.kind === 'cron' ? checkCron(tr.cron) : null;
      if (problem) issues.push({ code: 'BAD_TRIGGER', message: `第 ${i + 1} 条触发规则有误：${problem}` });
      const who = tr.kind === 'cron' ? tr.initiatorId : tr.initiator === 'subject' ? null : tr.initiator;
      if (who !== null && !(await this.db.models.User.count({ where: { id: who, status: 'active' }, transaction: t }))) {
        issues.push({ code: 'BAD_TRIGGER', message: `第 ${i + 1} 条触发规则的发起人不存在或已停用` });
      }
    }
    issues.push(...(await this.checkReferences(parsed.data, t)));
    return issues;
  }

  /** people, roles, posts and groups named by assignee rules must exist (and people be active) */
  private async checkReferences(def: ProcessDefinition, t?: Transaction): Promise<GraphIssue[]> {
    const { User, Role, Post, UserGroup } = this.db.models;
    const out: GraphIssue[] = [];
    for (const n of def.nodes) {
      if (n.type === 'subprocess') {
        const child = await this.db.models.WfProcess.findOne({ where: { processKey: n.processKey }, attributes: ['latestVersion'], transaction: t });
        if (!child) out.push({ code: 'SUBPROCESS_NOT_FOUND', message: `子流程节点“${n.name}”引用的流程 ${n.processKey} 不存在`, nodeId: n.id });
        else if (!child.latestVersion) out.push({ code: 'SUBPROCESS_UNPUBLISHED', message: `子流程节点“${n.name}”引用的流程 ${n.processKey} 尚未发布`, nodeId: n.id });
      }
      if (n.type === 'action' && !this.actions.has(n.hook)) out.push({ code: 'UNKNOWN_HOOK', message: `自动操作节点“${n.name}”的操作 ${n.hook} 不存在`, nodeId: n.id });
      const rules: AssigneeRule[] = isHuman(n) || n.type === 'cc' ? n.assignees : [];
      for (const r of rules) {
        if (r.kind === 'person') {
          const active = await User.count({ where: { id: r.userIds, status: 'active' }, transaction: t });
          if (active !== new Set(r.userIds).size) out.push({ code: 'PERSON_INACTIVE', message: `节点“${n.name}”指定的人员不存在或已停用`, nodeId: n.id });
        } else if (r.kind === 'role' && !(await Role.findOne({ where: { code: r.roleCode }, transaction: t }))) {
          out.push({ code: 'ROLE_NOT_FOUND', message: `节点“${n.name}”的角色 ${r.roleCode} 不存在`, nodeId: n.id });
        } else if (r.kind === 'post' && !(await Post.findByPk(r.postId, { transaction: t }))) {
          out.push({ code: 'POST_NOT_FOUND', message: `节点“${n.name}”的岗位不存在`, nodeId: n.id });
        } else if (r.kind === 'group' && !(await UserGroup.findByPk(r.groupId, { transaction: t }))) {
          out.push({ code: 'GROUP_NOT_FOUND', message: `节点“${n.name}”的人员组不存在`, nodeId: n.id });
        }
      }
    }
    return out;
  }

  async publish(id: number, rev: number, note: string | null, actor: Actor): Promise<{ version: number; versionId: number }> {
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const { WfProcess, WfProcessVersion } = this.db.models;
      const p = await WfProcess.findByPk(id, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!p) throw notFound('流程不存在');
      if (p.rev !== rev) throw conflict('流程已被他人修改，请刷新后再发布', 'STALE_PROCESS');
      const issues = await this.validate(p.draft as ProcessDefinition, uow.t);
      if (issues.length) {
        const errors: FieldError[] = issues.map((i) => ({ path: i.nodeId ? `nodes.${i.nodeId}` : i.edgeId ? `edges.${i.edgeId}` : 'definition', message: i.message }));
        throw badRequest(`流程有 ${issues.length} 处问题，不能发布：${issues[0]!.message}`, errors, 'PROCESS_INVALID');
      }
      const version = (p.latestVersion ?? 0) + 1;
      const v = await WfProcessVersion.create({ processId: id, version, definition: p.draft, note, publishedBy: actor.id, publishedAt: uow.now }, { transaction: uow.t });
      await p.update({ latestVersion: version }, { transaction: uow.t });
      uow.audit({ action: 'workflow.process.publish', objectType: 'wf_process', objectId: id, detail: { version, note } });
      return { version, versionId: v.id };
    });
  }

  /** copy a process (R3.3): its draft under a new key, unpublished */
  async copy(id: number, key: string, name: string, actor: Actor): Promise<ProcessView> {
    const src = await this.get(id);
    return this.create({ key, name, categoryId: src.categoryId, description: src.description, definition: src.definition }, actor);
  }

  async versions(id: number) {
    const rows = await this.db.models.WfProcessVersion.findAll({ where: { processId: id }, attributes: ['id', 'version', 'note', 'publishedBy', 'publishedAt'], order: [['version', 'DESC']] });
    return rows.map((r) => ({ id: r.id, version: r.version, note: r.note, publishedBy: r.publishedBy, publishedAt: r.publishedAt }));
  }

  async latestVersionId(p: WfProcess, t?: Transaction): Promise<number> {
    if (!p.latestVersion) throw conflict(`流程“${p.name}”尚未发布，不能发起`, 'PROCESS_NOT_PUBLISHED');
    const v = await this.db.models.WfProcessVersion.findOne({ where: { processId: p.id, version: p.latestVersion }, attributes: ['id'], transaction: t });
    return v!.id;
  }

  // ── categories (R3.10) ──
  async categories() {
    const rows = await this.db.models.WfCategory.findAll({ order: [['sort', 'ASC'], ['id', 'ASC']] });
    return rows.map((c) => ({ id: c.id, name: c.name, color: c.color, sort: c.sort }));
  }

  async createCategory(input: { name: string; color?: string | null; sort?: number }, actor: Actor) {
    try {
      return await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
        const c = await this.db.models.WfCategory.create({ name: input.name, color: input.color ?? null, sort: input.sort ?? 0 }, { transaction: uow.t });
        uow.audit({ action: 'workflow.category.create', objectType: 'wf_category', objectId: c.id, detail: input });
        return { id: c.id, name: c.name, color: c.color, sort: c.sort };
      });
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw conflict(`流程分类“${input.name}”已存在`, 'CATEGORY_TAKEN');
      throw err;
    }
  }
}
