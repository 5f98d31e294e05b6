/** SQLite's `2026-11-25 18:25:41.960 +00:00` as ISO 8601 (only Chromium parses the original). */
const SQLITE_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ?(Z|[+-]\d{2}:\d{2})?$/;

/** Local date-time as `YYYY-MM-DD HH:mm:ss`; the server sends ISO strings or SQLite's text form. */
export function formatTime(value: string | Date | null | undefined): string {
  if (!value) return '';
  const d = value instanceof Date ? value : new Date(value.replace(SQLITE_TIME, (_m, day: string, time: string, zone?: string) => `${day}T${time}${zone ?? 'Z'}`));
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Short one-line text for an audit `detail` object. */
export function formatDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail === 'string') return detail;
  try {
    return JSON.stringify(detail);
  } catch {
    return String(detail);
  }
}
