import type { Sequelize } from 'sequelize';

// Personnel files (人事档案, issue 3 item 4, R12.2): custom field definitions, values, change history.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PersonnelModels {}

export function definePersonnelModels(_sequelize: Sequelize): PersonnelModels {
  return {};
}
