export interface Res<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
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
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body, text };
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
