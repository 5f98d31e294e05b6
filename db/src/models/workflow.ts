import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';
import { jsonText } from '../json.ts';

// Workflow engine (issue 4, R3.*): definitions, versions, instances, tokens, tasks, history.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

export type WfInstanceStatus = 'draft' | 'running' | 'completed' | 'rejected' | 'withdrawn' | 'terminated';
/** active: at a node; forked: waiting for its branches; joined: a branch waiting at its join; done / cancelled: over */
export type WfTokenStatus = 'active' | 'forked' | 'joined' | 'done' | 'cancelled';
/** pending: to do; queued: a later turn of a sequential node; waiting: behind an add-sign before it; suspended: put aside */
export type WfTaskStatus = 'pending' | 'queued' | 'waiting' | 'suspended' | 'done' | 'cancelled';
export type WfTaskKind = 'start' | 'approval' | 'handle' | 'cc' | 'addsign';
export type WfUrgency = 'normal' | 'urgent' | 'critical';

export class WfCategory extends Model<InferAttributes<WfCategory>, InferCreationAttributes<WfCategory>> {
  declare id: CreationOptional<number>;
  declare name: string;
  declare color: string | null;
  declare sort: CreationOptional<number>;
}

export class WfProcess extends Model<InferAttributes<WfProcess>, InferCreationAttributes<WfProcess>> {
  declare id: CreationOptional<number>;
  declare processKey: string;
  declare name: string;
  declare categoryId: number | null;
  declare description: string | null;
  declare draft: unknown;
  declare rev: CreationOptional<number>;
  declare latestVersion: number | null;
  declare enabled: CreationOptional<boolean>;
  declare createdBy: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class WfProcessVersion extends Model<InferAttributes<WfProcessVersion>, InferCreationAttributes<WfProcessVersion>> {
  declare id: CreationOptional<number>;
  declare processId: number;
  declare version: number;
  declare definition: unknown;
  declare note: string | null;
  declare publishedBy: number | null;
  declare publishedAt: Date;
}

export class WfInstance extends Model<InferAttributes<WfInstance>, InferCreationAttributes<WfInstance>> {
  declare id: CreationOptional<number>;
  declare processId: number;
  declare versionId: number;
  declare title: string;
  declare initiatorId: number;
  declare initiatorDeptId: number | null;
  declare status: WfInstanceStatus;
  declare suspended: CreationOptional<boolean>;
  declare urgency: WfUrgency;
  declare formData: Record<string, unknown>;
  /** the published form version the data follows (issue 5), pinned at start */
  declare formVersionId: number | null;
  /** names of the nodes now being worked on, for lists (JSON array) */
  declare currentNodes: string[] | null;
  declare restartedFrom: number | null;
  /** a sub-process (子流程): the instance and token waiting for it */
  declare parentInstanceId: CreationOptional<number | null>;
  declare parentTokenId: CreationOptional<number | null>;
  declare createdAt: Date;
  declare startedAt: Date | null;
  declare endedAt: Date | null;
  declare updatedAt: Date;
  declare rev: CreationOptional<number>;
}

export class WfToken extends Model<InferAttributes<WfToken>, InferCreationAttributes<WfToken>> {
  declare id: CreationOptional<number>;
  declare instanceId: number;
  declare nodeId: string;
  declare status: WfTokenStatus;
  declare parentId: number | null;
  declare branchEdge: string | null;
  /** for a forked token: how many branches must arrive at the join */
  declare expected: number | null;
  /** for a forked token: the edge ids of its branches (JSON array) */
  declare branches: string[] | null;
  /** direct send-back (直送): after this node is done, go straight back here */
  declare resumeNodeId: string | null;
  declare createdAt: Date;
}

export class WfTask extends Model<InferAttributes<WfTask>, InferCreationAttributes<WfTask>> {
  declare id: CreationOptional<number>;
  declare instanceId: number;
  declare tokenId: number | null;
  declare nodeId: string;
  declare nodeName: string;
  declare kind: WfTaskKind;
  declare assigneeId: number;
  /** the person this task is done for (out-of-office delegation or 委托) */
  declare onBehalfOf: number | null;
  declare status: WfTaskStatus;
  declare outcome: string | null;
  declare comment: string | null;
  declare seq: CreationOptional<number>;
  declare addMode: 'before' | 'after' | 'parallel' | null;
  declare addedBy: number | null;
  /** an add-sign before: the task waiting for this one */
  declare blockedBy: number | null;
  declare createdAt: Date;
  declare openedAt: Date | null;
  declare doneAt: Date | null;
  declare dueAt: Date | null;
  declare rev: CreationOptional<number>;
}

export class WfHistory extends Model<InferAttributes<WfHistory>, InferCreationAttributes<WfHistory>> {
  declare id: CreationOptional<number>;
  declare instanceId: number;
  declare at: Date;
  declare actorId: number | null;
  declare actorName: string | null;
  declare onBehalfOf: number | null;
  declare nodeId: string | null;
  declare nodeName: string | null;
  declare taskId: number | null;
  declare action: string;
  declare comment: string | null;
  declare detail: Record<string, unknown> | null;
}

export class WfActionKey extends Model<InferAttributes<WfActionKey>, InferCreationAttributes<WfActionKey>> {
  declare userId: number;
  declare clientKey: string;
  declare instanceId: number | null;
  declare createdAt: Date;
}

export class WfDelegation extends Model<InferAttributes<WfDelegation>, InferCreationAttributes<WfDelegation>> {
  declare id: CreationOptional<number>;
  declare delegatorId: number;
  declare delegateId: number;
  declare processId: number | null;
  declare categoryId: number | null;
  declare condition: string | null;
  declare startsAt: Date;
  declare endsAt: Date;
  declare status: 'active' | 'ended';
  declare createdBy: number | null;
  declare createdAt: Date;
  declare endedAt: Date | null;
}

export interface WorkflowModels {
  WfCategory: typeof WfCategory;
  WfProcess: typeof WfProcess;
  WfProcessVersion: typeof WfProcessVersion;
  WfInstance: typeof WfInstance;
  WfToken: typeof WfToken;
  WfTask: typeof WfTask;
  WfHistory: typeof WfHistory;
  WfActionKey: typeof WfActionKey;
  WfDelegation: typeof WfDelegation;
}

const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true });
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const counter = (defaultValue: number) => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue });
const bool = (defaultValue: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });

