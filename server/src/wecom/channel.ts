import crypto from 'node:crypto';
import { Op, UniqueConstraintError, type User, type WecomMessage } from '@oa/db';
import { approvalCard, planMemberSends, textcard, WecomApiError, WecomError, type MessageContent, type MessageSendBody } from '@oa/wecom';
import { PermanentDeliveryError, type Channel, type Delivery } from '../notify/channels.ts';
import type { AppDeps } from '../deps.ts';
import { h5Url, type WecomModule } from './module.ts';

/**
 * The WeCom channel (R20.1 notices, R20.2 approving from WeCom, R3.8 reminders; issue 6 item 6):
 * a task notice goes out as a button_interaction approval card (同意 / 驳回 / 查看详情), any other
 * notice as a textcard linking to the H5 page. Idempotent on the delivery's key (wecom_message row
 * claimed before message/send); WeCom's per-member limit (30 per minute, 1000 per hour, excess
 * silently dropped) is respected by deferring: the delivery fails with a retryable error and the
 * dispatcher tries again after its backoff.
 */

export interface WecomPayload {
  title: string;
  body?: string;
  link?: string;
  kind?: 'task' | 'notice';
  taskId?: number;
}

/** errcodes after which retrying the same delivery cannot help (SPEC.md §8.2). */
const PERMANENT_ERRCODES = new Set([40003, 40031, 40035, 40056, 40058, 44004, 48002, 60011, 60111, 81013, 82001, 301002]);

/** Not delivered yet because of WeCom's per-member rate; retried by the dispatcher. */
export class WecomDeferredError extends Error {
  constructor(readonly notBefore: Date) {
    super(`企业微信每人每分钟消息数已达上限，延后至 ${notBefore.toISOString()} 之后发送`);
  }
}

/** Cut a string to at most `max` UTF-8 bytes without splitting a character. */
export function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch + '…') > max) break;
    out += ch;
  }
  return out + '…';
}

/** The person a WeCom userid belongs to (exact, else case-insensitive: WeCom userids are, SPEC.md §0). */
export async function findPersonByWecomId(deps: AppDeps, userid: string): Promise<User | null> {
  const { User } = deps.db.models;
  const exact = await User.findOne({ where: { wecomUserId: userid } });
  if (exact) return exact;
  // WeCom userids are case-insensitive (SPEC.md §0)
  const sq = deps.db.sequelize;
  return User.findOne({ where: sq.where(sq.fn('lower', sq.col('wecom_user_id')), userid.toLowerCase()) });
}

export class WecomChannel implements Channel {
  readonly name = 'wecom';

  constructor(
    private readonly deps: AppDeps,
    private readonly mod: WecomModule,
  ) {}

  private content(d: Delivery, p: WecomPayload): { content: MessageContent; cardTaskId: string | null } {
    const url = h5Url(this.deps, p.link);
    const title = clipBytes(p.title, 120);
    const body = clipBytes(p.body ?? '', 500);
    if (p.kind === 'task' && p.taskId) {
      // a task can be announced more than once (reminders, delegation returns): task_id is unique per card
      const cardTaskId = `oa-task-${p.taskId}-${d.id}`;
      const content = approvalCard({
        taskId: p.taskId,
        cardTaskId,
        title,
        ...(body ? { description: clipBytes(body, 240) } : {}),
        sourceDesc: '协同办公',
        detail: { url: h5Url(this.deps, `/workflow/tasks/${p.taskId}`) },
      });
      return { content, cardTaskId };
    }
    return { content: textcard({ title, description: body || title, url, btntxt: '详情' }), cardTaskId: null };
  }

