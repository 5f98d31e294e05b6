// Message builders (R20.1 notices, R20.2 approving from WeCom, R3.8 reminders; issue 6 item 6; SPEC.md §5): the exact JSON bodies of message/send and
// message/update_template_card, recipient batching (≤1000 users, ≤100 parties/tags per call) and a
// pure per-member rate planner (WeCom silently drops more than 30 messages per member per minute and
// 1000 per hour per app, SPEC.md §5.1 / §8.1).

import { WecomError } from './errors.ts';

// ---------------------------------------------------------------- shapes (SPEC.md §5.1-§5.4)

export interface TextCard {
  title: string;
  description: string;
  url: string;
  btntxt?: string;
}

export interface NewsArticle {
  title: string;
  description?: string;
  url?: string;
  picurl?: string;
  appid?: string;
  pagepath?: string;
}

export interface CardAction {
  /** 1 = open url, 2 = open mini program. */
  type: 1 | 2;
  url?: string;
  appid?: string;
  pagepath?: string;
}

export interface HorizontalContent {
  type?: 1 | 2;
  keyname: string;
  value?: string;
  url?: string;
  media_id?: string;
}

export interface JumpItem {
  /** 1 = url, 2 = mini program. */
  type: 1 | 2;
  title: string;
  url?: string;
  appid?: string;
  pagepath?: string;
}

export interface CardButton {
  text: string;
  style?: number;
  key: string;
}

export interface TemplateCard {
  card_type: 'text_notice' | 'news_notice' | 'button_interaction' | 'vote_interaction' | 'multiple_interaction';
  source?: { icon_url?: string; desc?: string; desc_color?: number };
  action_menu?: { desc: string; action_list: Array<{ text: string; key: string }> };
  main_title?: { title?: string; desc?: string };
  emphasis_content?: { title?: string; desc?: string };
  quote_area?: { type?: number; url?: string; appid?: string; pagepath?: string; title?: string; quote_text?: string };
  sub_title_text?: string;
  horizontal_content_list?: HorizontalContent[];
  jump_list?: JumpItem[];
  card_action?: CardAction;
  task_id?: string;
  button_list?: CardButton[];
  [extra: string]: unknown;
}

export type MessageContent =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'textcard'; textcard: TextCard }
  | { msgtype: 'markdown'; markdown: { content: string } }
  | { msgtype: 'news'; news: { articles: NewsArticle[] } }
  | { msgtype: 'template_card'; template_card: TemplateCard };

export interface SendOptions {
  safe?: 0 | 1;
  enable_id_trans?: 0 | 1;
  enable_duplicate_check?: 0 | 1;
  /** Seconds, default 1800, max 14400. */
  duplicate_check_interval?: number;
}

/** The body of POST /cgi-bin/message/send. `agentid` may be left to the client's configured agent. */
export type MessageSendBody = MessageContent &
  SendOptions & {
    touser?: string;
    toparty?: string;
    totag?: string;
    agentid?: number;
  };

/** The body of POST /cgi-bin/message/update_template_card (SPEC.md §5.4). */
export interface UpdateTemplateCardBody {
  userids?: string[];
  partyids?: number[];
  tagids?: number[];
  atall?: 0 | 1;
  agentid?: number;
  response_code: string;
  enable_id_trans?: 0 | 1;
  button?: { replace_name: string };
  template_card?: TemplateCard;
}

export interface Recipients {
  users?: readonly string[];
  /** The whole visible range (touser=@all). */
  all?: boolean;
  parties?: ReadonlyArray<string | number>;
  tags?: ReadonlyArray<string | number>;
}

// ---------------------------------------------------------------- content builders

export function text(content: string): MessageContent {
  return { msgtype: 'text', text: { content } };
}

/** Notices and reminders (R20.1, R3.8): a card linking to the H5 page. `btntxt` defaults to 详情 on WeCom. */
export function textcard(card: TextCard): MessageContent {
  const textcard: TextCard = { title: card.title, description: card.description, url: card.url };
  if (card.btntxt) textcard.btntxt = card.btntxt;
  return { msgtype: 'textcard', textcard };
}

export function markdown(content: string): MessageContent {
  return { msgtype: 'markdown', markdown: { content } };
}

