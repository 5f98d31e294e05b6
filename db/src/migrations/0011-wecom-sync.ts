import { DataTypes, Op, type QueryInterface } from 'sequelize';

// WeCom contact sync (issue 6 item 5, P4, R12.0). Frozen once published.
//
// wecom_dept_map: which local department a WeCom department id stands for. One row per WeCom
// department, one WeCom department per local department (both unique). Rows are never removed by a
// sync: a department that disappears from WeCom keeps its mapping and is only reported.
// wecom_sync_run: one row per full sync (kind `full`, a durable job with progress) and per applied
// change_contact event (kind `event`). `report` is JSON text (counts, changes, conflicts, people
// missing from WeCom) for the admins; `dedupe_key` (events only) makes a replayed event act once.
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const intDefault = (defaultValue: number) => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('wecom_dept_map', {
    wecom_dept_id: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
    dept_id: int(false),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('wecom_dept_map', ['dept_id'], { unique: true, name: 'wecom_dept_map_dept_uq' });

  await qi.createTable('wecom_sync_run', {
    id: id(),
    kind: str(16),
    status: str(16),
    dry_run: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    options: { type: DataTypes.TEXT, allowNull: true },
    phase: str(100, true),
    percent: intDefault(0),
    requested_by: int(),
    dedupe_key: str(100, true),
    changes: intDefault(0),
    conflicts: intDefault(0),
    api_calls: intDefault(0),
    // LONGTEXT on MySQL (a report of thousands of people outgrows TEXT's 64 KB); SQLite knows one TEXT
    report: { type: qi.sequelize.getDialect() === 'sqlite' ? DataTypes.TEXT : DataTypes.TEXT('long'), allowNull: true },
    error: str(2000, true),
    started_at: date(true),
    finished_at: date(true),
    created_at: date(),
  });
  // SQL Server treats NULLs as equal in a unique index: filter them there
  const where = qi.sequelize.getDialect() === 'mssql' ? { where: { dedupe_key: { [Op.ne]: null } } } : {};
  await qi.addIndex('wecom_sync_run', ['dedupe_key'], { unique: true, name: 'wecom_sync_run_dedupe_uq', ...where });
  await qi.addIndex('wecom_sync_run', ['kind', 'created_at'], { name: 'wecom_sync_run_kind_ix' });
}
