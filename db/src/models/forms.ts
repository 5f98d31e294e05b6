import type { Sequelize } from 'sequelize';

// Custom forms (issue 5, R16.*): form definitions, versions, submissions, field index.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface FormModels {}

export function defineFormModels(_sequelize: Sequelize): FormModels {
  return {};
}
