import fs from 'node:fs';
import path from 'node:path';
import type { Context, Next } from 'koa';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export interface Mount {
  /** URL prefix ending in `/` */
  prefix: string;
  /** built client folder; ignored while it has no index.html */
  root: string;
}

/**
 * Serve built single-page clients. Files are resolved inside their root only; a path that is not a
 * file falls back to index.html (history-mode routes). `/api` never falls back.
 */
export function serveClients(mounts: Mount[], fallbackHtml: string) {
  const sorted = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  // Mounted last: it sees only requests that no route answered.
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.body !== undefined || ctx.status !== 404) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/api' || ctx.path.startsWith('/api/') || ctx.path.startsWith('/wecom/')) return next();
    const m = sorted.find((x) => ctx.path === x.prefix.slice(0, -1) || ctx.path.startsWith(x.prefix));
    if (!m) return next();
    if (ctx.path === m.prefix.slice(0, -1)) {
      ctx.redirect(m.prefix);
      return;
    }
    const index = path.join(m.root, 'index.html');
    if (!fs.existsSync(index)) {
      if (m.prefix === '/') {
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = fallbackHtml;
      }
      return;
    }
    const rel = ctx.path.slice(m.prefix.length);
    const file = path.resolve(m.root, rel);
    const inside = file === m.root || file.startsWith(m.root + path.sep);
    let target = index;
    if (inside && rel && fs.existsSync(file) && fs.statSync(file).isFile()) target = file;
    else if (path.extname(rel) && !rel.endsWith('.html')) return; // a missing asset is a 404, not the app shell
    const ext = path.extname(target);
    ctx.type = TYPES[ext] ?? 'application/octet-stream';
    // Only the bundler's content-hashed output under assets/ is immutable; the shell is always revalidated.
    const hashed = target.startsWith(path.join(m.root, 'assets') + path.sep) && /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(target);
    ctx.set('Cache-Control', target === index ? 'no-cache' : hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    ctx.status = 200;
    ctx.body = fs.createReadStream(target);
  };
}
