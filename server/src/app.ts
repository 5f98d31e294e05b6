import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from 'pino';
import { createLogger } from './logger.ts';
import { Redis } from 'ioredis';
import type { Database } from '@oa/db';
import { deriveKey, type Config } from './config.ts';
import { systemClock, type Clock } from './clock.ts';
import type { AppDeps } from './deps.ts';
import { loadPrincipal } from './access/service.ts';
import { AccessService } from './access/grants.ts';
import { grantRoutes } from './access/grant-routes.ts';
import { roleRoutes } from './access/role-routes.ts';
import { SessionManager } from './auth/sessions.ts';
import { DbSessionStore, RedisSessionStore } from './auth/session-store.ts';
import { AuthService } from './auth/service.ts';
import { DeviceCookie } from './auth/device-cookie.ts';
import { DEFAULT_PASSWORD_POLICY } from './auth/password-policy.ts';
import { authRoutes } from './auth/routes.ts';
import { securityRoutes } from './auth/security-routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { SettingsService } from './settings/service.ts';
import { LocalBus, RedisBus, type Bus } from './system/bus.ts';
import { DbRateLimiter, RedisRateLimiter } from './system/rate-limit.ts';
import { createMetrics, healthRoutes } from './system/health.ts';
import { systemRoutes } from './system/routes.ts';
import { FileService } from './files/service.ts';
import { LocalDiskStorage } from './files/storage.ts';
import { fileRoutes } from './files/routes.ts';
import { JobRunner } from './jobs/runner.ts';
import { ChannelRegistry, InboxChannel } from './notify/channels.ts';
import { OutboxDispatcher } from './notify/dispatcher.ts';
import { inboxRoutes } from './notify/routes.ts';
import { NotificationCentre } from './notify/centre.ts';
import { orgRoutes } from './org/routes.ts';
import { workflowRoutes } from './workflow/routes.ts';
import { formRoutes } from './forms/routes.ts';
import { wecomRoutes } from './wecom/routes.ts';
import { wecomSyncRoutes } from './wecom/sync-routes.ts';
import { installWecom } from './wecom/install.ts';
import { mountRoutes, type RouteSpec } from './http/route.ts';
import { buildOpenApi } from './http/openapi.ts';
import { docsRoutes } from './http/docs.ts';
import { problemMiddleware } from './http/problem.ts';
import { edge } from './http/middleware.ts';
import { serveClients } from './http/static.ts';
import { LANDING_HTML } from './http/landing.ts';
import { registerHousekeeping } from './jobs/housekeeping.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface AppOptions {
  config: Config;
  db: Database;
  clock?: Clock;
  logger?: Logger;
  /** folder holding `admin/dist` and `miniapp/dist/build/h5` (default: the repository) */
  clientsRoot?: string;
}

export interface OaApp {
  koa: Koa;
  deps: AppDeps;
  routes: RouteSpec[];
  router: Router;
  close(): Promise<void>;
}

/** Build the whole server around an open, migrated database. Listening is the caller's business. */
export async function createApp(opts: AppOptions): Promise<OaApp> {
  const { config, db } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? createLogger(config.LOG_LEVEL).log;
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true }) : null;
  const bus: Bus = redis ? await RedisBus.connect(redis) : new LocalBus();
  const settings = new SettingsService(db, clock, bus, {
    'security.passwordPolicy': DEFAULT_PASSWORD_POLICY,
    'files.upload': { maxUploadMb: config.UPLOAD_MAX_MB },
  });
  const sessions = new SessionManager(
    redis ? new RedisSessionStore(redis, clock) : new DbSessionStore(db),
    clock,
    bus,
    async (userId) => loadPrincipal(db, userId, await settings.get('security.passwordPolicy'), clock.now()),
    {
      idleMs: config.SESSION_IDLE_MINUTES * 60_000,
      absoluteMs: config.SESSION_ABSOLUTE_HOURS * 3_600_000,
      cookieName: config.cookieSecure ? '__Host-oa_sid' : 'oa_sid',
      cookieSecure: config.cookieSecure,
      touchEveryMs: 60_000,
      cacheMax: 50_000,
      cacheMaxAgeMs: 10_000,
    },
  );
  const limiter = redis ? new RedisRateLimiter(redis, clock) : new DbRateLimiter(db, clock);
  const auth = new AuthService(db, clock, sessions, settings, limiter, {
    maxFailures: config.LOGIN_MAX_FAILURES,
    lockMs: config.LOGIN_LOCK_MINUTES * 60_000,
    ipMaxFailures: config.LOGIN_IP_MAX_FAILURES,
    ipWindowMs: config.LOGIN_IP_WINDOW_MINUTES * 60_000,
  });
  const channels = new ChannelRegistry();
  channels.register(new InboxChannel(db, clock));
  const metrics = createMetrics();
  const deps: AppDeps = {
    config,
    db,
    clock,
    log,
    bus,
    settings,
    sessions,
    auth,
    deviceCookie: new DeviceCookie(deriveKey(config.secret, 'device-cookie')),
    limiter,
    files: new FileService(db, clock, new LocalDiskStorage(config.filesDir)),
    jobs: new JobRunner(db, clock, log),
    channels,
    dispatcher: new OutboxDispatcher(db, clock, channels, log),
    metrics,
    access: new AccessService({ db, bus, clock, log }),
    notices: new NotificationCentre(channels),
  };
  registerHousekeeping(deps);
  installWecom(deps); // WeCom channel, callback jobs, card sweep (issue 6); nothing when WECOM_* are unset

  const routes: RouteSpec[] = [
    ...healthRoutes(deps),
    ...authRoutes(deps),
    ...securityRoutes(deps),
    ...auditRoutes(deps),
    ...systemRoutes(deps),
    ...fileRoutes(deps),
    ...inboxRoutes(deps),
    ...orgRoutes(deps),
    ...grantRoutes(deps),
    ...roleRoutes(deps),
    ...workflowRoutes(deps),
    ...formRoutes(deps),
    ...wecomRoutes(deps),
    ...wecomSyncRoutes(deps),
  ];
  let openapi: unknown;
  routes.push(...docsRoutes(() => (openapi ??= buildOpenApi(routes))));

  const koa = new Koa({ proxy: config.TRUST_PROXY });
  koa.silent = true; // errors are logged by the problem middleware, once
  const router = new Router();
  mountRoutes(router, routes, deps);

  koa.use(edge(log, metrics, { hsts: config.cookieSecure }));
  koa.use(problemMiddleware);
  koa.use(router.routes());
  koa.use(router.allowedMethods({ throw: true }));
  // Last: only what no route answered reaches the built clients.
  koa.use(
    serveClients(
      [
        { prefix: '/admin/', root: path.join(opts.clientsRoot ?? REPO_ROOT, 'admin/dist') },
        { prefix: '/', root: path.join(opts.clientsRoot ?? REPO_ROOT, 'miniapp/dist/build/h5') },
      ],
      LANDING_HTML,
    ),
  );

  return {
    koa,
    deps,
    routes,
    router,
    async close() {
      deps.jobs.stop();
      deps.access.dispose();
      await bus.close();
      redis?.disconnect();
    },
  };
}
