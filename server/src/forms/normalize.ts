import sanitizeHtml from 'sanitize-html';
import { Dec, dayNumber } from '../expr/index.ts';
import { FORM_LIMITS } from './schema.ts';

/**
 * Input normalisation (issue 5 "bad input"; R16.6): full-width digits and punctuation, dates in
 * three formats, money in yuan to integer fen, rich text through an allowlist. Each function
 * returns the normalised value or throws `InputError` with a Chinese message (no field name: the
 * caller adds it).
 */

export class InputError extends Error {
  constructor(
    message: string,
    readonly code: string = 'INVALID',
  ) {
    super(message);
  }
}

/** Full-width ASCII (Ｕ+FF01..FF5E) to half-width, ideographic space to space (１２３ → 123). */
export function toHalfWidth(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xff01 && c <= 0xff5e) out += String.fromCodePoint(c - 0xfee0);
    else if (c === 0x3000) out += ' ';
    else out += ch;
  }
  return out;
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const GROUPED_RE = /^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/;

/** A decimal number from a number or a text such as `１,２３４.５`, ` -12 `, `1,000`. */
export function parseDecimal(v: unknown): Dec {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError('请输入有效的数字');
    return new Dec(v);
  }
  if (typeof v !== 'string') throw new InputError('请输入数字');
  let s = toHalfWidth(v).trim().replace(/\s+/g, '');
  if (s.length > 40) throw new InputError('数字过长');
  if (GROUPED_RE.test(s)) s = s.replace(/,/g, '');
  if (!NUMBER_RE.test(s)) throw new InputError('请输入有效的数字');
  return new Dec(s);
}

const MAX_NUMBER = new Dec('1e15');

export function normalizeNumber(v: unknown, precision: number | undefined): number {
  const d = parseDecimal(v);
  if (d.abs().gte(MAX_NUMBER)) throw new InputError('数值超出范围', 'RANGE');
  const places = precision ?? 6;
  if (d.decimalPlaces() > places) throw new InputError(places === 0 ? '请输入整数' : `最多 ${places} 位小数`, 'PRECISION');
  return d.toNumber();
}

/** Money: a number is integer fen (分) as stored; a text is yuan (元), e.g. `¥1,234.50`, `１２.５元`. */
export function normalizeMoney(v: unknown): number {
  let fen: Dec;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new InputError('金额（分）必须是整数；以元为单位请用文本，如 "12.50"');
    fen = new Dec(v);
  } else if (typeof v === 'string') {
    const s = toHalfWidth(v)
      .trim()
      .replace(/^[¥￥]|^RMB|^CNY/i, '')
      .replace(/元$/, '')
      .trim();
    const yuan = parseDecimal(s);
    if (yuan.decimalPlaces() > 2) throw new InputError('金额最多精确到分（两位小数）', 'PRECISION');
    fen = yuan.times(100);
  } else throw new InputError('请输入金额');
  if (fen.abs().gte(MAX_NUMBER)) throw new InputError('金额超出范围', 'RANGE');
  return fen.toNumber();
}

/** Fen → yuan text with two decimals (display, Excel). */
export function fenToYuan(fen: number): string {
  return new Dec(fen).div(100).toFixed(2);
}

const DATE_FORMATS = [/^(\d{4})-(\d{1,2})-(\d{1,2})$/, /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/, /^(\d{4})年(\d{1,2})月(\d{1,2})日?$/];

/** 2026-11-25, 2026/11/25, 2026年11月25日 (full-width digits too) → `2026-11-25`. */
export function normalizeDate(v: unknown): string {
  if (typeof v !== 'string') throw new InputError('请输入日期');
  const s = toHalfWidth(v).trim();
  for (const re of DATE_FORMATS) {
    const m = re.exec(s);
    if (m) {
      const iso = `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`;
      try {
        dayNumber(iso);
      } catch {
        throw new InputError(`日期不存在：${s}`);
      }
      return iso;
    }
  }
  throw new InputError('日期格式应为 2026-11-25、2026/11/25 或 2026年11月25日');
}

/**
 * Date-time: ISO 8601 with a zone, or a date in one of the three formats followed by `HH:mm[:ss]`
 * (read as Beijing time) → ISO 8601 UTC.
 */
