import { Op, parseJsonColumn, type WfTask } from '@oa/db';
import { approvalCardUpdate, parseApprovalButtonKey, parseXmlSafely, toEvent, WecomApiError, type ApprovalOutcome, type TemplateCardEvent } from '@oa/wecom';
import type { AppDeps } from '../deps.ts';
import { AppError } from '../http/errors.ts';
import { workflowOf } from '../workflow/module.ts';
import { OUTCOME_NAMES } from '../workflow/service.ts';
import { clientKeyOf, findPersonByWecomId } from './channel.ts';
import type { WecomModule } from './module.ts';

/**
 * Approving from the card (R20.2, issue 6 item 6): a template_card_event acts on the workflow as the
 * clicking person and the card shows the real result (update_template_card), also when the task was
 * handled elsewhere (409 → "已由 X 处理"). Cards of tasks finished any other way (approved on the
 * web, instance withdrawn or ended) are swept every minute: updated to the real state, or recalled
 * when the instance was withdrawn (issue 6 item 6 "recall when an item is withdrawn").
 */

/** Comment recorded for an action taken from a WeCom card (the reject action requires one). */
export const CARD_COMMENT = '（企业微信卡片操作）';

/** Job kinds. */
export const EVENT_JOB = 'wecom.event';
export const SWEEP_JOB = 'wecom.card-sweep';

/** response_code lifetime (SPEC.md §5.1: 72 h), with a margin. */
const RESPONSE_CODE_MS = 71 * 3_600_000;
/** Recall only works for messages of the last 24 hours (SPEC.md §5.5). */
const RECALL_MS = 23 * 3_600_000;

async function nameOf(deps: AppDeps, userId: number | null | undefined): Promise<string | undefined> {
  if (!userId) return undefined;
  const u = await deps.db.models.User.findByPk(userId, { attributes: ['name'], raw: true });
  return u?.name;
}

/** What a task's card should say now, from the database (never from an error message). */
export async function outcomeOfTask(deps: AppDeps, task: WfTask | null, clicker?: { id: number; name: string }): Promise<ApprovalOutcome | null> {
  if (!task) return { kind: 'unavailable', reason: '任务不存在' };
  if (task.status === 'done') {
    const by = (await nameOf(deps, task.assigneeId)) ?? '他人';
    if (clicker && task.assigneeId === clicker.id && (task.outcome === 'approve' || task.outcome === 'reject')) {
      return { kind: task.outcome === 'approve' ? 'approved' : 'rejected', by };
    }
    return { kind: 'already_handled', by, state: (OUTCOME_NAMES[task.outcome ?? ''] ?? task.outcome ?? '已处理').replace(/^已/, '') };
  }
  if (task.status === 'cancelled') {
    const inst = await deps.db.models.WfInstance.findByPk(task.instanceId, { attributes: ['status'], raw: true });
    if (inst?.status === 'withdrawn') return { kind: 'unavailable', reason: '申请人已撤回' };
    if (inst && inst.status !== 'running') return { kind: 'unavailable', reason: '流程已结束' };
    return { kind: 'unavailable', reason: '已由他人处理或流程已流转' };
  }
  return null; // still open (pending, queued, waiting, suspended)
}

async function updateCard(deps: AppDeps, mod: WecomModule, responseCode: string, outcome: ApprovalOutcome, userids: string[]): Promise<'ok' | 'code_rejected'> {
  try {
    await mod.client.updateTemplateCard(approvalCardUpdate({ responseCode, outcome, userids, agentId: mod.settings.agentId }));
    return 'ok';
  } catch (err) {
    // a used or expired response_code (UNVERIFIED errcode, SPEC.md §5.4): retrying cannot help
    if (err instanceof WecomApiError && (err.errcode === 40058 || err.errcode === 40035)) {
      deps.log.warn({ errcode: err.errcode }, 'wecom: update_template_card refused the response_code');
      return 'code_rejected';
    }
    throw err;
  }
}

/** The template_card_event handler: act as the clicking person, then show the result on the card. */
export async function handleCardClick(deps: AppDeps, mod: WecomModule, ev: TemplateCardEvent, dedupeKey: string): Promise<string> {
  const { WfTask, WecomMessage } = deps.db.models;
  const key = parseApprovalButtonKey(ev.eventKey);
  if (!key) return `ignored: button key ${ev.eventKey.slice(0, 60)} is not an approval key`;
  const taskId = Number(key.taskId);
  const card = await WecomMessage.findOne({ where: { cardTaskId: ev.taskId } });
  const finish = async (outcome: ApprovalOutcome): Promise<string> => {
    const r = await updateCard(deps, mod, ev.responseCode, outcome, [ev.userId]);
    if (card && r === 'ok') await card.update({ cardState: 'updated', cardUpdatedAt: deps.clock.now(), resultText: resultTextOf(outcome) });
    return `${resultTextOf(outcome)}${r === 'ok' ? '' : '（卡片更新被拒绝）'}`;
  };
  if (!Number.isInteger(taskId) || taskId <= 0) return finish({ kind: 'unavailable', reason: '卡片数据无效' });

  const person = await findPersonByWecomId(deps, ev.userId);
  if (!person || person.status !== 'active') {
    deps.log.warn({ wecomUserId: ev.userId, taskId }, 'wecom: card click from a WeCom userid that maps to no active person');
    return finish({ kind: 'unavailable', reason: '您的企业微信账号未关联本系统人员，请联系信息科' });
  }
  const who = { id: person.id, name: person.name, requestId: `wecom:${dedupeKey.slice(0, 40)}` };
  try {
    await workflowOf(deps).service.act(who, taskId, { action: key.action, comment: CARD_COMMENT }, clientKeyOf(dedupeKey));
  } catch (err) {
    if (!(err instanceof AppError)) throw err; // database trouble: the job retries, the client key keeps it single
    const task = await WfTask.findByPk(taskId);
    if (err.status === 404 || !task || task.assigneeId !== person.id) return finish({ kind: 'unavailable', reason: '该任务不存在或已不由您处理' });
    const now = await outcomeOfTask(deps, task, undefined);
    if (err.status === 409 && now) return finish(now);
    // still open but this action is not possible from the card (a required field, a handler to pick …)
    return finish({ kind: 'unavailable', reason: clipReason(`${err.detail}，请打开详情处理`) });
  }
  const task = await WfTask.findByPk(taskId);
  const outcome = (await outcomeOfTask(deps, task, { id: person.id, name: person.name })) ?? { kind: 'unavailable', reason: '已提交，请打开详情查看进度' };
  return finish(outcome);
}

