import type { Sequelize } from 'sequelize';

// Workflow engine (issue 4, R3.*): definitions, versions, instances, tasks, history.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface WorkflowModels {}

export function defineWorkflowModels(_sequelize: Sequelize): WorkflowModels {
  return {};
}