  async send(d: Delivery): Promise<void> {
    const { WecomMessage, User } = this.deps.db.models;
    const p = d.payload as WecomPayload;
    if (!p || typeof p.title !== 'string' || !p.title) throw new PermanentDeliveryError('wecom payload has no title');
    const existing = await WecomMessage.findOne({ where: { idempotencyKey: d.idempotencyKey } });
    if (existing?.status === 'sent') return; // delivered before; the dispatcher's ack was lost
    const userId = Number(d.recipient);
    const user = Number.isInteger(userId) && userId > 0 ? await User.findByPk(userId, { attributes: ['id', 'wecomUserId', 'status'], raw: true }) : null;
    if (!user) throw new PermanentDeliveryError(`企业微信消息的接收人不存在（${d.recipient}）`);
    if (user.status !== 'active') throw new PermanentDeliveryError(`接收人已停用（用户 ${userId}），不再发送企业微信消息`);
    if (!user.wecomUserId) throw new PermanentDeliveryError(`接收人未绑定企业微信账号（用户 ${userId} 没有 wecomUserId），无法发送企业微信消息`);
    const wecomUserId = user.wecomUserId;
    const now = this.deps.clock.now();

    // WeCom drops (silently) more than 30 messages per member per minute / 1000 per hour
    const since = new Date(now.getTime() - 3_600_000);
    const recent = await WecomMessage.findAll({ where: { wecomUserId, status: 'sent', sentAt: { [Op.gt]: since } }, attributes: ['sentAt'], raw: true });
    const plan = planMemberSends([wecomUserId], new Map([[wecomUserId.toLowerCase(), recent.map((r) => new Date(r.sentAt!).getTime())]]), now.getTime());
    if (plan.deferred.length) throw new WecomDeferredError(new Date(plan.deferred[0]!.notBefore));

    const { content, cardTaskId } = this.content(d, p);
    let row: WecomMessage | null = existing;
    const resend = !!existing; // a crash between message/send and its record: WeCom's duplicate check keeps it single
    if (!row) {
      try {
        row = await WecomMessage.create({
          idempotencyKey: d.idempotencyKey,
          outboxId: d.id,
          userId,
          wecomUserId,
          msgtype: content.msgtype,
          status: 'sending',
          taskId: cardTaskId ? (p.taskId ?? null) : null,
          cardTaskId,
          msgid: null,
          responseCode: null,
          cardState: null,
          resultText: null,
          createdAt: now,
          sentAt: null,
          cardUpdatedAt: null,
        });
      } catch (err) {
        if (!(err instanceof UniqueConstraintError)) throw err;
        throw new Error('另一个进程正在发送这条企业微信消息，稍后重试'); // retried: then it reads `sent`
      }
    }
    const body: MessageSendBody = { ...content, touser: wecomUserId, agentid: this.mod.settings.agentId, enable_duplicate_check: 1, duplicate_check_interval: 1800 };
    let msgid: string | null = null;
    let responseCode: string | null = null;
    try {
      const res = await this.mod.client.sendMessage(body);
      if (res.invalidUsers.some((u) => u.toLowerCase() === wecomUserId.toLowerCase())) {
        await row.destroy();
        throw new PermanentDeliveryError(`企业微信账号 ${wecomUserId} 不在应用可见范围内或不存在（invaliduser）`);
      }
      msgid = res.msgid || null;
      responseCode = res.responseCode ?? null;
    } catch (err) {
      if (err instanceof PermanentDeliveryError) throw err;
      if (err instanceof WecomApiError && PERMANENT_ERRCODES.has(err.errcode)) {
        // the same card sent before the crash: its task_id is taken, so it was delivered
        if (resend && cardTaskId && err.errcode === 40058) {
          await row.update({ status: 'sent', sentAt: now, cardState: null, resultText: '重发时企业微信报告任务卡片已存在' });
          return;
        }
        await row.destroy();
        throw new PermanentDeliveryError(`企业微信拒绝了消息（errcode ${err.errcode}）：${err.errmsg.slice(0, 200)}`);
      }
      if (err instanceof WecomError && err.code === 'config_error') {
        await row.destroy();
        throw new PermanentDeliveryError(err.message);
      }
      throw err; // token, busy, rate limit, transport: retried by the dispatcher
    }
    await row.update({ status: 'sent', msgid, responseCode, sentAt: now, cardState: cardTaskId ? 'open' : null });
  }
}

/** A stable client key for acting once per callback event (wf_action_key holds 64 characters). */
export function clientKeyOf(dedupeKey: string): string {
  return `wecom:${crypto.createHash('sha256').update(dedupeKey).digest('hex').slice(0, 40)}`;
}
