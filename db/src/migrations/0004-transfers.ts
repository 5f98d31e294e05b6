import { DataTypes, type QueryInterface } from 'sequelize';

// Transfers (调动, issue 3 item 5, R12.3) and information changes (信息变更, item 6, R12.4).
// Frozen once published.
//
// org_transfer: one person's move from a department/post/position to another, effective on a
// calendar date in Asia/Shanghai (`YYYY-MM-DD`). status: draft → approved → effective, or
// cancelled before it takes effect.
// info_change: a person's request to change fields of their own file; `changes` is JSON text of
// the requested values, `prior_values` the values when it was decided. status: pending → approved |
// rejected.
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('org_transfer', {
    id: id(),
    person_id: int(false),
    from_dept_id: int(),
    to_dept_id: int(false),
    from_post_id: int(),
    to_post_id: int(),
    from_position_id: int(),
    to_position_id: int(),
    effective_date: str(10),
    reason: str(500),
    status: str(16),
    created_by: int(),
    approved_by: int(),
    approved_at: date(true),
    effective_at: date(true),
    cancelled_by: int(),
    cancelled_at: date(true),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('org_transfer', ['person_id'], { name: 'org_transfer_person_ix' });
  await qi.addIndex('org_transfer', ['status', 'effective_date'], { name: 'org_transfer_status_ix' });
  await qi.addIndex('org_transfer', ['effective_date'], { name: 'org_transfer_date_ix' });

  await qi.createTable('info_change', {
    id: id(),
    user_id: int(false),
    changes: text(false),
    prior_values: text(),
    reason: str(500, true),
    status: str(16),
    decided_by: int(),
    decided_at: date(true),
    decision_note: str(500, true),
    created_at: date(),
  });
  await qi.addIndex('info_change', ['user_id'], { name: 'info_change_user_ix' });
  await qi.addIndex('info_change', ['status'], { name: 'info_change_status_ix' });
}
