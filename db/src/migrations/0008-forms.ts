import { DataTypes, type ModelAttributeColumnOptions, type QueryInterface } from 'sequelize';

// Custom forms (issue 5). Frozen once published.
//
// form_def holds the editable draft; publishing copies it into an immutable form_version (R16.5).
// A submission keeps its version and its whole value as JSON text; form_field_index holds one row
// per scalar value (top-level fields with row_no -1, sub-table cells with their row number) in
// typed columns, so filters, sums and group-bys run on SQLite, MySQL and SQL Server alike
// (R3.14, R3.18, R16.9). form_serial holds serial-number counters per form, field and period.
// form_submission_change keeps every correction of a stored submission (R16.10), form_data_source
// and its rows hold data sources imported from Excel for lookups (R16.7), form_report holds
// admin-defined summary tables (R3.18).
//
// form_summary_row is a second, flat copy of the index for summaries at submission grain: one row
// per submission with fixed numbered slots (text t0..t15, number n0..n15, date d0..d7 with the
// date's month and year alongside), mapped per form by form_summary_slot. A portable schema cannot
// add typed columns per form at runtime, and grouping the one-row-per-value index needs a join per
// field (several times slower than scanning the JSON text on 100,000 submissions); one flat row
// lets a summary be a single GROUP BY over one table (bench:forms).
// Fixed here (a migration never changes); the models in models/forms.ts export the same counts.
const SUMMARY_TEXT_SLOTS = 16;
const SUMMARY_NUMBER_SLOTS = 16;
const SUMMARY_DATE_SLOTS = 8;
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('form_def', {
    id: id(),
    form_key: str(64),
    name: str(100),
    draft: text(false),
    rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    latest_version: int(),
    standalone: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    created_by: int(),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('form_def', ['form_key'], { unique: true, name: 'form_def_key_uq' });

  await qi.createTable('form_version', {
    id: id(),
    form_id: int(false),
    version: int(false),
    schema: text(false),
    published_by: int(),
    published_at: date(),
  });
  await qi.addIndex('form_version', ['form_id', 'version'], { unique: true, name: 'form_version_uq' });

  await qi.createTable('form_submission', {
    id: id(),
    form_id: int(false),
    version_id: int(false),
    serial_no: str(64, true),
    data: text(false),
    totals: text(),
    submitter_id: int(false),
    dept_id: int(),
    status: str(16),
    rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('form_submission', ['form_id', 'created_at'], { name: 'form_submission_form_idx' });
  await qi.addIndex('form_submission', ['submitter_id', 'created_at'], { name: 'form_submission_submitter_idx' });

  await qi.createTable('form_field_index', {
    id: id(),
    submission_id: int(false),
    form_id: int(false),
    field_key: str(130),
    row_no: { type: DataTypes.INTEGER, allowNull: false, defaultValue: -1 },
    value_text: str(255, true),
    value_num: { type: DataTypes.DECIMAL(24, 6), allowNull: true },
    value_date: str(10, true),
    // 'YYYY-MM' and 'YYYY' of value_date: grouping by month or year without dialect date functions (R3.14)
    value_month: str(7, true),
    value_year: str(4, true),
  });
  // (submission, field, row): the summary joins and re-indexing look rows up by these
  await qi.addIndex('form_field_index', ['submission_id', 'field_key', 'row_no'], { name: 'form_field_index_sub_idx' });
  await qi.addIndex('form_field_index', ['form_id', 'field_key', 'value_num'], { name: 'form_field_index_num_idx' });
  await qi.addIndex('form_field_index', ['form_id', 'field_key', 'value_text'], { name: 'form_field_index_text_idx' });
  await qi.addIndex('form_field_index', ['form_id', 'field_key', 'value_date'], { name: 'form_field_index_date_idx' });

  // A form's field → slot map: assigned when a field first appears in a published version and never
  // reused; slot null = the field is only in form_field_index (multi-valued, slots exhausted); active
  // false = retired (its kind changed in a later version), the slot number stays taken.
  await qi.createTable('form_summary_slot', {
    form_id: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
    field_key: { type: DataTypes.STRING(130), allowNull: false, primaryKey: true },
    kind: str(1),
    slot: int(),
    active: { type: DataTypes.BOOLEAN, allowNull: false },
    since_version: int(false),
  });
  const slots: Record<string, ModelAttributeColumnOptions> = {};
  for (let i = 0; i < SUMMARY_TEXT_SLOTS; i++) slots[`t${i}`] = str(255, true);
  for (let i = 0; i < SUMMARY_NUMBER_SLOTS; i++) slots[`n${i}`] = { type: DataTypes.DECIMAL(24, 6), allowNull: true };
  for (let i = 0; i < SUMMARY_DATE_SLOTS; i++) {
    slots[`d${i}`] = str(10, true);
    slots[`m${i}`] = str(7, true);
    slots[`y${i}`] = str(4, true);
  }
  // Keyed (form, submission): clustered by form on InnoDB and SQL Server, so a form's summary is one
  // range scan of its own rows whatever else the table holds.
  await qi.createTable('form_summary_row', {
    form_id: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
    submission_id: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
    submitter_id: int(false),
    dept_id: int(),
    status: str(16),
    // the Beijing calendar day of submission, its month and year
    submitted_date: str(10),
    submitted_month: str(7),
    submitted_year: str(4),
    ...slots,
  });

  await qi.createTable('form_serial', {
    form_id: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
    field_key: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    period: { type: DataTypes.STRING(16), allowNull: false, primaryKey: true },
    last_value: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  });

  await qi.createTable('form_submission_change', {
    id: id(),
    submission_id: int(false),
    rev: int(false),
    actor_id: int(),
    reason: str(500),
    changes: text(false),
    created_at: date(),
  });
  await qi.addIndex('form_submission_change', ['submission_id', 'rev'], { name: 'form_submission_change_idx' });

  await qi.createTable('form_data_source', {
    id: id(),
    source_key: str(64),
    name: str(100),
    columns: text(false),
    key_column: str(64),
    label_column: str(64, true),
    audience: str(16),
    row_count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    created_by: int(),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('form_data_source', ['source_key'], { unique: true, name: 'form_data_source_key_uq' });
  await qi.createTable('form_data_source_row', {
    id: id(),
    source_id: int(false),
    row_key: str(191),
    label: str(255, true),
    data: text(false),
  });
  await qi.addIndex('form_data_source_row', ['source_id', 'row_key'], { unique: true, name: 'form_data_source_row_uq' });
  await qi.addIndex('form_data_source_row', ['source_id', 'label'], { name: 'form_data_source_row_label_idx' });

  await qi.createTable('form_report', {
    id: id(),
    form_id: int(false),
    name: str(100),
    spec: text(false),
    created_by: int(),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('form_report', ['form_id'], { name: 'form_report_form_idx' });
}
