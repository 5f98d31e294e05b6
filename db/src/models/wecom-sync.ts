import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';
import { jsonText } from '../json.ts';

// WeCom contact sync (issue 6 item 5, P4). Schema and its reasons: migrations/0011-wecom-sync.ts.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

/** A WeCom department id and the local department it stands for. */
export class WecomDeptMap extends Model<InferAttributes<WecomDeptMap>, InferCreationAttributes<WecomDeptMap>> {
  declare wecomDeptId: number;
  declare deptId: number;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export type WecomSyncKind = 'full' | 'event';
export type WecomSyncStatus = 'queued' | 'running' | 'done' | 'failed';

/** One full sync (a durable job) or one applied change_contact event, with its report. */
export class WecomSyncRun extends Model<InferAttributes<WecomSyncRun>, InferCreationAttributes<WecomSyncRun>> {
  declare id: CreationOptional<number>;
  declare kind: WecomSyncKind;
  declare status: WecomSyncStatus;
  declare dryRun: CreationOptional<boolean>;
  declare options: Record<string, unknown> | null;
  declare phase: string | null;
  declare percent: CreationOptional<number>;
  declare requestedBy: number | null;
  declare dedupeKey: string | null;
  declare changes: CreationOptional<number>;
  declare conflicts: CreationOptional<number>;
  declare apiCalls: CreationOptional<number>;
  declare report: Record<string, unknown> | null;
  declare error: string | null;
  declare startedAt: Date | null;
  declare finishedAt: Date | null;
  declare createdAt: CreationOptional<Date>;
}

export interface WecomSyncModels {
  WecomDeptMap: typeof WecomDeptMap;
  WecomSyncRun: typeof WecomSyncRun;
}

export function defineWecomSyncModels(sequelize: Sequelize): WecomSyncModels {
  class WecomDeptMapM extends WecomDeptMap {}
  class WecomSyncRunM extends WecomSyncRun {}
  const common = { sequelize, underscored: true, freezeTableName: true } as const;
  const int = (defaultValue: number) => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue });

  WecomDeptMapM.init(
    {
      wecomDeptId: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
      deptId: { type: DataTypes.INTEGER, allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
      updatedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    { ...common, tableName: 'wecom_dept_map' },
  );
  WecomSyncRunM.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      kind: { type: DataTypes.STRING(16), allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      dryRun: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      options: jsonText<Record<string, unknown>>('options'),
      phase: { type: DataTypes.STRING(100), allowNull: true },
      percent: int(0),
      requestedBy: { type: DataTypes.INTEGER, allowNull: true },
      dedupeKey: { type: DataTypes.STRING(100), allowNull: true },
      changes: int(0),
      conflicts: int(0),
      apiCalls: int(0),
      report: { ...jsonText<Record<string, unknown>>('report'), type: sequelize.getDialect() === 'sqlite' ? DataTypes.TEXT : DataTypes.TEXT('long') },
      error: { type: DataTypes.STRING(2000), allowNull: true },
      startedAt: { type: DataTypes.DATE(3), allowNull: true },
      finishedAt: { type: DataTypes.DATE(3), allowNull: true },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    { ...common, tableName: 'wecom_sync_run', updatedAt: false },
  );
  return { WecomDeptMap: WecomDeptMapM, WecomSyncRun: WecomSyncRunM };
}