export function normalizeDateTime(v: unknown): string {
  if (typeof v !== 'string') throw new InputError('请输入日期时间');
  const s = toHalfWidth(v).trim();
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s)) {
    const d = new Date(s);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  const m = /^(.+?)[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m) {
    const date = normalizeDate(m[1]);
    const h = Number(m[2]);
    const min = Number(m[3]);
    const sec = Number(m[4] ?? 0);
    if (h > 23 || min > 59 || sec > 59) throw new InputError('时间不存在');
    return new Date(`${date}T${String(h).padStart(2, '0')}:${m[3]}:${String(sec).padStart(2, '0')}+08:00`).toISOString();
  }
  throw new InputError('日期时间格式应为 2026-11-25 14:30');
}

/** A positive integer id (user, department, file); numeric texts accepted. */
export function normalizeId(v: unknown): number {
  const n = typeof v === 'string' && /^\s*[0-9０-９]+\s*$/.test(v) ? Number(toHalfWidth(v).trim()) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new InputError('编号必须是正整数');
  return n;
}

/** Plain text: trimmed, control characters removed (tabs and new lines kept in long text). */
export function normalizeText(v: unknown, multiline: boolean): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else throw new InputError('请输入文本');
  if (s.length > FORM_LIMITS.maxTextLength * 2) throw new InputError(`内容过长（不超过 ${FORM_LIMITS.maxTextLength} 字）`, 'LENGTH');
  // eslint-disable-next-line no-control-regex
  s = multiline ? s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '') : s.replace(/[\u0000-\u001f\u007f]/g, '');
  return s.trim();
}

export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Rich text (issue 5 "scripts inside rich text (sanitised on the server with an allowlist)").

const SAFE_URL = /^(https?:|mailto:|\/(?!\/)|#)/i;
const COLOR = [/^#[0-9a-f]{3,8}$/i, /^rgba?\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*(,\s*(0|1|0?\.\d+)\s*)?\)$/i, /^[a-z]{3,20}$/i];

const RICH_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'p', 'br', 'div', 'span', 'b', 'strong', 'i', 'em', 'u', 's', 'strike', 'sub', 'sup', 'font',
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'hr',
    'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption', 'colgroup', 'col',
    'a', 'img',
  ],
  allowedAttributes: {
    a: ['href', 'title'],
    img: ['src', 'alt', 'width', 'height'],
    td: ['colspan', 'rowspan'],
    th: ['colspan', 'rowspan'],
    col: ['span'],
    '*': ['style'],
  },
  allowedStyles: {
    '*': {
      color: COLOR,
      'background-color': COLOR,
      'text-align': [/^(left|right|center|justify)$/],
      'font-weight': [/^(bold|normal|[1-9]00)$/],
      'font-style': [/^(italic|normal)$/],
      'text-decoration': [/^(underline|line-through|none)$/],
    },
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: [] }, // images only from this system (relative URLs), never data: or remote
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'template', 'object', 'embed'],
  transformTags: {
    a: (tagName, attribs) => {
      const href = attribs.href ?? '';
      const out: Record<string, string> = { rel: 'noopener noreferrer', target: '_blank' };
      if (SAFE_URL.test(href.trim())) out.href = href.trim();
      if (attribs.title) out.title = attribs.title;
      return { tagName, attribs: out };
    },
    font: (_tagName, attribs) => {
      const out: Record<string, string> = {};
      if (attribs.color) out.style = `color:${attribs.color}`;
      return { tagName: 'span', attribs: out };
    },
  },
  // Images only from this system's file store (no tracking pixels, no data: URLs).
  exclusiveFilter: (frame) => frame.tag === 'img' && !/^\/api\/v1\/files\/[\w.-]+$/.test(frame.attribs.src ?? ''),
};
RICH_OPTIONS.allowedAttributes = { ...RICH_OPTIONS.allowedAttributes, a: ['href', 'title', 'rel', 'target'] };

/** Sanitised HTML; refuses input over `maxLength` characters (before and after cleaning). */
export function sanitizeRichText(v: unknown, maxLength: number = FORM_LIMITS.maxRichTextLength): string {
  if (typeof v !== 'string') throw new InputError('富文本内容必须是文本');
  const limit = Math.min(maxLength, FORM_LIMITS.maxRichTextLength);
  // Pasted Word HTML carries much markup that cleaning removes: allow up to 4× before cleaning.
  if (v.length > limit * 4) throw new InputError(`内容过长（不超过 ${limit} 个字符）`, 'LENGTH');
  const clean = sanitizeHtml(v, RICH_OPTIONS).trim();
  if (clean.length > limit) throw new InputError(`内容过长（不超过 ${limit} 个字符）`, 'LENGTH');
  return clean;
}
