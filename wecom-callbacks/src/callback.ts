// Callback handling (R20.0, S1; issue 6 item 2; SPEC.md §2, §5.3, §7.3) as pure functions the Koa route mounts:
//
//   GET  /wecom/callback → verifyUrl(ctx.query, cfg)        → body = the returned string (as is)
//   POST /wecom/callback → parseEvent(ctx.query, raw, cfg)  → store dedupeKey + event, answer '' at once
//
// Both throw WecomCallbackError; answer its httpStatus (401 for a bad signature / foreign corp) and
// change nothing. Signature, decryption (@wecom/crypto) and the receive-id check happen before any XML
// of the message is interpreted; both the envelope and the message are parsed with parseXmlSafely.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import { CRYPTO_ERRORS, WecomCallbackError } from './errors.ts';
import { cdata, DEFAULT_MAX_XML_BYTES, parseXmlSafely, xmlList, xmlText, type XmlNode, type XmlObject } from './xml.ts';

export interface CallbackConfig {
  /** The app's callback Token (signing only). */
  token: string;
  /** The app's EncodingAESKey (43 characters). */
  encodingAesKey: string;
  /** Our corp id: the receive id every decrypted message must carry (SPEC.md §2.1). */
  corpId: string;
  /** Largest accepted body (default 64 KiB). */
  maxBodyBytes?: number;
  /** Optional replay window in seconds on the `timestamp` parameter (default off: WeCom does not require it). */
  maxAgeSeconds?: number;
  /** Clock in ms for the replay window (default Date.now). */
  now?: () => number;
}

/** Koa's ctx.query shape. */
export type CallbackQuery = Record<string, string | string[] | undefined>;

function param(query: CallbackQuery, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}

function requireParams(query: CallbackQuery, names: string[]): string[] {
  return names.map((n) => {
    const v = param(query, n);
    if (!v) throw new WecomCallbackError('missing_parameter', CRYPTO_ERRORS.ValidateSignatureError, 400, `missing query parameter ${n}`);
    return v;
  });
}

function checkSignature(cfg: CallbackConfig, signature: string, timestamp: string, nonce: string, encrypted: string): void {
  const expected = getSignature(cfg.token, timestamp, nonce, encrypted);
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(signature.toLowerCase(), 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new WecomCallbackError('bad_signature', CRYPTO_ERRORS.ValidateSignatureError, 401, 'msg_signature does not match');
  }
  if (cfg.maxAgeSeconds) {
    const now = (cfg.now ?? Date.now)() / 1000;
    const ts = Number(timestamp);
    if (!Number.isFinite(ts) || Math.abs(now - ts) > cfg.maxAgeSeconds) {
      throw new WecomCallbackError('stale_timestamp', CRYPTO_ERRORS.ValidateSignatureError, 401, 'timestamp outside the replay window');
    }
  }
}

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

function decryptChecked(cfg: CallbackConfig, encrypted: string): string {
  // echostr may arrive with '+' turned into ' ' by a query parser that treats '+' as space (SPEC.md §2.2)
  const b64 = encrypted.replace(/ /g, '+');
  if (!BASE64_RE.test(b64) || b64.length % 4 !== 0) {
    throw new WecomCallbackError('decrypt_failed', CRYPTO_ERRORS.DecodeBase64Error, 400, 'ciphertext is not base64');
  }
  let out: { message: string; id: string };
  try {
    out = decrypt(cfg.encodingAesKey, b64);
  } catch {
    throw new WecomCallbackError('decrypt_failed', CRYPTO_ERRORS.DecryptAESError, 400, 'ciphertext does not decrypt');
  }
  if (out.id !== cfg.corpId) {
    throw new WecomCallbackError('wrong_receiver', CRYPTO_ERRORS.ValidateCorpidError, 401, 'receive id is not our corp id');
  }
  return out.message;
}

/**
 * GET URL verification (SPEC.md §2.2): verifies msg_signature over echostr, decrypts it, checks the
 * receive id and returns the plaintext to answer as the body, as is (no quotes, no newline).
 */
export function verifyUrl(query: CallbackQuery, cfg: CallbackConfig): string {
  const [signature, timestamp, nonce, echostr] = requireParams(query, ['msg_signature', 'timestamp', 'nonce', 'echostr']) as [string, string, string, string];
  // A query parser may have turned '+' into ' '; the signature is over the real base64 text.
  const echo = echostr.replace(/ /g, '+');
  checkSignature(cfg, signature, timestamp, nonce, echo);
  return decryptChecked(cfg, echo);
}

// ---------------------------------------------------------------- typed events

