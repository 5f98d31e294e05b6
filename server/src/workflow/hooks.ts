import type { Database, Transaction, WfDelegation } from '@oa/db';
import type { JobRunner } from '../jobs/runner.ts';
import { directSuperior } from '../org/resolvers.ts';
import type { ConditionChecker } from './conditions.ts';
import type { EngineHooks, Run } from './engine.ts';

/**
 * What the engine needs from the rest of the system: person facts for conditions, out-of-office
 * delegation, durable timers through the job runner, and the registry of automatic actions.
 */

export const TIMER_JOB = 'workflow.timer';
export const TIMEOUT_JOB = 'workflow.timeout';
/** longest delegation chain followed (A→B→C→D); beyond it, or on a loop, the last person keeps the task */
export const MAX_DELEGATION_HOPS = 3;

export type ActionHook = (params: Record<string, unknown>, run: Run) => Promise<void>;

export function builtinActions(): Map<string, ActionHook> {
  return new Map<string, ActionHook>([
    // 自动归档: recorded on the instance's trail; the document registry picks archived instances up
    ['archive', async (_p, run) => run.history('archived', { comment: '自动归档' })],
    // 自动通知: tell the initiator (or listed people) that the flow passed this point
    [
      'notify',
      async (p, run) => {
        const to = Array.isArray(p.userIds) ? p.userIds.filter((x): x is number => Number.isInteger(x)) : [run.inst.initiatorId];
        const text = typeof p.message === 'string' ? p.message.slice(0, 200) : '流程已到达通知节点';
        for (const uid of to) run.notify(uid, `【通知】${run.inst.title}`, text, `/workflow/instances/${run.inst.id}`, `wf.inst.${run.inst.id}.notify.${uid}.${run.uow.now.getTime()}`);
      },
    ],
  ]);
}

export async function personFacts(db: Database, userId: number | null, t: Transaction): Promise<Record<string, unknown> | null> {
  if (userId === null) return null;
  const { User, Department, Post, Position, Title } = db.models;
  const u = await User.findByPk(userId, { transaction: t, raw: true });
  if (!u) return null;
  const dept = u.deptId ? await Department.findByPk(u.deptId, { transaction: t, raw: true }) : null;
  const post = u.postId ? await Post.findByPk(u.postId, { transaction: t, raw: true }) : null;
  const position = u.positionId ? await Position.findByPk(u.positionId, { transaction: t, raw: true }) : null;
  const title = u.titleId ? await Title.findByPk(u.titleId, { transaction: t, raw: true }) : null;
  const sup = await directSuperior(db, userId, { transaction: t });
  return {
    id: u.id,
    name: u.name,
    employeeNo: u.employeeNo,
    deptId: u.deptId,
    deptCode: dept?.code ?? null,
    deptName: dept?.name ?? null,
    deptPath: dept?.path ?? null,
    deptKind: dept?.kind ?? null,
    level: dept?.level ?? null,
    postId: u.postId,
    postCode: post?.code ?? null,
    postName: post?.name ?? null,
    positionCode: position?.code ?? null,
    positionName: position?.name ?? null,
    positionRank: position?.rank ?? null,
    titleCode: title?.code ?? null,
    titleGrade: title?.grade ?? null,
    superiorId: sup.userIds[0] ?? null,
  };
}

/** how long this process trusts its copy of the delegation rules (changes elsewhere show up within it) */
const DELEGATION_CACHE_MS = 5_000;

export function createHooks(deps: { db: Database; jobs: JobRunner; conditions: ConditionChecker; actions: Map<string, ActionHook> }): Omit<EngineHooks, 'startChild' | 'childFinished' | 'endChildren'> {
  const { db } = deps;
  // Every task creation asks for delegations; they change rarely. Writes in this process drop the
  // copy at once; another server instance's writes are seen within DELEGATION_CACHE_MS.
  let cached: { at: number; rows: WfDelegation[] } | null = null;
  const drop = () => void (cached = null);
  db.models.WfDelegation.addHook('afterSave', drop);
  db.models.WfDelegation.addHook('afterDestroy', drop);
  db.models.WfDelegation.addHook('afterBulkUpdate', drop);
  db.models.WfDelegation.addHook('afterBulkCreate', drop);
  return {
    async delegations(run) {
      const now = Date.now();
      if (!cached || now - cached.at > DELEGATION_CACHE_MS) {
        cached = { at: now, rows: await db.models.WfDelegation.findAll({ where: { status: 'active' }, order: [['id', 'ASC']], transaction: run.t }) };
      }
      return cached.rows;
    },
    condition: (source, scope) => deps.conditions.evaluate(source, scope),
    async action(hook, params, run) {
      const h = deps.actions.get(hook);
      if (!h) throw new Error(`unknown workflow action hook ${hook}`);
      await h(params, run);
    },
    personFacts: (userId, t) => personFacts(db, userId, t),
    async delegateFor(userId, run) {
      const rules = await run.activeDelegations();
      if (!rules.length) return null;
      const process = await db.models.WfProcess.findByPk(run.inst.processId, { attributes: ['id', 'categoryId'], transaction: run.t, raw: true });
      const seen = new Set([userId]);
      let current = userId;
      for (let hop = 0; hop < MAX_DELEGATION_HOPS; hop++) {
        const rule = rules.find(
          (r) =>
            r.delegatorId === current &&
            (r.processId === null || r.processId === process?.id) &&
            (r.categoryId === null || r.categoryId === process?.categoryId) &&
            (!r.condition || deps.conditions.evaluate(r.condition, { form: run.inst.formData })),
        );
        if (!rule || seen.has(rule.delegateId)) break;
        const delegate = await db.models.User.findByPk(rule.delegateId, { attributes: ['status'], transaction: run.t, raw: true });
        if (delegate?.status !== 'active') break;
        seen.add(rule.delegateId);
        current = rule.delegateId;
      }
      return current === userId ? null : current;
    },
    async schedule(kind, runAt, payload, run) {
      const job = kind === 'timer' ? TIMER_JOB : TIMEOUT_JOB;
      const key = kind === 'timer' ? `${job}:${String(payload.tokenId)}:${runAt.getTime()}` : `${job}:${String(payload.taskId)}:${String(payload.round)}`;
      await deps.jobs.enqueue(job, { instanceId: run.inst.id, ...payload }, { runAt, dedupeKey: key, transaction: run.t });
    },
  };
}
