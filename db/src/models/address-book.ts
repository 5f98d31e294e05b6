import type { Sequelize } from 'sequelize';

// Address book (通讯录, issue 3 item 9, R11, R20.7): personal and shared books.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AddressBookModels {}

export function defineAddressBookModels(_sequelize: Sequelize): AddressBookModels {
  return {};
}
