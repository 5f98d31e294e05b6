/** Principle 7: stored in UTC, shown in Beijing time. */
const fmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** `2026/11/25 10:00:00` in Asia/Shanghai. */
export function formatBeijing(d: Date): string {
  return fmt.format(d);
}
