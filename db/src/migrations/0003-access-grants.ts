import { DataTypes, type QueryInterface } from 'sequelize';

// Access control (issue 3 item 8, ARCHITECTURE principle 4): per-resource grants and the resource
// tree they are inherited down. Frozen once published.
//
// access_grant: who (subject_type + subject_id, `subtree` for departments; everyone has
// subject_id 0 so the unique index holds) may or may not (effect allow | deny) do what (action) on
// which resource (resource_type + resource_id, a string: modules key resources their own way).
// resource_node: the parent of a resource (folder → document, department → folder); departments
// need no rows here, their tree is the department path.
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
// a fresh object per column: definitions get mutated when used
const pkStr = (len: number) => ({ type: DataTypes.STRING(len), primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('access_grant', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false },
    resource_type: str(64),
    resource_id: str(64),
    subject_type: str(16),
    subject_id: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    subtree: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    action: str(64),
    effect: str(8),
    created_at: { type: DataTypes.DATE(3), allowNull: false },
    created_by: { type: DataTypes.INTEGER, allowNull: true },
  });
  await qi.addIndex('access_grant', ['resource_type', 'resource_id', 'action', 'subject_type', 'subject_id', 'subtree'], { unique: true, name: 'access_grant_uq' });
  await qi.addIndex('access_grant', ['subject_type', 'subject_id'], { name: 'access_grant_subject_ix' });

  await qi.createTable('resource_node', {
    resource_type: pkStr(64),
    resource_id: pkStr(64),
    parent_type: str(64),
    parent_id: str(64),
  });
  await qi.addIndex('resource_node', ['parent_type', 'parent_id'], { name: 'resource_node_parent_ix' });
}
