import { DataTypes, type QueryInterface } from 'sequelize';

// Address book (通讯录, issue 3 item 9, R11, R20.7): shared books and everyone's personal contacts.
// Frozen once published.
//
// address_book: a shared book (外院专家, 供应商 …) kept by holders of addressbook:manage; who may
// read it is an access grant on resource ('addressbook', id) with action `view`, not a column here.
// address_book_entry: one contact, either in a shared book (book_id) or in a person's own address
// book (owner_id); exactly one of the two is set. An entry is either external (name, organisation,
// title, phones, email) or a reference to an internal person (person_id), whose details are read
// from the person's record when shown so they stay current. `phones` is JSON text
// `[{label, number}]`, `tags` JSON text `string[]`; both are read and filtered in memory (a book
// is bounded), nothing queries them. `pinyin`/`pinyin_initials` are the external name's sort and
// search keys. `version` is the optimistic lock (409 on a stale edit).
//
// No unique index spans a nullable column (SQL Server treats NULLs as equal there): the service
// refuses duplicates inside its transaction instead.
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const intDefault = (defaultValue: number) => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('address_book', {
    id: id(),
    name: str(100),
    description: str(500, true),
    sort: intDefault(0),
    created_by: int(),
    updated_by: int(),
    version: intDefault(0),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('address_book', ['name'], { unique: true, name: 'address_book_name_uq' });

  await qi.createTable('address_book_entry', {
    id: id(),
    book_id: int(),
    owner_id: int(),
    person_id: int(),
    name: str(64, true),
    organisation: str(200, true),
    title: str(100, true),
    phones: text(),
    email: str(128, true),
    note: str(1000, true),
    tags: text(),
    pinyin: str(200, true),
    pinyin_initials: str(100, true),
    sort: intDefault(0),
    created_by: int(),
    updated_by: int(),
    version: intDefault(0),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('address_book_entry', ['book_id'], { name: 'address_book_entry_book_ix' });
  await qi.addIndex('address_book_entry', ['owner_id'], { name: 'address_book_entry_owner_ix' });
  await qi.addIndex('address_book_entry', ['person_id'], { name: 'address_book_entry_person_ix' });
}