/** 1-8 articles (SPEC.md §5.1). */
export function news(articles: NewsArticle[]): MessageContent {
  if (articles.length < 1 || articles.length > 8) throw new WecomError('news takes 1 to 8 articles', 'invalid_message');
  return { msgtype: 'news', news: { articles: articles.map((a) => stripUndefined({ ...a })) } };
}

export function templateCard(card: TemplateCard): MessageContent {
  return { msgtype: 'template_card', template_card: card };
}

// ---------------------------------------------------------------- approval card (R20.2)

/** Where "open detail" leads: an H5 page, or a page of the mini program. */
export type DetailLink = { url: string } | { appid: string; pagepath: string; url?: string };

export interface ApprovalCardInput {
  /** The workflow task id (kept in the button keys). */
  taskId: string | number;
  /** WeCom task_id: unique per app, [0-9A-Za-z_-@] ≤128 bytes. Default `oa-task-<taskId>`. */
  cardTaskId?: string;
  title: string;
  /** Under the title, e.g. the applicant and the time. */
  description?: string;
  /** Shown as key/value rows (at most 6 are shown by WeCom). */
  fields?: Array<{ key: string; value: string }>;
  subtitle?: string;
  sourceDesc?: string;
  sourceIconUrl?: string;
  detail: DetailLink;
  approveText?: string;
  rejectText?: string;
  detailText?: string;
}

export type ApprovalAction = 'approve' | 'reject';

const KEY_PREFIX = 'oa';
const TASK_ID_RE = /^[0-9A-Za-z_\-@]{1,128}$/;

/** The WeCom task_id of a workflow task's card. */
export function approvalCardTaskId(taskId: string | number): string {
  return `oa-task-${taskId}`;
}

/** Button key of an approval action: `oa:approve:<taskId>`. */
export function approvalButtonKey(action: ApprovalAction, taskId: string | number): string {
  return `${KEY_PREFIX}:${action}:${taskId}`;
}

/** Reads a button key written by approvalButtonKey; undefined for any other key. */
export function parseApprovalButtonKey(key: string): { action: ApprovalAction; taskId: string } | undefined {
  const m = /^oa:(approve|reject):(.+)$/.exec(key);
  return m ? { action: m[1] as ApprovalAction, taskId: m[2]! } : undefined;
}

function cardActionOf(detail: DetailLink): CardAction {
  return 'appid' in detail ? stripUndefined({ type: 2, appid: detail.appid, pagepath: detail.pagepath, url: detail.url }) : { type: 1, url: detail.url };
}

function jumpOf(detail: DetailLink, title: string): JumpItem {
  return 'appid' in detail ? { type: 2, title, appid: detail.appid, pagepath: detail.pagepath } : { type: 1, title, url: detail.url };
}

/**
 * The button_interaction card sent for every approval task (R20.2, issue 6 item 6): buttons 同意 / 驳回 with keys
 * carrying the task id; "open detail" is the card action and a jump link (link-type buttons are
 * UNVERIFIED in SPEC.md §5.2, so no button is used for it).
 */
export function approvalCard(input: ApprovalCardInput): MessageContent {
  const cardTaskId = input.cardTaskId ?? approvalCardTaskId(input.taskId);
  if (!TASK_ID_RE.test(cardTaskId)) throw new WecomError(`invalid card task_id: ${cardTaskId}`, 'invalid_message');
  const card: TemplateCard = {
    card_type: 'button_interaction',
    ...(input.sourceDesc || input.sourceIconUrl ? { source: stripUndefined({ icon_url: input.sourceIconUrl, desc: input.sourceDesc }) } : {}),
    main_title: stripUndefined({ title: input.title, desc: input.description }),
    ...(input.subtitle ? { sub_title_text: input.subtitle } : {}),
    ...(input.fields?.length ? { horizontal_content_list: input.fields.slice(0, 6).map((f) => ({ keyname: f.key, value: f.value })) } : {}),
    jump_list: [jumpOf(input.detail, input.detailText ?? '查看详情')],
    card_action: cardActionOf(input.detail),
    task_id: cardTaskId,
    button_list: [
      { text: input.approveText ?? '同意', style: 1, key: approvalButtonKey('approve', input.taskId) },
      { text: input.rejectText ?? '驳回', style: 2, key: approvalButtonKey('reject', input.taskId) },
    ],
  };
  return { msgtype: 'template_card', template_card: card };
}