function resultTextOf(o: ApprovalOutcome): string {
  switch (o.kind) {
    case 'approved':
      return `${o.by} 已同意`;
    case 'rejected':
      return `${o.by} 已驳回`;
    case 'already_handled':
      return `已由${o.by ?? '他人'}处理（${o.state}）`;
    case 'unavailable':
      return o.reason;
  }
}

function clipReason(s: string): string {
  return [...s].slice(0, 40).join('');
}

/**
 * Cards whose task is no longer open: updated with the send's response_code to the real state,
 * or recalled when the instance was withdrawn. Returns how many cards changed.
 */
export async function sweepCards(deps: AppDeps, mod: WecomModule, limit = 200): Promise<number> {
  const { WecomMessage, WfTask, WfInstance } = deps.db.models;
  const open = await WecomMessage.findAll({ where: { cardState: 'open' }, order: [['id', 'ASC']], limit });
  if (!open.length) return 0;
  const taskIds = [...new Set(open.map((m) => m.taskId).filter((x): x is number => !!x))];
  const tasks = new Map((await WfTask.findAll({ where: { id: { [Op.in]: taskIds } } })).map((t) => [t.id, t]));
  const now = deps.clock.now();
  let changed = 0;
  for (const m of open) {
    const age = now.getTime() - (m.sentAt ?? m.createdAt).getTime();
    const task = m.taskId ? (tasks.get(m.taskId) ?? null) : null;
    const outcome = await outcomeOfTask(deps, task);
    if (!outcome) {
      if (age > RESPONSE_CODE_MS) await m.update({ cardState: 'expired' });
      continue;
    }
    const inst = task ? await WfInstance.findByPk(task.instanceId, { attributes: ['status'], raw: true }) : null;
    if (inst?.status === 'withdrawn' && m.msgid && age < RECALL_MS) {
      try {
        await mod.client.recallMessage(m.msgid);
        await m.update({ cardState: 'recalled', cardUpdatedAt: now, resultText: '申请人已撤回，消息已撤回' });
        changed++;
        continue;
      } catch (err) {
        if (!(err instanceof WecomApiError)) throw err;
        deps.log.warn({ msgid: m.msgid, errcode: err.errcode }, 'wecom: recall failed, updating the card instead');
      }
    }
    if (!m.responseCode || age > RESPONSE_CODE_MS) {
      await m.update({ cardState: 'expired' });
      continue;
    }
    const r = await updateCard(deps, mod, m.responseCode, outcome, [m.wecomUserId]);
    await m.update({ cardState: r === 'ok' ? 'updated' : 'expired', cardUpdatedAt: now, resultText: resultTextOf(outcome) });
    if (r === 'ok') changed++;
  }
  return changed;
}

/** The `wecom.event` job: re-parse the stored event and hand it to the handler of its kind, once. */
export async function processEvent(deps: AppDeps, mod: WecomModule, eventId: number): Promise<void> {
  const { WecomEvent } = deps.db.models;
  const row = await WecomEvent.findByPk(eventId);
  if (!row || row.status !== 'pending') return;
  const msg = parseXmlSafely(row.plaintext).xml;
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
    await row.update({ status: 'failed', result: 'stored message has no <xml> root', processedAt: deps.clock.now() });
    return;
  }
  const event = toEvent(msg);
  const handler = mod.handlerOf(event.kind);
  if (!handler) {
    await row.update({ status: 'ignored', result: `no handler for ${event.kind}`, processedAt: deps.clock.now() });
    return;
  }
  const result = await handler(event, { eventId, dedupeKey: row.dedupeKey });
  await row.update({ status: 'done', result: typeof result === 'string' ? result.slice(0, 500) : null, processedAt: deps.clock.now() });
}

/** Payload of the `wecom.event` job. */
export function eventJobPayload(raw: unknown): { eventId: number } {
  const p = (typeof raw === 'string' ? parseJsonColumn<{ eventId: number }>(raw) : raw) as { eventId?: unknown } | null;
  const eventId = Number(p?.eventId);
  if (!Number.isInteger(eventId) || eventId <= 0) throw new Error('wecom.event job without an event id');
  return { eventId };
}