interface EventBase {
  /** ToUserName: the corp id. */
  toUserName: string;
  /** FromUserName: the userid, or "sys" for system events. */
  fromUserName: string;
  /** CreateTime, Unix seconds. */
  createTime: number;
  agentId?: number;
  /** All top-level fields of the decrypted message. */
  raw: XmlObject;
}

export interface TemplateCardEvent extends EventBase {
  kind: 'template_card_event';
  /** The clicking person's userid. */
  userId: string;
  /** Key of the clicked button (or submit / action_menu key). */
  eventKey: string;
  /** The card's task_id as sent. */
  taskId: string;
  cardType: string;
  /** Fresh single-use code for update_template_card (72 h). */
  responseCode: string;
  selectedItems: Array<{ questionKey: string; optionIds: string[] }>;
}

export interface ContactUserFields {
  userId: string;
  /** When update_user changed the userid. */
  newUserId?: string;
  name?: string;
  department?: number[];
  mainDepartment?: number;
  isLeaderInDept?: number[];
  directLeader?: string[];
  position?: string;
  mobile?: string;
  gender?: string;
  email?: string;
  bizMail?: string;
  status?: number;
  avatar?: string;
  alias?: string;
  telephone?: string;
  address?: string;
  extAttr?: XmlNode;
}

export interface ContactUserEvent extends EventBase {
  kind: 'change_contact';
  changeType: 'create_user' | 'update_user' | 'delete_user';
  user: ContactUserFields;
}

export interface ContactPartyEvent extends EventBase {
  kind: 'change_contact';
  changeType: 'create_party' | 'update_party' | 'delete_party';
  department: { id: number; name?: string; parentId?: number; order?: number };
}

export interface ContactTagEvent extends EventBase {
  kind: 'change_contact';
  changeType: 'update_tag';
  tag: { tagId: number; addUsers: string[]; delUsers: string[]; addParties: number[]; delParties: number[] };
}

/** Other change_contact types (batch job results …): raw fields only. */
export interface ContactOtherEvent extends EventBase {
  kind: 'change_contact';
  changeType: 'other';
  rawChangeType: string;
}

export interface EnterAgentEvent extends EventBase {
  kind: 'enter_agent';
  userId: string;
  eventKey: string;
}

export interface SimpleUserEvent extends EventBase {
  kind: 'subscribe' | 'unsubscribe' | 'click' | 'view';
  userId: string;
  eventKey: string;
}

export interface MessageEvent extends EventBase {
  kind: 'message';
  msgType: string;
  userId: string;
  msgId: string;
  content?: string;
}

export interface UnknownEvent extends EventBase {
  kind: 'unknown';
  msgType: string;
  event?: string;
}

export type ContactEvent = ContactUserEvent | ContactPartyEvent | ContactTagEvent | ContactOtherEvent;
export type WecomEvent = TemplateCardEvent | ContactEvent | EnterAgentEvent | SimpleUserEvent | MessageEvent | UnknownEvent;