export type ApprovalOutcome =
  /** The clicking person's action took effect. */
  | { kind: 'approved' | 'rejected'; by: string }
  /** The task was already handled (elsewhere, or by someone else): show the real state. */
  | { kind: 'already_handled'; by?: string; state: string }
  /** The task is gone (withdrawn, instance ended) or the person may no longer act. */
  | { kind: 'unavailable'; reason: string };

/** The text replacing the buttons after a click (≤ a short phrase; Chinese for users). */
export function approvalResultText(outcome: ApprovalOutcome): string {
  switch (outcome.kind) {
    case 'approved':
      return `${outcome.by} 已同意`;
    case 'rejected':
      return `${outcome.by} 已驳回`;
    case 'already_handled':
      return outcome.by ? `已由${outcome.by}处理（${outcome.state}）` : `已处理（${outcome.state}）`;
    case 'unavailable':
      return outcome.reason;
  }
}

export interface ApprovalUpdateInput {
  /** From the send response or from the template_card_event (single use, 72 h). */
  responseCode: string;
  outcome: ApprovalOutcome;
  /** Default: all recipients of the card (atall=1). */
  userids?: string[];
  agentId?: number;
  /**
   * 'button' (default): buttons become a disabled label (button.replace_name).
   * 'card': the whole card is replaced by a text_notice showing the result and still opening the detail.
   */
  mode?: 'button' | 'card';
  /** Needed for mode 'card': the card as it was sent. */
  card?: ApprovalCardInput;
}

/** The update_template_card body showing an approval's result (R20.2; also when handled elsewhere). */
export function approvalCardUpdate(input: ApprovalUpdateInput): UpdateTemplateCardBody {
  const resultText = approvalResultText(input.outcome);
  const body: UpdateTemplateCardBody = {
    ...(input.userids?.length ? { userids: input.userids.slice(0, 1000) } : { atall: 1 as const }),
    ...(input.agentId !== undefined ? { agentid: input.agentId } : {}),
    response_code: input.responseCode,
  };
  if ((input.mode ?? 'button') === 'button') {
    body.button = { replace_name: resultText };
    return body;
  }
  if (!input.card) throw new WecomError('mode "card" needs the original card', 'invalid_message');
  const c = input.card;
  body.template_card = {
    card_type: 'text_notice',
    ...(c.sourceDesc || c.sourceIconUrl ? { source: stripUndefined({ icon_url: c.sourceIconUrl, desc: c.sourceDesc }) } : {}),
    main_title: stripUndefined({ title: c.title, desc: c.description }),
    emphasis_content: { title: resultText },
    ...(c.fields?.length ? { horizontal_content_list: c.fields.slice(0, 6).map((f) => ({ keyname: f.key, value: f.value })) } : {}),
    jump_list: [jumpOf(c.detail, c.detailText ?? '查看详情')],
    card_action: cardActionOf(c.detail),
    task_id: c.cardTaskId ?? approvalCardTaskId(c.taskId),
  };
  return body;
}

// ---------------------------------------------------------------- recipients and batching

export const MAX_USERS_PER_SEND = 1000;
export const MAX_PARTIES_PER_SEND = 100;
export const MAX_TAGS_PER_SEND = 100;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Userids without duplicates (WeCom userids are case-insensitive, SPEC.md §0), in first-seen order. */
export function uniqueUserIds(userids: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const id of userids) {
    const trimmed = id.trim();
    const k = trimmed.toLowerCase();
    if (!trimmed || seen.has(k)) continue;
    seen.add(k);
    out.push(trimmed);
  }
  return out;
}

/** Recipients split into batches of at most 1000 users (issue 6 item 6), deduplicated. */
export function batchUserIds(userids: readonly string[], size = MAX_USERS_PER_SEND): string[][] {
  return chunk(uniqueUserIds(userids), Math.min(size, MAX_USERS_PER_SEND));
}