export function defineWorkflowModels(sequelize: Sequelize): WorkflowModels {
  class WfCategoryM extends WfCategory {}
  class WfProcessM extends WfProcess {}
  class WfProcessVersionM extends WfProcessVersion {}
  class WfInstanceM extends WfInstance {}
  class WfTokenM extends WfToken {}
  class WfTaskM extends WfTask {}
  class WfHistoryM extends WfHistory {}
  class WfActionKeyM extends WfActionKey {}
  class WfDelegationM extends WfDelegation {}
  const common = { sequelize, underscored: true, freezeTableName: true, timestamps: false } as const;

  WfCategoryM.init({ id: id(), name: str(64), color: str(16, true), sort: counter(0) }, { ...common, tableName: 'wf_category' });
  WfProcessM.init(
    {
      id: id(),
      processKey: str(64),
      name: str(100),
      categoryId: int(),
      description: str(500, true),
      draft: jsonText<unknown>('draft', { allowNull: false }),
      rev: counter(1),
      latestVersion: int(),
      enabled: bool(true),
      createdBy: int(),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'wf_process', timestamps: true },
  );
  WfProcessVersionM.init(
    {
      id: id(),
      processId: int(false),
      version: int(false),
      definition: jsonText<unknown>('definition', { allowNull: false }),
      note: str(500, true),
      publishedBy: int(),
      publishedAt: date(),
    },
    { ...common, tableName: 'wf_process_version' },
  );
  WfInstanceM.init(
    {
      id: id(),
      processId: int(false),
      versionId: int(false),
      title: str(200),
      initiatorId: int(false),
      initiatorDeptId: int(),
      status: str(16),
      suspended: bool(false),
      urgency: str(16),
      formData: jsonText<Record<string, unknown>>('formData', { allowNull: false }),
      formVersionId: int(),
      currentNodes: jsonText<string[]>('currentNodes'),
      restartedFrom: int(),
      parentInstanceId: int(),
      parentTokenId: int(),
      createdAt: date(),
      startedAt: date(true),
      endedAt: date(true),
      updatedAt: date(),
      rev: counter(1),
    },
    { ...common, tableName: 'wf_instance' },
  );
  WfTokenM.init(
    {
      id: id(),
      instanceId: int(false),
      nodeId: str(64),
      status: str(16),
      parentId: int(),
      branchEdge: str(64, true),
      expected: int(),
      branches: jsonText<string[]>('branches'),
      resumeNodeId: str(64, true),
      createdAt: date(),
    },
    { ...common, tableName: 'wf_token' },
  );
  WfTaskM.init(
    {
      id: id(),
      instanceId: int(false),
      tokenId: int(),
      nodeId: str(64),
      nodeName: str(64),
      kind: str(16),
      assigneeId: int(false),
      onBehalfOf: int(),
      status: str(16),
      outcome: str(16, true),
      comment: str(2000, true),
      seq: counter(0),
      addMode: str(16, true),
      addedBy: int(),
      blockedBy: int(),
      createdAt: date(),
      openedAt: date(true),
      doneAt: date(true),
      dueAt: date(true),
      rev: counter(1),
    },
    { ...common, tableName: 'wf_task' },
  );
  WfHistoryM.init(
    {
      id: id(),
      instanceId: int(false),
      at: date(),
      actorId: int(),
      actorName: str(64, true),
      onBehalfOf: int(),
      nodeId: str(64, true),
      nodeName: str(64, true),
      taskId: int(),
      action: str(32),
      comment: str(2000, true),
      detail: jsonText<Record<string, unknown>>('detail'),
    },
    { ...common, tableName: 'wf_history' },
  );
  WfActionKeyM.init(
    {
      userId: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
      clientKey: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
      instanceId: int(),
      createdAt: date(),
    },
    { ...common, tableName: 'wf_action_key' },
  );
  WfDelegationM.init(
    {
      id: id(),
      delegatorId: int(false),
      delegateId: int(false),
      processId: int(),
      categoryId: int(),
      condition: str(2000, true),
      startsAt: date(),
      endsAt: date(),
      status: str(16),
      createdBy: int(),
      createdAt: date(),
      endedAt: date(true),
    },
    { ...common, tableName: 'wf_delegation' },
  );
  return {
    WfCategory: WfCategoryM,
    WfProcess: WfProcessM,
    WfProcessVersion: WfProcessVersionM,
    WfInstance: WfInstanceM,
    WfToken: WfTokenM,
    WfTask: WfTaskM,
    WfHistory: WfHistoryM,
    WfActionKey: WfActionKeyM,
    WfDelegation: WfDelegationM,
  };
}
