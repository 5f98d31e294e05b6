import { Op, type Actor, type WecomSyncRun } from '@oa/db';
import type { AppDeps } from '../deps.ts';
import { conflict } from '../http/errors.ts';
import { contactClient, failureText, fullSync, runView, SYNC_JOB, WecomNotConfiguredError, type FullSyncProgress, type RunView, type SyncOptions } from './sync.ts';

/**
 * Full contact syncs as durable jobs with progress (issue 6 item 5, P4, R12.0). `start` records a
 * run row (`queued`) and a job (`wecom.contact-sync`, payload { runId }) in one transaction; the job
 * runner claims it with a lease, so it runs once across server instances and is taken over after a
 * crash (the sync is all-or-nothing, so a re-run starts clean). Progress lives in memory while the
 * run is in this process (the write transaction must not be interleaved with progress writes on
 * SQLite) and is written to the row at phase boundaries.
 */
export class WecomSyncRuns {
  private readonly live = new Map<number, FullSyncProgress>();

  constructor(private readonly deps: AppDeps) {
    deps.jobs.register(SYNC_JOB, async (payload) => {
      await this.execute(Number((payload as { runId?: unknown } | null)?.runId));
    });
  }

  enabled(): boolean {
    return contactClient({ db: this.deps.db, config: this.deps.config }) !== null;
  }

  /** Queue a full sync; 409 when WeCom is off or a sync is already queued or running. */
  async start(opts: SyncOptions, actor: Actor): Promise<RunView> {
    if (!this.enabled()) throw conflict('企业微信未启用（未配置 WECOM_CORP_ID 等），无法同步通讯录', 'WECOM_OFF');
    const { WecomSyncRun } = this.deps.db.models;
    const run = await this.deps.db.transaction(async (t) => {
      const busy = await WecomSyncRun.findOne({ where: { kind: 'full', status: { [Op.in]: ['queued', 'running'] } }, transaction: t });
      if (busy) throw conflict(`已有一个通讯录同步任务（编号 ${busy.id}）正在进行，请等待其完成`, 'WECOM_SYNC_BUSY');
      const row = await WecomSyncRun.create(
        {
          kind: 'full',
          status: 'queued',
          dryRun: !!opts.dryRun,
          options: { ...opts },
          phase: '排队等待',
          requestedBy: actor.id,
          dedupeKey: null,
          report: null,
          error: null,
          startedAt: null,
          finishedAt: null,
          createdAt: this.deps.clock.now(),
        },
        { transaction: t },
      );
      await this.deps.jobs.enqueue(SYNC_JOB, { runId: row.id, actor }, { dedupeKey: `${SYNC_JOB}:${row.id}`, maxAttempts: 3, transaction: t });
      return row;
    });
    // start now where this instance runs jobs; elsewhere the next scheduler tick claims it
    if (this.deps.config.SCHEDULER === 'on') void this.deps.jobs.tick().catch((err: unknown) => this.deps.log.warn({ err }, 'wecom sync kick failed'));
    return runView(run, false);
  }

  /** Runs the sync of one run row (the job handler). A finished run is left alone. */
  async execute(runId: number): Promise<void> {
    const { WecomSyncRun } = this.deps.db.models;
    const run = await WecomSyncRun.findByPk(runId);
    if (!run || run.kind !== 'full' || run.status === 'done' || run.status === 'failed') return;
    const opts = (run.options ?? {}) as SyncOptions;
    const actor: Actor = { id: run.requestedBy, name: run.requestedBy === null ? 'wecom-sync' : null };
    if (run.requestedBy !== null) {
      const u = await this.deps.db.models.User.findByPk(run.requestedBy, { attributes: ['username'] });
      actor.name = u?.username ?? null;
    }
    await run.update({ status: 'running', startedAt: this.deps.clock.now(), phase: '开始同步', percent: 0, error: null });
    let lastPhase = '';
    const progress = (p: FullSyncProgress) => {
      this.live.set(runId, p);
      // phase boundaries only (never inside the write transaction: the last one is written before it)
      const head = p.phase.replace(/（.*$/, '');
      if (head !== lastPhase && p.percent < 75) {
        lastPhase = head;
        void WecomSyncRun.update({ phase: p.phase, percent: p.percent }, { where: { id: runId } }).catch(() => undefined);
      }
    };
    try {
      const report = await fullSync({ db: this.deps.db, clock: this.deps.clock, log: this.deps.log, config: this.deps.config, sessions: this.deps.sessions }, actor, opts, progress);
      await run.update({
        status: 'done',
        phase: report.dryRun ? '完成（试运行，未写入）' : '完成',
        percent: 100,
        changes: report.changes,
        conflicts: report.conflictCount + report.missingCount,
        apiCalls: report.apiCalls,
        report: report as unknown as Record<string, unknown>,
        finishedAt: this.deps.clock.now(),
      });
    } catch (err) {
      this.deps.log.warn({ err, runId }, 'wecom contact sync failed');
      // WeCom errors and conflicts need a person, not a retry loop: the run ends failed (nothing written)
      await run.update({ status: 'failed', phase: '失败', error: err instanceof WecomNotConfiguredError ? err.message : failureText(err), finishedAt: this.deps.clock.now() });
    } finally {
      this.live.delete(runId);
    }
  }

  async get(id: number): Promise<RunView | null> {
    const row = await this.deps.db.models.WecomSyncRun.findByPk(id);
    if (!row) return null;
    return this.withLive(row, true);
  }

  async list(q: { page: number; pageSize: number; kind?: 'full' | 'event' }): Promise<{ total: number; page: number; pageSize: number; items: RunView[] }> {
    const { WecomSyncRun } = this.deps.db.models;
    const where = q.kind ? { kind: q.kind } : {};
    const total = await WecomSyncRun.count({ where });
    const rows = await WecomSyncRun.findAll({
      where,
      attributes: { exclude: ['report'] },
      order: [['id', 'DESC']],
      offset: (q.page - 1) * q.pageSize,
      limit: q.pageSize,
    });
    return { total, page: q.page, pageSize: q.pageSize, items: rows.map((r) => this.withLive(r, false)) };
  }

  private withLive(row: WecomSyncRun, withReport: boolean): RunView {
    const v = runView(row, withReport);
    const p = this.live.get(row.id);
    if (p && v.status === 'running') {
      v.phase = p.phase;
      v.percent = p.percent;
    }
    return v;
  }
}
