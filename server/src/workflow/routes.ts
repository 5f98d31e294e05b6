import crypto from 'node:crypto';
import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { pageQuery } from '../http/paging.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppDeps } from '../deps.ts';
import { notFound } from '../http/errors.ts';
import { definitionSchema } from './definition.ts';
import { fromBpmnXml, toBpmnXml } from './bpmn.ts';
import { contentDisposition } from '../files/service.ts';
import { workflowOf } from './module.ts';
import { PROCESS } from './processes.ts';
import type { Person } from './service.ts';
import { delegationRoutes } from './delegation-routes.ts';
import { statsRoutes } from './stats-routes.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const posId = (what: string) => z.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const comment = z.string().trim().max(2000, '意见不能超过 2000 个字符');
const required = (what: string) => z.string({ error: `请填写${what}` }).trim().min(1, `请填写${what}`).max(2000, `${what}不能超过 2000 个字符`);
const clientKey = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '幂等键应为 8 到 64 位字母、数字、- 或 _').optional().describe('客户端生成的幂等键：重复提交只生效一次');
const formData = z.record(z.string(), z.unknown()).describe('表单数据');
const chosen = z.record(z.string(), z.array(posId('人员')).max(200)).optional().describe('为需要选择处理人的节点选择的人员：节点编号 → 人员编号');
const urgency = z.enum(['normal', 'urgent', 'critical'], { error: '紧急程度只能是 normal、urgent 或 critical' });
const processKey = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{1,63}$/, '流程编码只能包含字母、数字、- 和 _，以字母开头');
const name = (what: string) => z.string().trim().min(1, `${what}不能为空`).max(100, `${what}不能超过 100 个字符`);

const processBody = z.strictObject({
  key: processKey,
  name: name('流程名称'),
  categoryId: posId('流程分类').nullable().optional(),
  description: z.string().max(500, '说明不能超过 500 个字符').nullable().optional(),
  definition: definitionSchema,
});
const processPatch = z.strictObject({
  rev: z.number().int().min(1).describe('读取时的修订号，用于并发检查'),
  name: name('流程名称').optional(),
  categoryId: posId('流程分类').nullable().optional(),
  description: z.string().max(500).nullable().optional(),
  definition: definitionSchema.optional(),
  enabled: z.boolean().optional(),
});
const startBody = z.strictObject({
  processKey,
  formData,
  title: z.string().trim().max(200, '标题不能超过 200 个字符').optional(),
  urgency: urgency.optional(),
  draft: z.boolean().optional(),
  chosen,
  clientKey,
});
const actionBody = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ action: z.literal('approve'), comment: comment.optional(), formData: formData.optional(), chosen, clientKey }),
    z.strictObject({ action: z.literal('propose'), comment: required('拟办意见'), formData: formData.optional(), chosen, clientKey }),
    z.strictObject({ action: z.literal('resubmit'), comment: comment.optional(), formData: formData.optional(), chosen, clientKey }),
    z.strictObject({ action: z.literal('reject'), comment: required('驳回意见'), toInitiator: z.boolean().optional(), clientKey }),
    z.strictObject({ action: z.literal('return'), comment: required('退回意见'), toNode: z.string().min(1).max(64), direct: z.boolean().optional().describe('直送：重新提交后直接回到退回人'), clientKey }),
    z.strictObject({ action: z.literal('transfer'), comment: comment.optional(), toUserId: posId('转签人'), clientKey }),
    z.strictObject({
      action: z.literal('addSign'),
      comment: comment.optional(),
      userIds: z.array(posId('加签人')).min(1, '请选择加签人员').max(20, '一次最多加签 20 人'),
      mode: z.enum(['before', 'after', 'parallel'], { error: '加签方式只能是 before（前加签）、after（后加签）或 parallel（并加签）' }),
      clientKey,
    }),
    z.strictObject({ action: z.literal('removeAddSign'), addSignTaskId: posId('加签任务'), comment: comment.optional(), clientKey }),
    z.strictObject({ action: z.literal('read'), comment: comment.optional(), clientKey }),
    z.strictObject({ action: z.literal('suspend'), comment: comment.optional(), clientKey }),
    z.strictObject({ action: z.literal('resume'), comment: comment.optional(), clientKey }),
  ],
  { error: '操作只能是 approve、propose、resubmit、reject、return、transfer、addSign、removeAddSign、read、suspend 或 resume' },
);
const reasonBody = z.strictObject({ reason: required('原因') });
const commentBody = z.strictObject({ comment: comment.optional(), clientKey }).optional();
const draftPatch = z.strictObject({ formData: formData.optional(), title: z.string().trim().min(1).max(200).optional(), urgency: urgency.optional() });
const statusFilter = z.enum(['draft', 'running', 'completed', 'rejected', 'withdrawn', 'terminated'], { error: '状态不正确' }).optional();
const dateTime = z.coerce.date({ error: '时间格式不正确' }).optional();