/**
 * message/send bodies for one content to any number of recipients: users in batches of ≤1000, parties
 * and tags in batches of ≤100 (each batch a separate call). touser=@all sends one call.
 */
export function buildSendBodies(content: MessageContent, to: Recipients, opts: SendOptions & { agentId?: number } = {}): MessageSendBody[] {
  const { agentId, ...sendOpts } = opts;
  const base = { ...(agentId !== undefined ? { agentid: agentId } : {}), ...content, ...sendOpts } as MessageSendBody;
  if (to.all) return [{ ...base, touser: '@all' }];
  const users = batchUserIds(to.users ?? []);
  const parties = chunk([...new Set((to.parties ?? []).map(String))], MAX_PARTIES_PER_SEND);
  const tags = chunk([...new Set((to.tags ?? []).map(String))], MAX_TAGS_PER_SEND);
  const n = Math.max(users.length, parties.length, tags.length);
  if (n === 0) throw new WecomError('a message needs at least one recipient', 'no_recipients');
  const bodies: MessageSendBody[] = [];
  for (let i = 0; i < n; i++) {
    const body: MessageSendBody = { ...base };
    if (users[i]) body.touser = users[i]!.join('|');
    if (parties[i]) body.toparty = parties[i]!.join('|');
    if (tags[i]) body.totag = tags[i]!.join('|');
    bodies.push(body);
  }
  return bodies;
}

// ---------------------------------------------------------------- per-member rate planner

export interface MemberRateLimits {
  /** Default 30 (WeCom: ≤30 per member per minute per app, excess silently dropped). */
  perMinute: number;
  /** Default 1000. */
  perHour: number;
}

export const DEFAULT_MEMBER_LIMITS: MemberRateLimits = { perMinute: 30, perHour: 1000 };

/** Send times (ms) per lower-cased userid. */
export type MemberSendHistory = ReadonlyMap<string, readonly number[]>;

export interface RatePlan {
  /** Userids that may receive a message now. */
  sendNow: string[];
  /** Userids that must wait, with the earliest time (ms) their message will not be dropped. */
  deferred: Array<{ userid: string; notBefore: number }>;
}

/**
 * Pure planner for one message to `userids` at `now`: who can receive it now without exceeding the
 * per-member limits, and when the others can. The dispatcher sends to `sendNow`, records it with
 * recordSends, and reschedules the rest.
 */
export function planMemberSends(userids: readonly string[], history: MemberSendHistory, now: number, limits: MemberRateLimits = DEFAULT_MEMBER_LIMITS): RatePlan {
  const plan: RatePlan = { sendNow: [], deferred: [] };
  for (const userid of uniqueUserIds(userids)) {
    const times = history.get(userid.toLowerCase()) ?? [];
    const notBefore = nextFreeSlot(times, now, limits);
    if (notBefore <= now) plan.sendNow.push(userid);
    else plan.deferred.push({ userid, notBefore });
  }
  return plan;
}

function nextFreeSlot(times: readonly number[], now: number, limits: MemberRateLimits): number {
  let at = now;
  const inMinute = times.filter((t) => t > now - 60_000).sort((a, b) => a - b);
  if (inMinute.length >= limits.perMinute) at = Math.max(at, inMinute[inMinute.length - limits.perMinute]! + 60_000);
  const inHour = times.filter((t) => t > now - 3_600_000).sort((a, b) => a - b);
  if (inHour.length >= limits.perHour) at = Math.max(at, inHour[inHour.length - limits.perHour]! + 3_600_000);
  return at;
}

/** A new history with the sends of `userids` at `now` added and entries older than one hour pruned. */
export function recordSends(history: MemberSendHistory, userids: readonly string[], now: number): Map<string, number[]> {
  const next = new Map<string, number[]>();
  for (const [k, times] of history) {
    const kept = times.filter((t) => t > now - 3_600_000);
    if (kept.length) next.set(k, kept);
  }
  for (const userid of uniqueUserIds(userids)) {
    const k = userid.toLowerCase();
    next.set(k, [...(next.get(k) ?? []), now]);
  }
  return next;
}

function stripUndefined<T extends object>(obj: T): T {
  for (const k of Object.keys(obj) as Array<keyof T>) if (obj[k] === undefined) delete obj[k];
  return obj;
}
