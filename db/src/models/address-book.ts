import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';
import { jsonText } from '../json.ts';
import { nameSearchKeys } from '../pinyin.ts';

// Address book (通讯录, issue 3 item 9, R11, R20.7): shared books and personal contacts.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.
// Schema and its reasons: migrations/0006-address-book.ts.

/** A shared address book (外院专家, 供应商 …); who may read it is an access grant ('addressbook', id, view). */
export class AddressBook extends Model<InferAttributes<AddressBook>, InferCreationAttributes<AddressBook>> {
  declare id: CreationOptional<number>;
  declare name: string;
  declare description: string | null;
  declare sort: CreationOptional<number>;
  declare createdBy: number | null;
  declare updatedBy: number | null;
  declare version: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export interface ContactPhone {
  /** 手机, 办公, 传真 … */
  label: string;
  number: string;
}

/** One contact: in a shared book (bookId) or in a person's own address book (ownerId). */
export class AddressBookEntry extends Model<InferAttributes<AddressBookEntry>, InferCreationAttributes<AddressBookEntry>> {
  declare id: CreationOptional<number>;
  declare bookId: number | null;
  declare ownerId: number | null;
  /** an internal person: their details come from their record when shown */
  declare personId: number | null;
  declare name: string | null;
  declare organisation: string | null;
  declare title: string | null;
  declare phones: ContactPhone[] | null;
  declare email: string | null;
  declare note: string | null;
  declare tags: string[] | null;
  /** search keys of `name`, maintained by a hook */
  declare pinyin: CreationOptional<string | null>;
  declare pinyinInitials: CreationOptional<string | null>;
  declare sort: CreationOptional<number>;
  declare createdBy: number | null;
  declare updatedBy: number | null;
  declare version: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export interface AddressBookModels {
  AddressBook: typeof AddressBook;
  AddressBookEntry: typeof AddressBookEntry;
}

// Fresh objects per attribute: Sequelize writes into the definitions it is given.
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true });
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const date = () => ({ type: DataTypes.DATE(3), allowNull: false });
const int = (defaultValue: number) => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue });
const fk = () => ({ type: DataTypes.INTEGER, allowNull: true });

export function defineAddressBookModels(sequelize: Sequelize): AddressBookModels {
  class AddressBookM extends AddressBook {}
  class AddressBookEntryM extends AddressBookEntry {}
  const common = { sequelize, underscored: true, freezeTableName: true } as const;

  AddressBookM.init(
    {
      id: id(),
      name: str(100),
      description: str(500, true),
      sort: int(0),
      createdBy: fk(),
      updatedBy: fk(),
      version: int(0),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'address_book', timestamps: true, version: true },
  );
  AddressBookEntryM.init(
    {
      id: id(),
      bookId: fk(),
      ownerId: fk(),
      personId: fk(),
      name: str(64, true),
      organisation: str(200, true),
      title: str(100, true),
      phones: jsonText<ContactPhone[]>('phones'),
      email: str(128, true),
      note: str(1000, true),
      tags: jsonText<string[]>('tags'),
      pinyin: str(200, true),
      pinyinInitials: str(100, true),
      sort: int(0),
      createdBy: fk(),
      updatedBy: fk(),
      version: int(0),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'address_book_entry', timestamps: true, version: true },
  );

  // Search keys follow the external name wherever an entry is written.
  const withKeys = (e: AddressBookEntry) => {
    if (e.changed('name') || e.pinyin === undefined) {
      const k = e.name ? nameSearchKeys(e.name) : null;
      e.pinyin = k?.pinyin ?? null;
      e.pinyinInitials = k?.initials ?? null;
    }
  };
  AddressBookEntryM.addHook('beforeSave', (e: AddressBookEntry) => withKeys(e));
  AddressBookEntryM.addHook('beforeBulkCreate', (rows: AddressBookEntry[]) => rows.forEach(withKeys));

  return { AddressBook: AddressBookM, AddressBookEntry: AddressBookEntryM };
}
