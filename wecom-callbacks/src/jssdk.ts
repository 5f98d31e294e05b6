// JS-SDK signatures for the H5 bridge (R20.0, issue 6 item 4; SPEC.md §6).
//
// Tickets are cached server-side: the corp ticket per corp, the agent ticket per (corp, agent), each
// refreshed ahead of expiry with a single flight. WeCom allows 400 ticket fetches per corp and 100 per
// app per hour (SPEC.md §8.1); the cache counts its fetches in a sliding hour and refuses with
// WecomError 'ticket_quota' before reaching those limits rather than getting the corp blocked.

import { randomBytes } from 'node:crypto';
import { getJsApiSignature } from '@wecom/crypto';
import type { Ticket, WecomClient } from './client.ts';
import { WecomError } from './errors.ts';

/** The signature of a page for ww.register's getConfigSignature / getAgentConfigSignature. */
export interface JsSdkSignature {
  timestamp: number;
  nonceStr: string;
  signature: string;
}

/** The URL to sign: the full page URL without '#' and what follows (query string kept). */
export function stripFragment(url: string): string {
  const i = url.indexOf('#');
  return i === -1 ? url : url.slice(0, i);
}

/** sha1("jsapi_ticket=T&noncestr=N&timestamp=TS&url=U"), the URL's fragment removed (SPEC.md §6.2). */
export function signJsApi(opts: { ticket: string; url: string; nonceStr: string; timestamp: number | string }): string {
  return getJsApiSignature({ ticket: opts.ticket, url: stripFragment(opts.url), nonceStr: opts.nonceStr, timestamp: opts.timestamp }).signature;
}

type TicketSource = Pick<WecomClient, 'corpId' | 'agentId' | 'getCorpJsapiTicket' | 'getAgentJsapiTicket'>;

export interface JsapiTicketCacheOptions {
  now?: () => number;
  /** Refresh this long before expiry (default 5 min, at most half the lifetime). */
  refreshAheadMs?: number;
  /** Own fetch budget per sliding hour; defaults stay under WeCom's 400 (corp) / 100 (app). */
  corpFetchesPerHour?: number;
  agentFetchesPerHour?: number;
  /** Nonce generator (tests). */
  nonce?: () => string;
}

interface Entry {
  ticket: string;
  expiresAt: number;
  refreshAt: number;
}

export class JsapiTicketCache {
  private readonly entries = new Map<'corp' | 'agent', Entry>();
  private readonly inflight = new Map<'corp' | 'agent', Promise<Entry>>();
  private readonly fetches: Record<'corp' | 'agent', number[]> = { corp: [], agent: [] };
  private readonly now: () => number;
  private readonly refreshAheadMs: number;
  private readonly limits: Record<'corp' | 'agent', number>;
  private readonly nonce: () => string;

  constructor(
    private readonly client: TicketSource,
    opts: JsapiTicketCacheOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.refreshAheadMs = opts.refreshAheadMs ?? 5 * 60_000;
    this.limits = { corp: opts.corpFetchesPerHour ?? 300, agent: opts.agentFetchesPerHour ?? 80 };
    this.nonce = opts.nonce ?? (() => randomBytes(12).toString('base64url'));
  }

  /** Ticket fetches in the last hour (for metrics). */
  fetchesInLastHour(kind: 'corp' | 'agent'): number {
    const since = this.now() - 3_600_000;
    return this.fetches[kind].filter((t) => t > since).length;
  }

  /** The cached ticket, fetched once for concurrent callers when missing or due. */
  async ticket(kind: 'corp' | 'agent'): Promise<string> {
    const cached = this.entries.get(kind);
    if (cached && this.now() < cached.refreshAt) return cached.ticket;
    let pending = this.inflight.get(kind);
    if (!pending) {
      pending = this.fetch(kind, cached).finally(() => this.inflight.delete(kind));
      this.inflight.set(kind, pending);
    }
    return (await pending).ticket;
  }

  /** Drop a ticket (e.g. the page reported 40093). The next request fetches a new one. */
  invalidate(kind: 'corp' | 'agent'): void {
    this.entries.delete(kind);
  }

  /** Sign a page URL with the corp ticket (wx.config / getConfigSignature). */
  async signCorp(url: string): Promise<JsSdkSignature> {
    return this.sign('corp', url);
  }

  /** Sign a page URL with the agent ticket (wx.agentConfig / getAgentConfigSignature). */
  async signAgent(url: string): Promise<JsSdkSignature> {
    return this.sign('agent', url);
  }

  /** Both signatures plus what ww.register needs, for one endpoint answering the H5 bridge. */
  async signPage(url: string): Promise<{ corpId: string; agentId?: number; url: string; config: JsSdkSignature; agentConfig: JsSdkSignature }> {
    const [config, agentConfig] = await Promise.all([this.signCorp(url), this.signAgent(url)]);
    return { corpId: this.client.corpId, ...(this.client.agentId !== undefined ? { agentId: this.client.agentId } : {}), url: stripFragment(url), config, agentConfig };
  }

  private async sign(kind: 'corp' | 'agent', url: string): Promise<JsSdkSignature> {
    const ticket = await this.ticket(kind);
    const timestamp = Math.floor(this.now() / 1000);
    const nonceStr = this.nonce();
    return { timestamp, nonceStr, signature: signJsApi({ ticket, url, nonceStr, timestamp }) };
  }

  private async fetch(kind: 'corp' | 'agent', stale: Entry | undefined): Promise<Entry> {
    const now = this.now();
    const recent = this.fetches[kind].filter((t) => t > now - 3_600_000);
    this.fetches[kind] = recent;
    if (recent.length >= this.limits[kind]) {
      // Over our own budget: keep serving a still-valid ticket rather than risk the hourly block.
      if (stale && now < stale.expiresAt) return stale;
      throw new WecomError(`jsapi ${kind} ticket fetch budget of ${this.limits[kind]}/h used up`, 'ticket_quota');
    }
    recent.push(now);
    const res: Ticket = kind === 'corp' ? await this.client.getCorpJsapiTicket() : await this.client.getAgentJsapiTicket();
    const at = this.now();
    const lifetime = Math.max(1, res.expires_in) * 1000;
    const entry: Entry = { ticket: res.ticket, expiresAt: at + lifetime, refreshAt: at + lifetime - Math.min(this.refreshAheadMs, lifetime / 2) };
    this.entries.set(kind, entry);
    return entry;
  }
}
