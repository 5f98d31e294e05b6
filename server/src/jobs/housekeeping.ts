import { Op } from '@oa/db';
import type { AppDeps } from '../deps.ts';
import { writeAnchor } from '../audit/anchors.ts';

/** Recurring upkeep, in Beijing time. */
export function registerHousekeeping(deps: AppDeps): void {
  deps.jobs.every('audit.anchor', '0 * * * *', async (_p, job) => {
    await writeAnchor(deps.db, deps.config.dataDir, deps.log, job.now);
  });
  deps.jobs.every('sessions.purge', '*/10 * * * *', async (_p, job) => {
    await deps.sessions.purgeExpired();
    await deps.files.storage.sweepTemp(job.now);
  });
  deps.jobs.every('jobs.cleanup', '30 3 * * *', async (_p, job) => {
    // Finished jobs and delivered messages older than 30 days; dead ones stay for the administrator.
    const before = new Date(job.now.getTime() - 30 * 86_400_000);
    await deps.db.models.Job.destroy({ where: { status: 'done', updatedAt: { [Op.lt]: before } } });
    await deps.db.models.Outbox.destroy({ where: { status: 'sent', sentAt: { [Op.lt]: before } } });
    await deps.db.models.RateCounter.destroy({ where: { windowStart: { [Op.lt]: before } } });
  });
}
