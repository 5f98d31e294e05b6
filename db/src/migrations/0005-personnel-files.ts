import { DataTypes, Op, type QueryInterface } from 'sequelize';

// Personnel files (人事档案, issue 3 item 4, R12.2): custom field definitions, one file per person,
// and the history of every change. Frozen once published.
//
// person_field: an admin-defined field (自定义字段). `field_key` is the ASCII name the values are stored
// under in person_profile.custom; `type` text | number | date | select | multiselect | attachment;
// `options` JSON text (choices, min/max, maxLength, maxFiles). Deleting a field disables it, so its
// values and history stay readable.
// person_profile: one row per person (user_id). Fixed fields as ordinary columns; the sensitive
// ones (ID number, bank account, home address) only as AES-256-GCM ciphertext (`*_enc`), the ID
// number also as an HMAC blind index (`id_number_hash`, unique when set) for duplicate checks and
// lookup. `custom` is JSON text of the custom field values; `version` guards concurrent edits.
// person_file_change: one row per changed field; old/new values as JSON text, or ciphertext for
// sensitive fields (never plaintext).
const str = (len: number, allowNull = true) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
const bool = (defaultValue: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });
const day = () => ({ type: DataTypes.STRING(10), allowNull: true });
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('person_field', {
    id: id(),
    field_key: str(64, false),
    label: str(100, false),
    type: str(16, false),
    options: text(),
    required: bool(false),
    sort: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    enabled: bool(true),
    created_by: int(),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('person_field', ['field_key'], { unique: true, name: 'person_field_key_uq' });

  await qi.createTable('person_profile', {
    user_id: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
    birth_date: day(),
    ethnicity: str(32),
    native_place: str(100),
    political_status: str(32),
    marital_status: str(16),
    education: str(32),
    degree: str(32),
    graduate_school: str(100),
    major: str(100),
    graduation_date: day(),
    work_start_date: day(),
    hire_date: day(),
    employment_type: str(32),
    union_member: { type: DataTypes.BOOLEAN, allowNull: true },
    union_join_date: day(),
    emergency_contact: str(64),
    emergency_phone: str(32),
    bank_name: str(100),
    remark: str(500),
    id_number_enc: text(),
    id_number_hash: str(64),
    bank_account_enc: text(),
    home_address_enc: text(),
    custom: text(),
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    updated_by: int(),
    created_at: date(),
    updated_at: date(),
  });
  // unique among set values: SQL Server treats NULLs as equal in a unique index, so filter them
  const where = qi.sequelize.getDialect() === 'mssql' ? { where: { id_number_hash: { [Op.ne]: null } } } : {};
  await qi.addIndex('person_profile', ['id_number_hash'], { unique: true, name: 'person_profile_idno_uq', ...where });

  await qi.createTable('person_file_change', {
    id: id(),
    user_id: int(false),
    field: str(80, false),
    label: str(100, false),
    sensitive: bool(false),
    old_value: text(),
    new_value: text(),
    version: int(false),
    source: str(16, false),
    reason: str(500),
    changed_by: int(),
    changed_at: date(),
  });
  await qi.addIndex('person_file_change', ['user_id', 'id'], { name: 'person_file_change_user_ix' });
}
