/**
 * A tiny arithmetic evaluator for the form designer's preview (R16.8): numbers, field names
 * (`qty`, `items.amount` inside SUM), + - * / ( ), SUM(), ROUND(x, n), MIN, MAX, ABS. No `eval`, no
 * property access beyond plain data. Anything else returns null and the preview says the server
 * computes it on submit (the server's evaluator is the authority).
 */

type Tok = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string };

function tokenize(src: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9.]/.test(c)) {
      let j = i;
      while (j < src.length && /[0-9.]/.test(src[j]!)) j++;
      out.push({ t: 'num', v: Number(src.slice(i, j)) });
      i = j;
    } else if (/[A-Za-z_\u4e00-\u9fff$]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_.\u4e00-\u9fff$]/.test(src[j]!)) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
    } else if ('+-*/(),'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else return null;
  }
  return out;
}

export function evaluate(src: string, scope: Record<string, unknown>): number | null {
  const parsed = tokenize(src);
  if (!parsed) return null;
  const toks: Tok[] = parsed;
  let p = 0;
  const peek = () => toks[p];
  const num = (v: unknown): number => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : 0;
    return Number.isFinite(n) ? n : 0;
  };
  const lookup = (path: string): unknown => {
    let cur: unknown = scope;
    for (const part of path.split('.')) {
      if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
  };
  function args(): (number | string)[] {
    const a: (number | string)[] = [];
    if (peek()?.v === ')') return (p++, a);
    for (;;) {
      const t = peek();
      // SUM(items.amount): a column of a sub-table, kept as a path
      if (t?.t === 'id' && toks[p + 1] && (toks[p + 1]!.v === ')' || toks[p + 1]!.v === ',') && t.v.includes('.')) {
        a.push(t.v);
        p++;
      } else a.push(expr());
      const s = toks[p++];
      if (s?.v === ')') return a;
      if (s?.v !== ',') throw new Error('syntax');
    }
  }
  function call(name: string): number {
    const a = args();
    const nums = a.flatMap((x) => {
      if (typeof x === 'number') return [x];
      const [table, col] = [x.slice(0, x.lastIndexOf('.')), x.slice(x.lastIndexOf('.') + 1)];
      const rows = lookup(table);
      return Array.isArray(rows) ? rows.map((r) => num((r as Record<string, unknown>)?.[col])) : [num(lookup(x))];
    });
    switch (name.toUpperCase()) {
      case 'SUM':
        return nums.reduce((s, x) => s + x, 0);
      case 'ROUND': {
        const f = 10 ** (nums[1] ?? 0);
        return Math.round((nums[0] ?? 0) * f) / f;
      }
      case 'MIN':
        return Math.min(...nums);
      case 'MAX':
        return Math.max(...nums);
      case 'ABS':
        return Math.abs(nums[0] ?? 0);
      default:
        throw new Error('fn');
    }
  }
  function atom(): number {
    const t = toks[p++];
    if (!t) throw new Error('eof');
    if (t.t === 'num') return t.v;
    if (t.t === 'op' && t.v === '(') {
      const v = expr();
      if (toks[p++]?.v !== ')') throw new Error('paren');
      return v;
    }
    if (t.t === 'op' && t.v === '-') return -atom();
    if (t.t === 'id') {
      if (peek()?.v === '(') {
        p++;
        return call(t.v);
      }
      return num(lookup(t.v));
    }
    throw new Error('token');
  }
  function term(): number {
    let v = atom();
    while (peek()?.v === '*' || peek()?.v === '/') {
      const op = toks[p++]!.v;
      const r = atom();
      v = op === '*' ? v * r : r === 0 ? 0 : v / r;
    }
    return v;
  }
  function expr(): number {
    let v = term();
    while (peek()?.v === '+' || peek()?.v === '-') {
      const op = toks[p++]!.v;
      const r = term();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  }
  try {
    const v = expr();
    return p === toks.length && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}
