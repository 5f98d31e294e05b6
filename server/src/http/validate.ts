import { z } from 'zod';
import { badRequest, type FieldError } from './errors.ts';

// Chinese messages from zod's own locale (ARCHITECTURE principle 8).
z.config(z.locales.zhCN());

/** `items[3].amount` style path for a field error. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (out ? '.' : '') + String(seg);
  }
  return out;
}

export function zodFieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const base = prefix ? [prefix, ...issue.path] : issue.path;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ path: fieldPath([...base, key]), message: '不允许的字段' });
    } else {
      errors.push({ path: fieldPath(base), message: issue.message });
    }
  }
  return errors;
}

/** Parse `value` with `schema`, or throw a 400 that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = zodFieldErrors(r.error, where === 'body' ? undefined : where);
  const first = errors[0];
  const what = where === 'body' ? '请求内容' : where === 'query' ? '查询参数' : '路径参数';
  throw badRequest(`${what}校验失败${first ? `：${first.path || '(根)'} ${first.message}` : ''}`, errors, 'VALIDATION_FAILED');
}
