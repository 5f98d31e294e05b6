import http from 'node:http';

export interface Res<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
  /** the body as received (downloads) */
  bytes: Buffer;
}

/** A tiny browser stand-in: keeps cookies, sends the CSRF token on unsafe methods. */
export class HttpClient {
  cookies = new Map<string, string>();
  csrfToken: string | null = null;
  bearer: string | null = null;
  extraHeaders: Record<string, string> = {};

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private absorb(res: Response): void {
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(sc)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async raw(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string>; csrf?: boolean } = {}): Promise<Res> {
    const headers: Record<string, string> = { ...this.extraHeaders, ...(init.headers ?? {}) };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (init.csrf !== false && this.csrfToken && !['GET', 'HEAD'].includes(method)) headers['x-csrf-token'] = this.csrfToken;
    const res = await fetch(this.base + path, { method, headers, body: init.body, redirect: 'manual' });
    this.absorb(res);
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body, text, bytes };
  }

  get<T = any>(path: string, headers?: Record<string, string>): Promise<Res<T>> {
    return this.raw('GET', path, { headers }) as Promise<Res<T>>;
  }
  send<T = any>(method: string, path: string, json?: unknown, opts: { csrf?: boolean } = {}): Promise<Res<T>> {
    return this.raw(method, path, {
      body: json === undefined ? undefined : JSON.stringify(json),
      headers: json === undefined ? {} : { 'content-type': 'application/json' },
      csrf: opts.csrf,
    }) as Promise<Res<T>>;
  }
  post<T = any>(path: string, json?: unknown, opts?: { csrf?: boolean }): Promise<Res<T>> {
    return this.send<T>('POST', path, json, opts);
  }
  put<T = any>(path: string, json?: unknown): Promise<Res<T>> {
    return this.send<T>('PUT', path, json);
  }

  /** multipart/form-data upload; fetch sets the boundary. `file: null` sends the other fields only. */
  upload<T = any>(path: string, file: { name: string; bytes: Uint8Array | string; type?: string; field?: string } | null, fields: Record<string, string> = {}): Promise<Res<T>> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (file) form.append(file.field ?? 'file', new Blob([file.bytes as BlobPart], { type: file.type ?? 'application/octet-stream' }), file.name);
    return this.raw('POST', path, { body: form }) as Promise<Res<T>>;
  }

  async login(username: string, password: string): Promise<Res<any>> {
    const r = await this.post('/api/v1/auth/login', { username, password });
    if (r.status === 200) this.csrfToken = (r.body as { csrfToken: string }).csrfToken;
    return r;
  }

  async me(): Promise<Res<any>> {
    const r = await this.get('/api/v1/me');
    if (r.status === 200) this.csrfToken = (r.body as { csrfToken: string | null }).csrfToken;
    return r;
  }
}

/**
 * One request with the path sent byte for byte (fetch would normalise `..`, `%2e` and `\\`), as a
 * scanner or an attacker would send it.
 */
export function rawRequest(base: string, method: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
