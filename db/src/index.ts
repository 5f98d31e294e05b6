export { openDatabase, type Database, type DatabaseOptions } from './database.ts';
export { migrate, schemaStatus, SchemaTooNewError, MIGRATIONS, type SchemaStatus } from './migrate.ts';
export { appendAudit, verifyAuditChain, sealAuditRow, type AuditEntry, type ChainReport, type AuditAnchor } from './audit.ts';
export { inUnitOfWork, auditStandalone, type UnitOfWork, type OutboxMessage, type Actor } from './unit-of-work.ts';
export { parseDbUrl, redactUrl, type Dialect, type DbTarget } from './url.ts';
export { jsonText, parseJsonColumn } from './json.ts';
export * from './models/index.ts';
export { Mutex } from './mutex.ts';
// Re-exported so other packages never load a second copy of sequelize (error classes must match).
export { Op, Transaction, UniqueConstraintError, ConnectionError, TimeoutError, DatabaseError, ValidationError, OptimisticLockError, fn, col, literal } from 'sequelize';
export type { InferCreationAttributes } from 'sequelize';
export { seedDemoHospital, type DemoSummary, type DemoAccount } from './seed/demo.ts';
export { nameSearchKeys } from './pinyin.ts';
