import net from 'node:net';

/** Whether something accepts TCP connections at the URL's host and port (default 3306). */
export async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 3306), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One entry of a result file's `metrics` (../shared/BENCHMARKS.md). */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  target?: number;
  better: 'higher' | 'lower';
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