function who(ctx: AppContext): Person {
  const p = ctx.state.principal!;
  const a = actorOf(ctx);
  return { id: p.userId, name: p.name || p.username, ip: a.ip ?? null, requestId: a.requestId ?? null, admin: hasPermission(p, 'workflow:admin') };
}

/** Workflow engine under /api/v1/workflow (issue 4). */
export function workflowRoutes(deps: AppDeps): RouteSpec[] {
  const wf = workflowOf(deps);
  const design = { permission: 'workflow:design' } as const;
  const admin = { permission: 'workflow:admin' } as const;
  const tags = ['流程'];
  const base = '/api/v1/workflow';
  /**
   * R3.6: management rights are separate from run rights: the process designers (workflow:design)
   * manage every process; a department clerk manages the processes granted to them (`manage` on
   * wf_process, inherited from its category). Anyone else: 404, the process's existence included.
   */
  const canManage = async (ctx: AppContext, processId: number): Promise<void> => {
    const p = ctx.state.principal!;
    if (hasPermission(p, 'workflow:design')) return;
    if (!(await deps.db.models.WfProcess.count({ where: { id: processId } })) || !(await deps.access.can(p.userId, 'manage', { type: PROCESS, id: processId }))) {
      throw notFound('流程不存在');
    }
  };
  const viewOf = (ctx: AppContext, id: number) => wf.queries.instance(id, { id: ctx.state.principal!.userId, admin: hasPermission(ctx.state.principal, 'workflow:admin') });
  return [
    ...delegationRoutes(deps),
    ...statsRoutes(deps),
    // ── definitions ──
    defineRoute({ method: 'get', path: `${base}/categories`, access: 'authenticated', summary: '流程分类', tags, handler: async () => ({ items: await wf.processes.categories() }) }),
    defineRoute({
      method: 'post',
      path: `${base}/categories`,
      access: design,
      summary: '新建流程分类',
      tags,
      body: z.strictObject({ name: name('分类名称'), color: z.string().regex(/^#[0-9a-fA-F]{6}$/, '颜色格式应为 #RRGGBB').nullable().optional(), sort: z.number().int().min(0).max(100000).optional() }),
      handler: async (ctx, { body }) => {
        ctx.status = 201;
        return wf.processes.createCategory(body, actorOf(ctx));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/processes`,
      access: design,
      summary: '流程定义列表',
      tags,
      query: z.strictObject({ categoryId: z.coerce.number().int().positive().optional(), q: z.string().trim().max(64).optional() }),
      handler: async (_ctx, { query }) => ({ items: await wf.processes.list(query) }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/processes`,
      access: design,
      summary: '新建流程（草稿）',
      tags,
      body: processBody,
      handler: async (ctx, { body }) => {
        ctx.status = 201;
        return wf.processes.create(body, actorOf(ctx));
      },
    }),
    defineRoute({ method: 'get', path: `${base}/processes/:id`, access: 'authenticated', summary: '流程定义（草稿）', tags, params: idParam, handler: async (ctx, { params }) => (await canManage(ctx, params.id), wf.processes.get(params.id)) }),
    defineRoute({
      method: 'patch',
      path: `${base}/processes/:id`,
      access: 'authenticated',
      summary: '修改流程草稿',
      tags,
      params: idParam,
      body: processPatch,
      handler: async (ctx, { params, body }) => {
        await canManage(ctx, params.id);
        const { rev, ...patch } = body;
        return wf.processes.update(params.id, rev, patch, actorOf(ctx));
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/processes/:id/validate`,
      access: 'authenticated',
      summary: '发布前校验：不可达节点、分支汇聚、无处理人、缺少默认分支、条件错误',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await canManage(ctx, params.id);
        const p = await wf.processes.get(params.id);
        const issues = await wf.processes.validate(p.definition);
        return { ok: issues.length === 0, issues };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/processes/:id/publish`,
      access: 'authenticated',
      summary: '发布流程：生成不可变的新版本，运行中的实例继续使用原版本',
      tags,
      params: idParam,
      body: z.strictObject({ rev: z.number().int().min(1), note: z.string().trim().max(500).optional() }),
      handler: async (ctx, { params, body }) => (await canManage(ctx, params.id), wf.processes.publish(params.id, body.rev, body.note ?? null, actorOf(ctx))),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/processes/:id/copy`,
      access: design,
      summary: '复制流程',
      tags,
      params: idParam,
      body: z.strictObject({ key: processKey, name: name('流程名称') }),
      handler: async (ctx, { params, body }) => {
        ctx.status = 201;
        return wf.processes.copy(params.id, body.key, body.name, actorOf(ctx));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/processes/:id/bpmn`,
      access: 'authenticated',
      summary: '导出流程草稿为 BPMN 2.0 XML（可在其他建模工具中打开）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await canManage(ctx, params.id);
        const p = await wf.processes.get(params.id);
        ctx.set('Content-Disposition', contentDisposition(`${p.name}.bpmn`));
        ctx.type = 'application/xml';
        ctx.body = await toBpmnXml(p.definition, { key: p.key, name: p.name });
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/processes/import-bpmn`,
      access: design,
      summary: '从 BPMN 2.0 XML 导入为新流程草稿（返回无法对应的内容的说明）',
      tags,
      body: z.strictObject({ key: processKey, name: name('流程名称').optional(), categoryId: posId('流程分类').nullable().optional(), xml: z.string().min(1, '请提供 BPMN XML').describe('BPMN 2.0 XML 文本') }),
      handler: async (ctx, { body }) => {
        const imported = await fromBpmnXml(body.xml);
        const p = await wf.processes.create({ key: body.key, name: body.name ?? imported.name ?? body.key, categoryId: body.categoryId ?? null, definition: imported.definition }, actorOf(ctx));
        ctx.status = 201;
        return { process: p, warnings: imported.warnings };
      },
    }),
    defineRoute({ method: 'get', path: `${base}/processes/:id/versions`, access: 'authenticated', summary: '流程的已发布版本', tags, params: idParam, handler: async (ctx, { params }) => (await canManage(ctx, params.id), { items: await wf.processes.versions(params.id) }) }),
    defineRoute({
      method: 'get',
      path: `${base}/managed-processes`,
      access: 'authenticated',
      summary: '我可以管理的流程（流程设计人员为全部）',
      tags,
      handler: async (ctx) => {
        const p = ctx.state.principal!;
        if (hasPermission(p, 'workflow:design')) return { items: await wf.processes.list({}) };
        const ids = (await deps.access.allowedIds(p.userId, 'manage', PROCESS)).map(Number);
        return { items: ids.length ? await wf.processes.list({ ids }) : [] };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/processes/:id/grants`,
      access: 'authenticated',
      summary: '流程的发起权与管理权（含从分类继承的）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => (await canManage(ctx, params.id), deps.access.listGrants({ type: PROCESS, id: params.id })),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/processes/:id/grants`,
      access: 'authenticated',
      summary: '授予部门、人员、人员组、角色、岗位或全体人员发起或管理该流程的权限（R3.6）',
      tags,
      params: idParam,
      body: z.strictObject({
        action: z.enum(['start', 'manage'], { error: '权限只能是 start（发起）或 manage（管理）' }),
        effect: z.enum(['allow', 'deny'], { error: '只能是 allow 或 deny' }).default('allow'),
        subjectType: z.enum(['user', 'dept', 'role', 'post', 'group', 'everyone'], { error: '授权对象类型不正确' }),
        subjectId: posId('授权对象').nullable().optional(),
        subtree: z.boolean().optional(),
      }),
      handler: async (ctx, { params, body }) => {
        await canManage(ctx, params.id);
        ctx.status = 201;
        return deps.access.createGrant({ resourceType: PROCESS, resourceId: params.id, ...body }, actorOf(ctx));
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/processes/:id/grants/:grantId`,
      access: 'authenticated',
      summary: '撤销该流程上的一条授权',
      tags,
      params: z.strictObject({ id: z.coerce.number().int().positive(), grantId: z.coerce.number().int().positive() }),
      handler: async (ctx, { params }) => {
        await canManage(ctx, params.id);
        const g = await deps.db.models.AccessGrant.findByPk(params.grantId, { attributes: ['resourceType', 'resourceId'], raw: true });
        if (!g || g.resourceType !== PROCESS || g.resourceId !== String(params.id)) throw notFound('授权不存在');
        await deps.access.deleteGrant(params.grantId, actorOf(ctx));
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/catalogue`,
      access: 'authenticated',
      summary: '我可以发起的流程（按分类）',
      tags,
      handler: async (ctx) => {
        const userId = ctx.state.principal!.userId;
        const all = (await wf.processes.list({})).filter((p) => p.enabled && p.latestVersion);
        const ok = new Set(await deps.access.filter(userId, 'start', 'wf_process', all.map((p) => p.id)));
        return { items: all.filter((p) => ok.has(p.id)).map((p) => ({ id: p.id, key: p.key, name: p.name, categoryId: p.categoryId, description: p.description })) };
      },
    }),

    // ── my boxes ──
    defineRoute({ method: 'get', path: `${base}/my/counts`, access: 'authenticated', summary: '我的待办、待阅、草稿数量', tags, handler: (ctx) => wf.queries.counts(ctx.state.principal!.userId) }),
    defineRoute({ method: 'get', path: `${base}/my/todo`, access: 'authenticated', summary: '我的待办', tags, query: z.strictObject({ ...pageQuery }), handler: (ctx, { query }) => wf.queries.todo(ctx.state.principal!.userId, query) }),
    defineRoute({ method: 'get', path: `${base}/my/done`, access: 'authenticated', summary: '我的已办', tags, query: z.strictObject({ ...pageQuery }), handler: (ctx, { query }) => wf.queries.done(ctx.state.principal!.userId, query) }),
    defineRoute({
      method: 'get',
      path: `${base}/my/cc`,
      access: 'authenticated',
      summary: '抄送我的（待阅、已阅）',
      tags,
      query: z.strictObject({ ...pageQuery, unread: z.enum(['true', 'false']).optional().transform((v) => v === 'true') }),
      handler: (ctx, { query }) => wf.queries.cc(ctx.state.principal!.userId, query),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/my/started`,
      access: 'authenticated',
      summary: '我发起的（含草稿）',
      tags,
      query: z.strictObject({ ...pageQuery, status: statusFilter }),
      handler: (ctx, { query }) => wf.queries.started(ctx.state.principal!.userId, query),
    }),

    // ── instances ──
    defineRoute({
      method: 'post',
      path: `${base}/instances`,
      access: 'authenticated',
      summary: '发起流程或保存草稿',
      tags,
      body: startBody,
      handler: async (ctx, { body }) => {
        const id = await wf.service.start(who(ctx), body);
        ctx.status = 201;
        return viewOf(ctx, id);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/external`,
      access: { permission: 'workflow:start-as' },
      summary: '其他系统以员工名义发起流程（须提供幂等键；发起人须有该流程的发起权限）',
      tags,
      body: z
        .strictObject({
          processKey,
          initiatorId: posId('发起人').optional(),
          initiatorEmployeeNo: z.string().trim().min(1).max(32).optional().describe('发起人工号（与 initiatorId 二选一）'),
          formData,
          title: z.string().trim().max(200).optional(),
          urgency: urgency.optional(),
          clientKey: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '幂等键应为 8 到 64 位字母、数字、- 或 _').describe('对接系统的业务单号等，重复提交只发起一次'),
        })
        .refine((b) => (b.initiatorId === undefined) !== (b.initiatorEmployeeNo === undefined), { message: '请提供发起人编号或工号（二选一）', path: ['initiatorId'] }),
      handler: async (ctx, { body }) => {
        const { User } = deps.db.models;
        const person = body.initiatorId !== undefined ? await User.findByPk(body.initiatorId) : await User.findOne({ where: { employeeNo: body.initiatorEmployeeNo! } });
        if (!person || person.status !== 'active') throw notFound('发起人不存在或已停用', 'INITIATOR_NOT_FOUND');
        const caller = who(ctx);
        const id = await wf.service.start(
          { id: person.id, name: person.name, ip: caller.ip ?? null, requestId: caller.requestId ?? null },
          { processKey: body.processKey, formData: body.formData, ...(body.title ? { title: body.title } : {}), ...(body.urgency ? { urgency: body.urgency } : {}), clientKey: `ext-${crypto.createHash('sha256').update(`${caller.id}:${body.clientKey}`).digest('hex').slice(0, 40)}`, via: { id: caller.id, name: caller.name } },
        );
        ctx.status = 201;
        const inst = await deps.db.models.WfInstance.findByPk(id, { attributes: ['id', 'title', 'status', 'currentNodes'] });
        return { id, title: inst!.title, status: inst!.status, currentNodes: inst!.currentNodes };
      },
    }),
    defineRoute({ method: 'get', path: `${base}/instances/:id`, access: 'authenticated', summary: '流程实例：表单、流程图当前节点、任务与完整历史', tags, params: idParam, handler: (ctx, { params }) => viewOf(ctx, params.id) }),
    defineRoute({
      method: 'patch',
      path: `${base}/instances/:id`,
      access: 'authenticated',
      summary: '修改草稿',
      tags,
      params: idParam,
      body: draftPatch,
      handler: async (ctx, { params, body }) => {
        await wf.service.updateDraft(who(ctx), params.id, body);
        return viewOf(ctx, params.id);
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/instances/:id`,
      access: 'authenticated',
      summary: '删除草稿',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await wf.service.deleteDraft(who(ctx), params.id);
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/submit`,
      access: 'authenticated',
      summary: '提交草稿',
      tags,
      params: idParam,
      body: z.strictObject({ chosen, clientKey }).optional(),
      handler: async (ctx, { params, body }) => {
        await wf.service.submitDraft(who(ctx), params.id, body ?? {});
        return viewOf(ctx, params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/withdraw`,
      access: 'authenticated',
      summary: '撤回（发起人，在还没有人处理时）',
      tags,
      params: idParam,
      body: commentBody,
      handler: async (ctx, { params, body }) => {
        await wf.service.withdraw(who(ctx), params.id, body?.comment ?? null, body?.clientKey);
        return viewOf(ctx, params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/urge`,
      access: 'authenticated',
      summary: '催办（发起人或流程管理员；10 分钟内只能催办一次）',
      tags,
      params: idParam,
      body: commentBody,
      handler: async (ctx, { params, body }) => ({ reminded: await wf.service.urge(who(ctx), params.id, body?.comment ?? null) }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/distribute`,
      access: 'authenticated',
      summary: '分发已办结的流程给部门和人员阅读（发起人或流程管理员）',
      tags,
      params: idParam,
      body: z
        .strictObject({ deptIds: z.array(posId('部门')).max(500).default([]), userIds: z.array(posId('人员')).max(5000).default([]), comment: comment.optional() })
        .refine((b) => b.deptIds.length + b.userIds.length > 0, { message: '请选择分发的部门或人员', path: ['deptIds'] }),
      handler: async (ctx, { params, body }) => ({ distributed: await wf.service.distribute(who(ctx), params.id, { deptIds: body.deptIds, userIds: body.userIds, comment: body.comment ?? null }) }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/restart`,
      access: 'authenticated',
      summary: '重新发起被驳回或已撤回的流程（生成新的草稿）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        const id = await wf.service.restart(who(ctx), params.id);
        ctx.status = 201;
        return viewOf(ctx, id);
      },
    }),

    // ── tasks ──
    defineRoute({ method: 'get', path: `${base}/tasks/:id`, access: 'authenticated', summary: '我的任务', tags, params: idParam, handler: (ctx, { params }) => wf.queries.task(params.id, ctx.state.principal!.userId) }),
    defineRoute({
      method: 'get',
      path: `${base}/tasks/:id/return-targets`,
      access: 'authenticated',
      summary: '可以退回到的步骤',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => ({ items: await wf.service.returnTargetsFor(who(ctx), params.id) }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/tasks/:id/actions`,
      access: 'authenticated',
      summary: '办理任务：同意、驳回、退回（可直送）、转签、加签、撤销加签、阅读、挂起、恢复、重新提交',
      tags,
      params: idParam,
      body: actionBody,
      handler: async (ctx, { params, body }) => {
        const { clientKey: key, ...input } = body;
        const instanceId = await wf.service.act(who(ctx), params.id, input, key);
        return viewOf(ctx, instanceId);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/tasks/:id/withdraw`,
      access: 'authenticated',
      summary: '撤回自己的同意（下一步还没有人处理时）',
      tags,
      params: idParam,
      body: commentBody,
      handler: async (ctx, { params, body }) => {
        await wf.service.withdrawTask(who(ctx), params.id, body?.comment ?? null, body?.clientKey);
        const t = await deps.db.models.WfTask.findByPk(params.id, { attributes: ['instanceId'], raw: true });
        if (!t) throw notFound('任务不存在');
        return viewOf(ctx, t.instanceId);
      },
    }),

    // ── monitoring and interventions (workflow:admin) ──
    defineRoute({
      method: 'get',
      path: `${base}/monitor`,
      access: admin,
      summary: '流程监控：运行中和已结束的实例，按状态计数',
      tags,
      query: z.strictObject({ ...pageQuery, status: statusFilter, processId: z.coerce.number().int().positive().optional(), q: z.string().trim().max(100).optional(), from: dateTime, to: dateTime }),
      handler: (_ctx, { query }) => wf.queries.monitor(query),
    }),
    ...(['suspend', 'resume', 'terminate'] as const).map((verb) =>
      defineRoute({
        method: 'post',
        path: `${base}/instances/:id/${verb}`,
        access: admin,
        summary: { suspend: '挂起流程', resume: '恢复流程', terminate: '终止流程' }[verb] + '（须填写原因，记入审计）',
        tags,
        params: idParam,
        body: reasonBody,
        handler: async (ctx, { params, body }) => {
          await wf.service[verb](who(ctx), params.id, body.reason);
          return viewOf(ctx, params.id);
        },
      }),
    ),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/jump`,
      access: admin,
      summary: '跳转到任意节点（须填写原因）',
      tags,
      params: idParam,
      body: z.strictObject({ toNode: z.string().min(1).max(64), fromTaskId: posId('任务').optional(), reason: required('原因') }),
      handler: async (ctx, { params, body }) => {
        await wf.service.jump(who(ctx), params.id, body.toNode, body.reason, body.fromTaskId);
        return viewOf(ctx, params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/instances/:id/delete`,
      access: admin,
      summary: '删除已结束的流程（须填写原因，记入审计）',
      tags,
      params: idParam,
      body: reasonBody,
      handler: async (ctx, { params, body }) => {
        await wf.service.deleteFinished(who(ctx), params.id, body.reason);
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/tasks/:id/reassign`,
      access: admin,
      summary: '改派任务（须填写原因）',
      tags,
      params: idParam,
      body: z.strictObject({ toUserId: posId('人员'), reason: required('原因') }),
      handler: async (ctx, { params, body }) => {
        await wf.service.reassign(who(ctx), params.id, body.toUserId, body.reason);
        return { ok: true };
      },
    }),
  ];
}
