import { DataTypes, type QueryInterface } from 'sequelize';

// Organisation (issue 3, R12.0–R12.5, R3.17): the department tree gets a materialised path,
// people get titles, positions, an explicit superior and pinyin search keys; secondary
// departments, department leaders, leaders in charge, scoped roles and user-defined groups.
// Frozen once published.
const id = { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false };
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (defaultValue?: number) => ({ type: DataTypes.INTEGER, allowNull: false, ...(defaultValue !== undefined ? { defaultValue } : {}) });
const fk = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
// a fresh object per column: definitions get mutated when used
const pk = () => ({ type: DataTypes.INTEGER, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // '/1/5/9/': the ids from the root down to this department, for subtree queries by prefix
  await qi.addColumn('department', 'path', { type: DataTypes.STRING(500), allowNull: false, defaultValue: '/' });
  await qi.addColumn('department', 'level', { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 });
  await qi.addIndex('department', ['path'], { name: 'department_path_ix' });

  await qi.createTable('title', { id, code: str(64), name: str(100), grade: str(16, true) });
  await qi.addIndex('title', ['code'], { unique: true, name: 'title_code_uq' });
  await qi.createTable('position', { id, code: str(64), name: str(100), rank: int(0) });
  await qi.addIndex('position', ['code'], { unique: true, name: 'position_code_uq' });

  await qi.addColumn('user', 'title_id', fk());
  await qi.addColumn('user', 'position_id', fk());
  await qi.addColumn('user', 'superior_id', fk());
  await qi.addColumn('user', 'gender', str(8, true));
  await qi.addColumn('user', 'work_phone', str(32, true));
  await qi.addColumn('user', 'mobile_public', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
  // full pinyin without spaces and initials; several readings separated by a space
  await qi.addColumn('user', 'pinyin', str(200, true));
  await qi.addColumn('user', 'pinyin_initials', str(100, true));
  await qi.addColumn('user', 'sort', { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 });
  await qi.addColumn('user', 'successor_id', fk());
  await qi.addIndex('user', ['name'], { name: 'user_name_ix' });
  await qi.addIndex('user', ['pinyin'], { name: 'user_pinyin_ix' });
  await qi.addIndex('user', ['pinyin_initials'], { name: 'user_initials_ix' });
  await qi.addIndex('user', ['superior_id'], { name: 'user_superior_ix' });

  await qi.createTable('user_dept', { user_id: pk(), dept_id: pk() });
  await qi.addIndex('user_dept', ['dept_id'], { name: 'user_dept_dept_ix' });

  await qi.createTable('dept_leader', { dept_id: pk(), user_id: pk(), kind: str(8), sort: int(0) });
  await qi.addIndex('dept_leader', ['user_id'], { name: 'dept_leader_user_ix' });

  await qi.createTable('leader_in_charge', { user_id: pk(), dept_id: pk() });
  await qi.addIndex('leader_in_charge', ['dept_id'], { name: 'leader_in_charge_dept_ix' });

  await qi.createTable('user_role_scope', {
    id,
    user_id: int(),
    role_id: int(),
    dept_id: int(),
    subtree: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
  });
  await qi.addIndex('user_role_scope', ['user_id', 'role_id', 'dept_id'], { unique: true, name: 'user_role_scope_uq' });
  await qi.addIndex('user_role_scope', ['role_id'], { name: 'user_role_scope_role_ix' });

  await qi.createTable('user_group', {
    id,
    name: str(100),
    owner_id: fk(),
    created_at: { type: DataTypes.DATE(3), allowNull: false },
  });
  await qi.createTable('user_group_member', { group_id: pk(), user_id: pk() });
  await qi.addIndex('user_group_member', ['user_id'], { name: 'user_group_member_user_ix' });
}
