import { DataTypes, type QueryInterface } from 'sequelize';

// Workflow engine (issue 4, R3.*). Frozen once published.
//
// wf_process holds the editable draft; publishing copies it into an immutable wf_process_version
// (R3.7, R16.5). An instance runs on one version. Its execution state is a set of tokens (one per
// concurrently active path; a token that forks into parallel branches waits as their parent), the
// tasks people act on hang off tokens, and wf_history is the append-only trail. wf_action_key makes
// every action idempotent per person and client key.
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
const bool = (defaultValue: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('wf_category', { id: id(), name: str(64), color: str(16, true), sort: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 } });
  await qi.addIndex('wf_category', ['name'], { unique: true, name: 'wf_category_name_uq' });

  await qi.createTable('wf_process', {
    id: id(),
    process_key: str(64),
    name: str(100),
    category_id: int(),
    description: str(500, true),
    draft: text(false),
    rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    latest_version: int(),
    enabled: bool(true),
    created_by: int(),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('wf_process', ['process_key'], { unique: true, name: 'wf_process_key_uq' });

  await qi.createTable('wf_process_version', {
    id: id(),
    process_id: int(false),
    version: int(false),
    definition: text(false),
    note: str(500, true),
    published_by: int(),
    published_at: date(),
  });
  await qi.addIndex('wf_process_version', ['process_id', 'version'], { unique: true, name: 'wf_process_version_uq' });

  await qi.createTable('wf_instance', {
    id: id(),
    process_id: int(false),
    version_id: int(false),
    title: str(200),
    initiator_id: int(false),
    initiator_dept_id: int(),
    status: str(16),
    suspended: bool(false),
    urgency: str(16),
    form_data: text(false),
    form_version_id: int(),
    current_nodes: str(500, true),
    restarted_from: int(),
    parent_instance_id: int(),
    parent_token_id: int(),
    created_at: date(),
    started_at: date(true),
    ended_at: date(true),
    updated_at: date(),
    rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
  });
  await qi.addIndex('wf_instance', ['initiator_id', 'status'], { name: 'wf_instance_initiator_ix' });
  await qi.addIndex('wf_instance', ['status', 'process_id'], { name: 'wf_instance_status_ix' });
  await qi.addIndex('wf_instance', ['created_at'], { name: 'wf_instance_created_ix' });
  await qi.addIndex('wf_instance', ['parent_instance_id'], { name: 'wf_instance_parent_ix' });

  await qi.createTable('wf_token', {
    id: id(),
    instance_id: int(false),
    node_id: str(64),
    status: str(16),
    parent_id: int(),
    branch_edge: str(64, true),
    expected: int(),
    branches: text(),
    resume_node_id: str(64, true),
    created_at: date(),
  });
  await qi.addIndex('wf_token', ['instance_id', 'status'], { name: 'wf_token_instance_ix' });

  await qi.createTable('wf_task', {
    id: id(),
    instance_id: int(false),
    token_id: int(),
    node_id: str(64),
    node_name: str(64),
    kind: str(16),
    assignee_id: int(false),
    on_behalf_of: int(),
    status: str(16),
    outcome: str(16, true),
    comment: str(2000, true),
    seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    add_mode: str(16, true),
    added_by: int(),
    blocked_by: int(),
    created_at: date(),
    opened_at: date(true),
    done_at: date(true),
    due_at: date(true),
    rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
  });
  await qi.addIndex('wf_task', ['assignee_id', 'status'], { name: 'wf_task_assignee_ix' });
  await qi.addIndex('wf_task', ['instance_id'], { name: 'wf_task_instance_ix' });

  await qi.createTable('wf_history', {
    id: id(),
    instance_id: int(false),
    at: date(),
    actor_id: int(),
    actor_name: str(64, true),
    on_behalf_of: int(),
    node_id: str(64, true),
    node_name: str(64, true),
    task_id: int(),
    action: str(32),
    comment: str(2000, true),
    detail: text(),
  });
  await qi.addIndex('wf_history', ['instance_id', 'id'], { name: 'wf_history_instance_ix' });

  await qi.createTable('wf_action_key', {
    user_id: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
    client_key: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    instance_id: int(),
    created_at: date(),
  });

  await qi.createTable('wf_delegation', {
    id: id(),
    delegator_id: int(false),
    delegate_id: int(false),
    process_id: int(),
    category_id: int(),
    condition: str(2000, true),
    starts_at: date(),
    ends_at: date(),
    status: str(16),
    created_by: int(),
    created_at: date(),
    ended_at: date(true),
  });
  await qi.addIndex('wf_delegation', ['delegator_id', 'status'], { name: 'wf_delegation_delegator_ix' });
  await qi.addIndex('wf_delegation', ['status', 'ends_at'], { name: 'wf_delegation_ends_ix' });
}
