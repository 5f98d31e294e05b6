import type { Database } from '@oa/db';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Clock } from './clock.ts';
import type { SessionManager } from './auth/sessions.ts';
import type { AuthService } from './auth/service.ts';
import type { DeviceCookie } from './auth/device-cookie.ts';
import type { SettingsService } from './settings/service.ts';
import type { RateLimiter } from './system/rate-limit.ts';
import type { Bus } from './system/bus.ts';
import type { Metrics } from './system/health.ts';
import type { FileService } from './files/service.ts';
import type { JobRunner } from './jobs/runner.ts';
import type { OutboxDispatcher } from './notify/dispatcher.ts';
import type { ChannelRegistry } from './notify/channels.ts';
import type { AccessService } from './access/grants.ts';
import type { NotificationCentre } from './notify/centre.ts';

/** Everything a route or job may use; built once in app.ts and passed down (no globals). */
export interface AppDeps {
  config: Config;
  db: Database;
  clock: Clock;
  log: Logger;
  bus: Bus;
  settings: SettingsService;
  sessions: SessionManager;
  auth: AuthService;
  deviceCookie: DeviceCookie;
  limiter: RateLimiter;
  files: FileService;
  jobs: JobRunner;
  channels: ChannelRegistry;
  dispatcher: OutboxDispatcher;
  metrics: Metrics;
  /** resource-level access decisions: grants, inheritance, admin ranges (access/grants.ts) */
  access: AccessService;
  /** one place that turns "tell this person" into outbox rows per channel (notify/centre.ts) */
  notices: NotificationCentre;
}
