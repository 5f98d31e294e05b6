import type { AppDeps } from '../deps.ts';
import { TIMEOUT_JOB, TIMER_JOB } from './hooks.ts';
import type { Workflow } from './module.ts';

/**
 * Durable workflow timers (R3.8, R3.12): delay nodes and task time limits are rows in the job
 * table, so they survive restarts and fire once across instances.
 */
export function registerWorkflowJobs(deps: AppDeps, w: Workflow): void {
  deps.jobs.register(TIMER_JOB, async (payload) => {
    const p = payload as { instanceId: number; tokenId: number; nodeId: string };
    await w.service.timerFired(p.instanceId, p.tokenId, p.nodeId);
  });
  deps.jobs.register(TIMEOUT_JOB, async (payload) => {
    const p = payload as { instanceId: number; taskId: number; round: number };
    await w.service.taskTimedOut(p.instanceId, p.taskId, p.round);
  });
}