export interface ParsedCallback {
  event: WecomEvent;
  /**
   * Identity of this delivery across WeCom's retries: `msg:<MsgId>` for messages, otherwise
   * `evt:<sha256 of the canonical decrypted fields>`; the same for a replayed or re-encrypted retry.
   * Store it (unique) and act once.
   */
  dedupeKey: string;
  /** The decrypted message XML. */
  plaintext: string;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function numList(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(/[,|]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isFinite(n));
}

function strList(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(/[,|]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function withoutUndefined<T extends object>(obj: T): T {
  for (const k of Object.keys(obj) as Array<keyof T>) if (obj[k] === undefined) delete obj[k];
  return obj;
}

function selectedItems(msg: XmlObject): TemplateCardEvent['selectedItems'] {
  const root = msg.SelectedItems;
  if (!root || typeof root !== 'object' || Array.isArray(root)) return [];
  return xmlList(root.SelectedItem).flatMap((item) => {
    if (typeof item !== 'object' || Array.isArray(item)) return [];
    // SPEC.md §5.3: the doc samples spell OptionIds/OptionId, another sample OpitonIds/OpitonId — accept both.
    const ids = item.OptionIds ?? item.OpitonIds;
    const options = ids && typeof ids === 'object' && !Array.isArray(ids) ? xmlList(ids.OptionId ?? ids.OpitonId) : [];
    return [{ questionKey: xmlText(item, 'QuestionKey') ?? '', optionIds: options.filter((o): o is string => typeof o === 'string') }];
  });
}

/** Turns a decrypted message into a typed event. Exported for tests and for replaying stored events. */
export function toEvent(msg: XmlObject): WecomEvent {
  const t = (tag: string) => xmlText(msg, tag);
  const base: EventBase = withoutUndefined({
    toUserName: t('ToUserName') ?? '',
    fromUserName: t('FromUserName') ?? '',
    createTime: num(t('CreateTime')) ?? 0,
    agentId: num(t('AgentID')),
    raw: msg,
  });
  const msgType = t('MsgType') ?? '';
  if (msgType !== 'event') {
    return withoutUndefined({ ...base, kind: 'message' as const, msgType, userId: base.fromUserName, msgId: t('MsgId') ?? '', content: t('Content') });
  }
  const event = t('Event') ?? '';
  switch (event) {
    case 'template_card_event':
      return {
        ...base,
        kind: 'template_card_event',
        userId: base.fromUserName,
        eventKey: t('EventKey') ?? '',
        taskId: t('TaskId') ?? '',
        cardType: t('CardType') ?? '',
        responseCode: t('ResponseCode') ?? '',
        selectedItems: selectedItems(msg),
      };
    case 'enter_agent':
      return { ...base, kind: 'enter_agent', userId: base.fromUserName, eventKey: t('EventKey') ?? '' };
    case 'subscribe':
    case 'unsubscribe':
    case 'click':
    case 'view':
      return { ...base, kind: event, userId: base.fromUserName, eventKey: t('EventKey') ?? '' };
    case 'change_contact':
      return contactEvent(base, msg);
    default:
      return { ...base, kind: 'unknown', msgType, event };
  }
}

function contactEvent(base: EventBase, msg: XmlObject): ContactEvent {
  const t = (tag: string) => xmlText(msg, tag);
  const changeType = t('ChangeType') ?? '';
  switch (changeType) {
    case 'create_user':
    case 'update_user':
    case 'delete_user':
      return {
        ...base,
        kind: 'change_contact',
        changeType,
        user: withoutUndefined({
          userId: t('UserID') ?? '',
          newUserId: t('NewUserID'),
          name: t('Name'),
          department: numList(t('Department')),
          mainDepartment: num(t('MainDepartment')),
          isLeaderInDept: numList(t('IsLeaderInDept')),
          directLeader: strList(t('DirectLeader')),
          position: t('Position'),
          mobile: t('Mobile'),
          gender: t('Gender'),
          email: t('Email'),
          bizMail: t('BizMail'),
          status: num(t('Status')),
          avatar: t('Avatar'),
          alias: t('Alias'),
          telephone: t('Telephone'),
          address: t('Address'),
          extAttr: msg.ExtAttr,
        }),
      };
    case 'create_party':
    case 'update_party':
    case 'delete_party':
      return {
        ...base,
        kind: 'change_contact',
        changeType,
        department: withoutUndefined({ id: num(t('Id')) ?? 0, name: t('Name'), parentId: num(t('ParentId')), order: num(t('Order')) }),
      };
    case 'update_tag':
      return {
        ...base,
        kind: 'change_contact',
        changeType,
        tag: {
          tagId: num(t('TagId')) ?? 0,
          addUsers: strList(t('AddUserItems')) ?? [],
          delUsers: strList(t('DelUserItems')) ?? [],
          addParties: numList(t('AddPartyItems')) ?? [],
          delParties: numList(t('DelPartyItems')) ?? [],
        },
      };
    default:
      return { ...base, kind: 'change_contact', changeType: 'other', rawChangeType: changeType };
  }
}

/** Canonical text of a parsed message: keys sorted, whitespace of the XML irrelevant. */
function canonical(node: XmlNode): string {
  if (typeof node === 'string') return JSON.stringify(node);
  if (Array.isArray(node)) return `[${node.map(canonical).join(',')}]`;
  return `{${Object.keys(node)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(node[k]!)}`)
    .join(',')}}`;
}

/** The dedupe key of a decrypted message (see ParsedCallback.dedupeKey). */
export function dedupeKeyOf(msg: XmlObject): string {
  const msgId = xmlText(msg, 'MsgId');
  if (msgId && xmlText(msg, 'MsgType') !== 'event') return `msg:${msgId}`;
  return `evt:${createHash('sha256').update(canonical(msg)).digest('hex')}`;
}

function envelopeCiphertext(body: string, maxBytes: number): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    // JSON variant of the envelope (SPEC.md §2.3): keys encrypt / Encrypt.
    if (Buffer.byteLength(trimmed) > maxBytes) throw new WecomCallbackError('body_too_large', CRYPTO_ERRORS.ParseXmlError, 413, 'body too large');
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, 'malformed JSON envelope');
    }
    const obj = (json ?? {}) as Record<string, unknown>;
    const enc = obj.encrypt ?? obj.Encrypt;
    if (typeof enc !== 'string' || !enc) throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, 'envelope has no Encrypt');
    return enc;
  }
  const root = parseXmlSafely(body, maxBytes);
  const xml = root.xml;
  const enc = xml && typeof xml === 'object' && !Array.isArray(xml) ? xmlText(xml, 'Encrypt') : undefined;
  if (!enc) throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, 'envelope has no Encrypt');
  return enc;
}

/**
 * POST event delivery (SPEC.md §2.3): parses the envelope (XML, any element order, or the JSON
 * variant), verifies msg_signature over Encrypt, decrypts, checks the receive id, parses the message
 * safely and returns the typed event with its dedupe key.
 */
export function parseEvent(query: CallbackQuery, body: string | Buffer, cfg: CallbackConfig): ParsedCallback {
  const [signature, timestamp, nonce] = requireParams(query, ['msg_signature', 'timestamp', 'nonce']) as [string, string, string];
  const maxBytes = cfg.maxBodyBytes ?? DEFAULT_MAX_XML_BYTES;
  if ((typeof body === 'string' ? Buffer.byteLength(body) : body.length) > maxBytes) {
    throw new WecomCallbackError('body_too_large', CRYPTO_ERRORS.ParseXmlError, 413, `body larger than ${maxBytes} bytes`);
  }
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const encrypted = envelopeCiphertext(text, maxBytes);
  checkSignature(cfg, signature, timestamp, nonce, encrypted);
  const plaintext = decryptChecked(cfg, encrypted);
  const root = parseXmlSafely(plaintext, maxBytes);
  const msg = root.xml;
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, 'message has no <xml> root');
  return { event: toEvent(msg), dedupeKey: dedupeKeyOf(msg), plaintext };
}

// ---------------------------------------------------------------- passive replies (SPEC.md §2.5, §5.6)

function randomNonce(): string {
  return String(randomBytes(4).readUInt32BE(0));
}

/** Encrypts and signs a reply plaintext into the passive-reply XML (exact layout of SPEC.md §2.5). */
export function encryptReply(plaintext: string, cfg: CallbackConfig, opts: { timestamp?: string | number; nonce?: string } = {}): string {
  const timestamp = String(opts.timestamp ?? Math.floor((cfg.now ?? Date.now)() / 1000));
  const nonce = opts.nonce ?? randomNonce();
  const enc = encrypt(cfg.encodingAesKey, plaintext, cfg.corpId);
  const signature = getSignature(cfg.token, timestamp, nonce, enc);
  return `<xml>\n<Encrypt>${cdata(enc)}</Encrypt>\n<MsgSignature>${cdata(signature)}</MsgSignature>\n<TimeStamp>${timestamp}</TimeStamp>\n<Nonce>${cdata(nonce)}</Nonce>\n</xml>`;
}

/**
 * Passive reply to a template_card_event that turns the clicking user's buttons into a label
 * (MsgType update_button, SPEC.md §5.6). Returns the encrypted XML to send as the response body.
 */
export function updateButtonReply(event: Pick<TemplateCardEvent, 'userId' | 'toUserName'>, replaceName: string, cfg: CallbackConfig, opts: { timestamp?: string | number; nonce?: string } = {}): string {
  const now = Math.floor((cfg.now ?? Date.now)() / 1000);
  const inner =
    `<xml><ToUserName>${cdata(event.userId)}</ToUserName><FromUserName>${cdata(event.toUserName || cfg.corpId)}</FromUserName>` +
    `<CreateTime>${now}</CreateTime><MsgType>${cdata('update_button')}</MsgType><Button><ReplaceName>${cdata(replaceName)}</ReplaceName></Button></xml>`;
  return encryptReply(inner, cfg, opts);
}

/** Decrypts a passive reply produced by encryptReply (used by the fake and tests). */
export function decryptReply(replyXml: string, cfg: CallbackConfig): string {
  const root = parseXmlSafely(replyXml, cfg.maxBodyBytes ?? DEFAULT_MAX_XML_BYTES);
  const xml = root.xml as XmlObject | undefined;
  const enc = xmlText(xml, 'Encrypt');
  const sig = xmlText(xml, 'MsgSignature');
  const ts = xmlText(xml, 'TimeStamp');
  const nonce = xmlText(xml, 'Nonce');
  if (!enc || !sig || !ts || !nonce) throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, 'reply lacks Encrypt/MsgSignature/TimeStamp/Nonce');
  checkSignature({ ...cfg, maxAgeSeconds: undefined }, sig, ts, nonce, enc);
  return decryptChecked(cfg, enc);
}
