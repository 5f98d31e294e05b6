import type { AppDeps } from '../deps.ts';
import { createConditions } from './conditions.ts';
import { builtinActions, createHooks, type ActionHook } from './hooks.ts';
import type { EngineHooks } from './engine.ts';
import { ProcessService } from './processes.ts';
import { WorkflowQueries } from './queries.ts';
import { WorkflowService } from './service.ts';
import { registerWorkflowJobs } from './jobs.ts';
import { WorkflowForms } from './forms.ts';
import { registerTriggers } from './triggers.ts';

export interface Workflow {
  processes: ProcessService;
  /** automatic actions (hook name → handler): modules add theirs, e.g. `org.transfer.approve` */
  actions: Map<string, ActionHook>;
  service: WorkflowService;
  queries: WorkflowQueries;
}

const modules = new WeakMap<AppDeps, Workflow>();

/** One workflow module per app (resource types and job handlers are registered once). */
export function workflowOf(deps: AppDeps): Workflow {
  let w = modules.get(deps);
  if (w) return w;
  const conditions = createConditions();
  const actions = builtinActions();
  const processes = new ProcessService(deps.db, deps.clock, deps.access, conditions, actions);
  // sub-processes need the service, which needs the hooks: the two hooks call it once built
  let service: WorkflowService | null = null;
  const hooks: EngineHooks = {
    ...createHooks({ db: deps.db, jobs: deps.jobs, conditions, actions }),
    startChild: (run, tok, node) => service!.startChild(run, tok, node),
    childFinished: (run, status) => service!.childFinished(run, status),
    endChildren: (run) => service!.endChildren(run),
  };
  const forms = new WorkflowForms(deps.db, deps.clock);
  service = new WorkflowService(deps.db, deps.clock, processes, hooks, deps.access, forms, deps.notices);
  w = { processes, actions, service, queries: new WorkflowQueries(deps.db, processes, deps.access, forms) };
  registerWorkflowJobs(deps, w);
  registerTriggers(deps, processes, service);
  modules.set(deps, w);
  return w;
}
