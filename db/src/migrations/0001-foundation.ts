import { DataTypes, Op, type QueryInterface } from 'sequelize';

/** Unique among non-null values: SQL Server treats NULLs as equal in a unique index, so filter them. */
async function uniqueWhenSet(qi: QueryInterface, table: string, column: string, name: string): Promise<void> {
  const where = qi.sequelize.getDialect() === 'mssql' ? { where: { [column]: { [Op.ne]: null } } } : {};
  await qi.addIndex(table, [column], { unique: true, name, ...where });
}

// Frozen: a published migration never changes; later changes come as new numbered files.
const id = { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false };
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const int = (defaultValue?: number) => ({ type: DataTypes.INTEGER, allowNull: false, ...(defaultValue !== undefined ? { defaultValue } : {}) });
const bool = (defaultValue: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });
const fk = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('campus', { id, code: str(32), name: str(100), sort: int(0) });
  await qi.addIndex('campus', ['code'], { unique: true, name: 'campus_code_uq' });

  await qi.createTable('department', {
    id,
    code: str(64),
    name: str(100),
    parent_id: fk(),
    campus_id: fk(),
    kind: str(16),
    sort: int(0),
    enabled: bool(true),
  });
  await qi.addIndex('department', ['code'], { unique: true, name: 'department_code_uq' });
  await qi.addIndex('department', ['parent_id'], { name: 'department_parent_ix' });

  await qi.createTable('post', { id, code: str(64), name: str(100) });
  await qi.addIndex('post', ['code'], { unique: true, name: 'post_code_uq' });

  await qi.createTable('user', {
    id,
    username: str(64),
    employee_no: str(32, true),
    name: str(64),
    dept_id: fk(),
    post_id: fk(),
    mobile: str(32, true),
    email: str(128, true),
    wecom_user_id: str(64, true),
    password_hash: str(255, true),
    password_changed_at: date(true),
    must_change_password: bool(false),
    failed_count: int(0),
    locked_until: date(true),
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'active' },
    version: int(0),
    created_at: date(),
    updated_at: date(),
  });
  await qi.addIndex('user', ['username'], { unique: true, name: 'user_username_uq' });
  await uniqueWhenSet(qi, 'user', 'employee_no', 'user_employee_no_uq');
  await uniqueWhenSet(qi, 'user', 'wecom_user_id', 'user_wecom_uq');
  await qi.addIndex('user', ['dept_id'], { name: 'user_dept_ix' });

  await qi.createTable('role', { id, code: str(64), name: str(100), permissions: text(false), builtin: bool(false) });
  await qi.addIndex('role', ['code'], { unique: true, name: 'role_code_uq' });

  await qi.createTable('user_role', {
    user_id: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
    role_id: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
  });
  await qi.addIndex('user_role', ['role_id'], { name: 'user_role_role_ix' });

  await qi.createTable('password_history', { id, user_id: int(), hash: str(255), created_at: date() });
  await qi.addIndex('password_history', ['user_id'], { name: 'password_history_user_ix' });

  await qi.createTable('session', {
    id: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    user_id: int(),
    csrf_token: str(64),
    created_at: date(),
    last_seen_at: date(),
    expires_at: date(),
    ip: str(64, true),
    user_agent: str(255, true),
  });
  await qi.addIndex('session', ['user_id'], { name: 'session_user_ix' });
  await qi.addIndex('session', ['expires_at'], { name: 'session_expires_ix' });

  await qi.createTable('login_log', {
    id,
    at: date(),
    username: str(64),
    user_id: fk(),
    ip: str(64, true),
    user_agent: str(255, true),
    result: str(16),
    reason: str(255, true),
  });
  await qi.addIndex('login_log', ['at'], { name: 'login_log_at_ix' });
  await qi.addIndex('login_log', ['user_id'], { name: 'login_log_user_ix' });

  await qi.createTable('audit_log', {
    seq: { type: DataTypes.BIGINT, primaryKey: true, allowNull: false },
    at: date(),
    actor_id: fk(),
    actor_name: str(64, true),
    ip: str(64, true),
    request_id: str(64, true),
    action: str(64),
    object_type: str(64, true),
    object_id: str(64, true),
    result: str(16),
    detail: text(),
    prev_hash: str(64),
    hash: str(64),
  });
  await qi.addIndex('audit_log', ['at'], { name: 'audit_log_at_ix' });
  await qi.addIndex('audit_log', ['actor_id'], { name: 'audit_log_actor_ix' });
  await qi.addIndex('audit_log', ['object_type', 'object_id'], { name: 'audit_log_object_ix' });
  await qi.createTable('audit_head', {
    id: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
    seq: { type: DataTypes.BIGINT, allowNull: false },
    hash: str(64),
  });
  await qi.bulkInsert('audit_head', [{ id: 1, seq: 0, hash: '0'.repeat(64) }]);

  await qi.createTable('job', {
    id,
    kind: str(64),
    dedupe_key: str(191, true),
    run_at: date(),
    payload: text(),
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'pending' },
    attempts: int(0),
    max_attempts: int(5),
    lease_owner: str(64, true),
    lease_until: date(true),
    last_error: text(),
    created_at: date(),
    updated_at: date(),
  });
  await uniqueWhenSet(qi, 'job', 'dedupe_key', 'job_dedupe_uq');
  await qi.addIndex('job', ['status', 'run_at'], { name: 'job_due_ix' });

  await qi.createTable('outbox', {
    id,
    channel: str(32),
    recipient: str(128),
    payload: text(false),
    idempotency_key: str(191),
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'pending' },
    attempts: int(0),
    next_attempt_at: date(),
    lease_owner: str(64, true),
    lease_until: date(true),
    last_error: text(),
    sent_at: date(true),
    created_at: date(),
  });
  await qi.addIndex('outbox', ['idempotency_key'], { unique: true, name: 'outbox_idem_uq' });
  await qi.addIndex('outbox', ['status', 'next_attempt_at'], { name: 'outbox_due_ix' });

  await qi.createTable('inbox_message', {
    id,
    user_id: int(),
    title: str(200),
    body: text(),
    link: str(500, true),
    source_key: str(191),
    read_at: date(true),
    created_at: date(),
  });
  await qi.addIndex('inbox_message', ['source_key'], { unique: true, name: 'inbox_source_uq' });
  await qi.addIndex('inbox_message', ['user_id', 'read_at'], { name: 'inbox_user_ix' });

  await qi.createTable('file', {
    id,
    storage_name: str(64),
    original_name: str(255),
    mime: str(128),
    ext: str(16),
    size: { type: DataTypes.BIGINT, allowNull: false },
    sha256: str(64),
    uploader_id: int(),
    owner_type: str(64, true),
    owner_id: str(64, true),
    created_at: date(),
  });
  await qi.addIndex('file', ['storage_name'], { unique: true, name: 'file_storage_uq' });
  await qi.addIndex('file', ['owner_type', 'owner_id'], { name: 'file_owner_ix' });

  await qi.createTable('setting', {
    key: { type: DataTypes.STRING(100), primaryKey: true, allowNull: false },
    value: text(false),
    updated_at: date(),
    updated_by: fk(),
  });

  await qi.createTable('rate_counter', {
    key: { type: DataTypes.STRING(191), primaryKey: true, allowNull: false },
    window_start: date(),
    count: int(0),
  });
}
