import http from 'node:http';
import { migrate, openDatabase, redactUrl, SchemaTooNewError, type Database } from '@oa/db';
import { ConfigError, deriveKey, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { createApp } from './app.ts';
import { bootstrap, credentialLines } from './bootstrap.ts';
import { startDemoWecom } from './wecom/demo.ts';

// Exit codes: 78 = bad configuration (EX_CONFIG), 1 = cannot start for another reason.
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const { log, flush } = createLogger(config.LOG_LEVEL);
  process.on('exit', flush);
  const db: Database = openDatabase({
    url: config.DB_URL,
    dataDir: config.dataDir,
    auditKey: deriveKey(config.secret, 'audit-chain'),
    poolMax: config.DB_POOL_MAX,
  });
  log.info({ db: db.target.dialect === 'sqlite' ? db.target.storage : redactUrl(config.DB_URL ?? '') }, 'opening database');
  // The database may come up after us (a server reboot): wait up to 2 minutes for it.
  for (let attempt = 1; ; attempt++) {
    try {
      await db.ping();
      break;
    } catch (err) {
      if (attempt >= 24) {
        console.error(`无法连接数据库：${(err as Error).message}`);
        process.exit(1);
      }
      log.warn({ attempt, err: (err as Error).message }, 'database not reachable yet, retrying in 5 s');
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  try {
    const ran = await migrate(db);
    if (ran.length) log.info({ migrations: ran }, 'migrations applied');
  } catch (err) {
    if (err instanceof SchemaTooNewError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  // Demo mode (issue 6): WECOM_FAKE=on without WECOM_* runs the fake WeCom in-process and points the server at it.
  const demoWecom = await startDemoWecom(config).catch((err: unknown) => {
    console.warn(`[模拟企业微信] 启动失败，企业微信功能未启用：${(err as Error).message}`);
    return null;
  });
  if (demoWecom) config = demoWecom.config;
  const app = await createApp({ config, db, logger: log });
  const boot = await bootstrap(app.deps, { demo: config.DEMO_DATA === 'on' });
  for (const line of credentialLines(boot)) console.log(line);
  if (demoWecom) {
    const added = await demoWecom.addPeople(db);
    console.log(`[模拟企业微信] 已启动：${demoWecom.fake.url}（演示模式；${added} 名本系统人员加入模拟企业，网页授权页 ${demoWecom.fake.url}/connect/oauth2/authorize）`);
  }
  if (config.SCHEDULER === 'on') app.deps.jobs.start(() => app.deps.dispatcher.dispatchDue());

  const server = http.createServer(app.koa.callback());
  server.keepAliveTimeout = 65_000;
  server.listen(config.PORT, config.HOST, () => {
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
    log.info({ url: `http://${host}:${config.PORT}` }, 'listening');
    console.log(`[启动完成] 医院协同办公系统：http://${host}:${config.PORT}/  管理后台：/admin/  接口文档：/api/docs/`);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close(() => {
      void app.close().then(() => demoWecom?.close()).then(() => db.close()).then(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  console.error('启动失败：', err);
  process.exit(1);
});
