import {
  DataTypes,
  Model,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import { jsonText } from '../json.ts';
import { nameSearchKeys } from '../pinyin.ts';
import { definePersonnelModels, type PersonnelModels } from './personnel.ts';
import { defineAddressBookModels, type AddressBookModels } from './address-book.ts';
import { defineWorkflowModels, type WorkflowModels } from './workflow.ts';
import { defineFormModels, type FormModels } from './forms.ts';
import { defineWecomModels, type WecomModels } from './wecom.ts';
import { defineWecomSyncModels, type WecomSyncModels } from './wecom-sync.ts';

export * from './personnel.ts';
export * from './address-book.ts';
export * from './workflow.ts';
export * from './forms.ts';
export * from './wecom.ts';
export * from './wecom-sync.ts';

// Models mirror the tables created by the numbered migrations; migrations are the source of truth
// for the schema, models only describe how the application reads and writes it.

export type DeptKind = 'clinical' | 'medtech' | 'admin' | 'logistics';
export type UserStatus = 'active' | 'disabled';

export class Campus extends Model<InferAttributes<Campus>, InferCreationAttributes<Campus>> {
  declare id: CreationOptional<number>;
  declare code: string;
  declare name: string;
  declare sort: CreationOptional<number>;
}

export class Department extends Model<InferAttributes<Department>, InferCreationAttributes<Department>> {
  declare id: CreationOptional<number>;
  declare code: string;
  declare name: string;
  declare parentId: number | null;
  declare campusId: number | null;
  declare kind: DeptKind;
  declare sort: CreationOptional<number>;
  declare enabled: CreationOptional<boolean>;
  /** ids from the root down to this department, `/1/5/9/`: subtree = path prefix */
  declare path: CreationOptional<string>;
  /** depth below the root (root = 0) */
  declare level: CreationOptional<number>;
}

export type TitleGrade = 'senior' | 'vice_senior' | 'intermediate' | 'junior';

/** 职称: professional title (主任医师, 主管护师 …). */
export class Title extends Model<InferAttributes<Title>, InferCreationAttributes<Title>> {
  declare id: CreationOptional<number>;
  declare code: string;
  declare name: string;
  declare grade: TitleGrade | null;
}

/** 职务: administrative position (院长, 科主任, 护士长 …); `rank` orders them for 逐级 rules. */
export class Position extends Model<InferAttributes<Position>, InferCreationAttributes<Position>> {
  declare id: CreationOptional<number>;
  declare code: string;
  declare name: string;
  declare rank: CreationOptional<number>;
}

export class Post extends Model<InferAttributes<Post>, InferCreationAttributes<Post>> {
  declare id: CreationOptional<number>;
  declare code: string;
  declare name: string;
}

export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<number>;
  /** NFKC-normalised, lower case: unique across the organisation (IA-1). */
  declare username: string;
  declare employeeNo: string | null;
  declare name: string;
  declare deptId: ForeignKey<number> | null;
  declare postId: ForeignKey<number> | null;
  declare mobile: string | null;
  declare email: string | null;
  declare wecomUserId: string | null;
  declare passwordHash: string | null;
  declare passwordChangedAt: Date | null;
  declare mustChangePassword: CreationOptional<boolean>;
  declare failedCount: CreationOptional<number>;
  declare lockedUntil: Date | null;
  declare status: CreationOptional<UserStatus>;
  declare titleId: number | null;
  declare positionId: number | null;
  /** explicit direct superior; when null it is derived from the department head chain */
  declare superiorId: number | null;
  declare gender: string | null;
  declare workPhone: string | null;
  /** whether colleagues may see the personal mobile in the address book */
  declare mobilePublic: CreationOptional<boolean>;
  /** search keys, maintained from `name` by a hook */
  declare pinyin: CreationOptional<string | null>;
  declare pinyinInitials: CreationOptional<string | null>;
  declare sort: CreationOptional<number>;
  /** who took over this person's open work when they were disabled */
  declare successorId: number | null;
  declare version: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class Role extends Model<InferAttributes<Role>, InferCreationAttributes<Role>> {
  declare id: CreationOptional<number>;
  declare code: string;
  declare name: string;
  declare permissions: string[];
  declare builtin: CreationOptional<boolean>;
}

export class UserRole extends Model<InferAttributes<UserRole>, InferCreationAttributes<UserRole>> {
  declare userId: number;
  declare roleId: number;
}

export class PasswordHistory extends Model<InferAttributes<PasswordHistory>, InferCreationAttributes<PasswordHistory>> {
  declare id: CreationOptional<number>;
  declare userId: number;
  declare hash: string;
  declare createdAt: Date;
}

export class Session extends Model<InferAttributes<Session>, InferCreationAttributes<Session>> {
  /** SHA-256 of the cookie token: a leaked table does not yield usable sessions. */
  declare id: string;
  declare userId: number;
  declare csrfToken: string;
  declare createdAt: Date;
  declare lastSeenAt: Date;
  declare expiresAt: Date;
  declare ip: string | null;
  declare userAgent: string | null;
}

export type LoginResult = 'success' | 'failure' | 'locked' | 'rate_limited' | 'disabled' | 'logout';

export class LoginLog extends Model<InferAttributes<LoginLog>, InferCreationAttributes<LoginLog>> {
  declare id: CreationOptional<number>;
  declare at: Date;
  declare username: string;
  declare userId: number | null;
  declare ip: string | null;
  declare userAgent: string | null;
  declare result: LoginResult;
  declare reason: string | null;
}

export class AuditLog extends Model<InferAttributes<AuditLog>, InferCreationAttributes<AuditLog>> {
  declare seq: number;
  declare at: Date;
  declare actorId: number | null;
  declare actorName: string | null;
  declare ip: string | null;
  declare requestId: string | null;
  declare action: string;
  declare objectType: string | null;
  declare objectId: string | null;
  declare result: string;
  /** canonical JSON text (before/after summary); hashed as stored */
  declare detail: string | null;
  declare prevHash: string;
  declare hash: string;
}

export class AuditHead extends Model<InferAttributes<AuditHead>, InferCreationAttributes<AuditHead>> {
  declare id: number;
  declare seq: number;
  declare hash: string;
}

export type JobStatus = 'pending' | 'running' | 'done' | 'dead';

export class Job extends Model<InferAttributes<Job>, InferCreationAttributes<Job>> {
  declare id: CreationOptional<number>;
  declare kind: string;
  declare dedupeKey: string | null;
  declare runAt: Date;
  declare payload: unknown;
  declare status: CreationOptional<JobStatus>;
  declare attempts: CreationOptional<number>;
  declare maxAttempts: CreationOptional<number>;
  declare leaseOwner: string | null;
  declare leaseUntil: Date | null;
  declare lastError: string | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export type OutboxStatus = 'pending' | 'sent' | 'dead';

export class Outbox extends Model<InferAttributes<Outbox>, InferCreationAttributes<Outbox>> {
  declare id: CreationOptional<number>;
  declare channel: string;
  declare recipient: string;
  declare payload: unknown;
  declare idempotencyKey: string;
  declare status: CreationOptional<OutboxStatus>;
  declare attempts: CreationOptional<number>;
  declare nextAttemptAt: Date;
  declare leaseOwner: string | null;
  declare leaseUntil: Date | null;
  declare lastError: string | null;
  declare sentAt: Date | null;
  declare createdAt: CreationOptional<Date>;
}

export class InboxMessage extends Model<InferAttributes<InboxMessage>, InferCreationAttributes<InboxMessage>> {
  declare id: CreationOptional<number>;
  declare userId: number;
  declare title: string;
  declare body: string | null;
  declare link: string | null;
  declare sourceKey: string;
  declare readAt: Date | null;
  declare createdAt: Date;
}

export class StoredFile extends Model<InferAttributes<StoredFile>, InferCreationAttributes<StoredFile>> {
  declare id: CreationOptional<number>;
  declare storageName: string;
  declare originalName: string;
  declare mime: string;
  declare ext: string;
  declare size: number;
  declare sha256: string;
  declare uploaderId: number;
  declare ownerType: string | null;
  declare ownerId: string | null;
  declare createdAt: Date;
}

export class Setting extends Model<InferAttributes<Setting>, InferCreationAttributes<Setting>> {
  declare key: string;
  declare value: unknown;
  declare updatedAt: Date;
  declare updatedBy: number | null;
}

export class RateCounter extends Model<InferAttributes<RateCounter>, InferCreationAttributes<RateCounter>> {
  declare key: string;
  declare windowStart: Date;
  declare count: number;
}

/** secondary departments (兼职科室) */
export class UserDept extends Model<InferAttributes<UserDept>, InferCreationAttributes<UserDept>> {
  declare userId: number;
  declare deptId: number;
}

export type LeaderKind = 'head' | 'deputy';

export class DeptLeader extends Model<InferAttributes<DeptLeader>, InferCreationAttributes<DeptLeader>> {
  declare deptId: number;
  declare userId: number;
  declare kind: LeaderKind;
  declare sort: CreationOptional<number>;
}

/** 分管领导: a leader oversees departments */
export class LeaderInCharge extends Model<InferAttributes<LeaderInCharge>, InferCreationAttributes<LeaderInCharge>> {
  declare userId: number;
  declare deptId: number;
}

/** a role held only for some departments (with or without their subtrees) */
export class UserRoleScope extends Model<InferAttributes<UserRoleScope>, InferCreationAttributes<UserRoleScope>> {
  declare id: CreationOptional<number>;
  declare userId: number;
  declare roleId: number;
  declare deptId: number;
  declare subtree: CreationOptional<boolean>;
}

/** 自定义角色组: a named set of people; shared when ownerId is null, else personal */
export class UserGroup extends Model<InferAttributes<UserGroup>, InferCreationAttributes<UserGroup>> {
  declare id: CreationOptional<number>;
  declare name: string;
  declare ownerId: number | null;
  declare createdAt: Date;
}

export class UserGroupMember extends Model<InferAttributes<UserGroupMember>, InferCreationAttributes<UserGroupMember>> {
  declare groupId: number;
  declare userId: number;
}

export type GrantSubjectType = 'user' | 'dept' | 'role' | 'post' | 'group' | 'everyone';
export type GrantEffect = 'allow' | 'deny';

/** A per-resource grant (access control, issue 3 item 8): subject + action + resource + effect. */
export class AccessGrant extends Model<InferAttributes<AccessGrant>, InferCreationAttributes<AccessGrant>> {
  declare id: CreationOptional<number>;
  declare resourceType: string;
  declare resourceId: string;
  declare subjectType: GrantSubjectType;
  /** 0 for everyone */
  declare subjectId: number;
  /** department subjects: the department and everything below it */
  declare subtree: CreationOptional<boolean>;
  declare action: string;
  declare effect: GrantEffect;
  declare createdAt: Date;
  declare createdBy: number | null;
}

/** The parent of a resource in the resource tree (folder → document); departments use their path. */
export class ResourceNode extends Model<InferAttributes<ResourceNode>, InferCreationAttributes<ResourceNode>> {
  declare resourceType: string;
  declare resourceId: string;
  declare parentType: string;
  declare parentId: string;
}

export type TransferStatus = 'draft' | 'approved' | 'effective' | 'cancelled' | 'failed';

/** 调动: a person's move to another department/post/position on a calendar date (Asia/Shanghai). */
export class Transfer extends Model<InferAttributes<Transfer>, InferCreationAttributes<Transfer>> {
  declare id: CreationOptional<number>;
  declare personId: number;
  declare fromDeptId: number | null;
  declare toDeptId: number;
  declare fromPostId: number | null;
  declare toPostId: number | null;
  declare fromPositionId: number | null;
  declare toPositionId: number | null;
  /** `YYYY-MM-DD`, Beijing time */
  declare effectiveDate: string;
  declare reason: string;
  declare status: TransferStatus;
  declare createdBy: number | null;
  declare approvedBy: CreationOptional<number | null>;
  declare approvedAt: CreationOptional<Date | null>;
  declare effectiveAt: CreationOptional<Date | null>;
  declare cancelledBy: CreationOptional<number | null>;
  declare cancelledAt: CreationOptional<Date | null>;
  /** why the effective-date move failed (status `failed`), in Chinese */
  declare failureReason: CreationOptional<string | null>;
  declare failedAt: CreationOptional<Date | null>;
  /** the approval instance, when approval goes through the `org-transfer` process */
  declare workflowInstanceId: CreationOptional<number | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export type InfoChangeStatus = 'pending' | 'approved' | 'rejected';

/** 信息变更: a person's request to change fields of their own file. */
export class InfoChange extends Model<InferAttributes<InfoChange>, InferCreationAttributes<InfoChange>> {
  declare id: CreationOptional<number>;
  declare userId: number;
  declare changes: Record<string, unknown>;
  /** the values the approval replaced */
  declare priorValues: CreationOptional<Record<string, unknown> | null>;
  declare reason: string | null;
  declare status: InfoChangeStatus;
  declare decidedBy: CreationOptional<number | null>;
  declare decidedAt: CreationOptional<Date | null>;
  declare decisionNote: CreationOptional<string | null>;
  declare createdAt: Date;
}

export interface Models extends PersonnelModels, AddressBookModels, WorkflowModels, FormModels, WecomModels, WecomSyncModels {
  Campus: typeof Campus;
  Department: typeof Department;
  Post: typeof Post;
  User: typeof User;
  Role: typeof Role;
  UserRole: typeof UserRole;
  PasswordHistory: typeof PasswordHistory;
  Session: typeof Session;
  LoginLog: typeof LoginLog;
  AuditLog: typeof AuditLog;
  AuditHead: typeof AuditHead;
  Job: typeof Job;
  Outbox: typeof Outbox;
  InboxMessage: typeof InboxMessage;
  StoredFile: typeof StoredFile;
  Setting: typeof Setting;
  RateCounter: typeof RateCounter;
  Title: typeof Title;
  Position: typeof Position;
  UserDept: typeof UserDept;
  DeptLeader: typeof DeptLeader;
  LeaderInCharge: typeof LeaderInCharge;
  UserRoleScope: typeof UserRoleScope;
  UserGroup: typeof UserGroup;
  UserGroupMember: typeof UserGroupMember;
  AccessGrant: typeof AccessGrant;
  ResourceNode: typeof ResourceNode;
  Transfer: typeof Transfer;
  InfoChange: typeof InfoChange;
}

// Fresh objects per attribute: Sequelize writes into the definitions it is given.
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true });
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const int = (defaultValue?: number) => ({ type: DataTypes.INTEGER, allowNull: false, ...(defaultValue !== undefined ? { defaultValue } : {}) });
const bool = (defaultValue: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });
const fk = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });

/** Models are classes bound to one Sequelize instance: tests create several databases per process. */
export function defineModels(sequelize: Sequelize): Models {
  // Each Sequelize instance needs its own subclasses; a class can be init()ed only once.
  class CampusM extends Campus {}
  class DepartmentM extends Department {}
  class PostM extends Post {}
  class UserM extends User {}
  class RoleM extends Role {}
  class UserRoleM extends UserRole {}
  class PasswordHistoryM extends PasswordHistory {}
  class SessionM extends Session {}
  class LoginLogM extends LoginLog {}
  class AuditLogM extends AuditLog {}
  class AuditHeadM extends AuditHead {}
  class JobM extends Job {}
  class OutboxM extends Outbox {}
  class InboxMessageM extends InboxMessage {}
  class StoredFileM extends StoredFile {}
  class SettingM extends Setting {}
  class RateCounterM extends RateCounter {}
  class TitleM extends Title {}
  class PositionM extends Position {}
  class UserDeptM extends UserDept {}
  class DeptLeaderM extends DeptLeader {}
  class LeaderInChargeM extends LeaderInCharge {}
  class UserRoleScopeM extends UserRoleScope {}
  class UserGroupM extends UserGroup {}
  class UserGroupMemberM extends UserGroupMember {}
  class AccessGrantM extends AccessGrant {}
  class ResourceNodeM extends ResourceNode {}
  class TransferM extends Transfer {}
  class InfoChangeM extends InfoChange {}
  const common = { sequelize, underscored: true, freezeTableName: true } as const;

  CampusM.init({ id: id(), code: str(32), name: str(100), sort: int(0) }, { ...common, tableName: 'campus', timestamps: false });
  DepartmentM.init(
    {
      id: id(),
      code: str(64),
      name: str(100),
      parentId: fk(),
      campusId: fk(),
      kind: str(16),
      sort: int(0),
      enabled: bool(true),
      path: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '/' },
      level: int(0),
    },
    { ...common, tableName: 'department', timestamps: false },
  );
  PostM.init({ id: id(), code: str(64), name: str(100) }, { ...common, tableName: 'post', timestamps: false });
  UserM.init(
    {
      id: id(),
      username: str(64),
      employeeNo: str(32, true),
      name: str(64),
      deptId: fk(),
      postId: fk(),
      mobile: str(32, true),
      email: str(128, true),
      wecomUserId: str(64, true),
      passwordHash: str(255, true),
      passwordChangedAt: date(true),
      mustChangePassword: bool(false),
      failedCount: int(0),
      lockedUntil: date(true),
      status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'active' },
      titleId: fk(),
      positionId: fk(),
      superiorId: fk(),
      gender: str(8, true),
      workPhone: str(32, true),
      mobilePublic: bool(false),
      pinyin: str(200, true),
      pinyinInitials: str(100, true),
      sort: int(0),
      successorId: fk(),
      version: int(0),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'user', timestamps: true, version: true },
  );
  RoleM.init(
    { id: id(), code: str(64), name: str(100), permissions: jsonText<string[]>('permissions', { allowNull: false }), builtin: bool(false) },
    { ...common, tableName: 'role', timestamps: false },
  );
  UserRoleM.init(
    { userId: { type: DataTypes.INTEGER, primaryKey: true }, roleId: { type: DataTypes.INTEGER, primaryKey: true } },
    { ...common, tableName: 'user_role', timestamps: false },
  );
  PasswordHistoryM.init({ id: id(), userId: int(), hash: str(255), createdAt: date() }, { ...common, tableName: 'password_history', timestamps: false });
  SessionM.init(
    {
      id: { type: DataTypes.STRING(64), primaryKey: true },
      userId: int(),
      csrfToken: str(64),
      createdAt: date(),
      lastSeenAt: date(),
      expiresAt: date(),
      ip: str(64, true),
      userAgent: str(255, true),
    },
    { ...common, tableName: 'session', timestamps: false },
  );
  LoginLogM.init(
    { id: id(), at: date(), username: str(64), userId: fk(), ip: str(64, true), userAgent: str(255, true), result: str(16), reason: str(255, true) },
    { ...common, tableName: 'login_log', timestamps: false },
  );
  AuditLogM.init(
    {
      seq: { type: DataTypes.BIGINT, primaryKey: true },
      at: date(),
      actorId: fk(),
      actorName: str(64, true),
      ip: str(64, true),
      requestId: str(64, true),
      action: str(64),
      objectType: str(64, true),
      objectId: str(64, true),
      result: str(16),
      detail: { type: DataTypes.TEXT, allowNull: true },
      prevHash: str(64),
      hash: str(64),
    },
    { ...common, tableName: 'audit_log', timestamps: false },
  );
  AuditHeadM.init(
    { id: { type: DataTypes.INTEGER, primaryKey: true }, seq: { type: DataTypes.BIGINT, allowNull: false }, hash: str(64) },
    { ...common, tableName: 'audit_head', timestamps: false },
  );
  JobM.init(
    {
      id: id(),
      kind: str(64),
      dedupeKey: str(191, true),
      runAt: date(),
      payload: jsonText<unknown>('payload'),
      status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'pending' },
      attempts: int(0),
      maxAttempts: int(5),
      leaseOwner: str(64, true),
      leaseUntil: date(true),
      lastError: { type: DataTypes.TEXT, allowNull: true },
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'job', timestamps: true },
  );
  OutboxM.init(
    {
      id: id(),
      channel: str(32),
      recipient: str(128),
      payload: jsonText<unknown>('payload', { allowNull: false }),
      idempotencyKey: str(191),
      status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'pending' },
      attempts: int(0),
      nextAttemptAt: date(),
      leaseOwner: str(64, true),
      leaseUntil: date(true),
      lastError: { type: DataTypes.TEXT, allowNull: true },
      sentAt: date(true),
      createdAt: date(),
    },
    { ...common, tableName: 'outbox', timestamps: true, updatedAt: false },
  );
  InboxMessageM.init(
    {
      id: id(),
      userId: int(),
      title: str(200),
      body: { type: DataTypes.TEXT, allowNull: true },
      link: str(500, true),
      sourceKey: str(191),
      readAt: date(true),
      createdAt: date(),
    },
    { ...common, tableName: 'inbox_message', timestamps: false },
  );
  StoredFileM.init(
    {
      id: id(),
      storageName: str(64),
      originalName: str(255),
      mime: str(128),
      ext: str(16),
      size: { type: DataTypes.BIGINT, allowNull: false },
      sha256: str(64),
      uploaderId: int(),
      ownerType: str(64, true),
      ownerId: str(64, true),
      createdAt: date(),
    },
    { ...common, tableName: 'file', timestamps: false },
  );
  SettingM.init(
    {
      key: { type: DataTypes.STRING(100), primaryKey: true },
      value: jsonText<unknown>('value', { allowNull: false }),
      updatedAt: date(),
      updatedBy: fk(),
    },
    { ...common, tableName: 'setting', timestamps: false },
  );
  RateCounterM.init(
    { key: { type: DataTypes.STRING(191), primaryKey: true }, windowStart: date(), count: int(0) },
    { ...common, tableName: 'rate_counter', timestamps: false },
  );

  TitleM.init({ id: id(), code: str(64), name: str(100), grade: str(16, true) }, { ...common, tableName: 'title', timestamps: false });
  PositionM.init({ id: id(), code: str(64), name: str(100), rank: int(0) }, { ...common, tableName: 'position', timestamps: false });
  // a fresh object per attribute: Sequelize writes field names into the definition it is given
  const pk = () => ({ type: DataTypes.INTEGER, primaryKey: true });
  UserDeptM.init({ userId: pk(), deptId: pk() }, { ...common, tableName: 'user_dept', timestamps: false });
  DeptLeaderM.init({ deptId: pk(), userId: pk(), kind: str(8), sort: int(0) }, { ...common, tableName: 'dept_leader', timestamps: false });
  LeaderInChargeM.init({ userId: pk(), deptId: pk() }, { ...common, tableName: 'leader_in_charge', timestamps: false });
  UserRoleScopeM.init(
    { id: id(), userId: int(), roleId: int(), deptId: int(), subtree: bool(true) },
    { ...common, tableName: 'user_role_scope', timestamps: false },
  );
  UserGroupM.init({ id: id(), name: str(100), ownerId: fk(), createdAt: date() }, { ...common, tableName: 'user_group', timestamps: false });
  UserGroupMemberM.init({ groupId: pk(), userId: pk() }, { ...common, tableName: 'user_group_member', timestamps: false });
  AccessGrantM.init(
    {
      id: id(),
      resourceType: str(64),
      resourceId: str(64),
      subjectType: str(16),
      subjectId: int(0),
      subtree: bool(false),
      action: str(64),
      effect: str(8),
      createdAt: date(),
      createdBy: fk(),
    },
    { ...common, tableName: 'access_grant', timestamps: false },
  );
  const pkStr = () => ({ type: DataTypes.STRING(64), primaryKey: true });
  ResourceNodeM.init(
    { resourceType: pkStr(), resourceId: pkStr(), parentType: str(64), parentId: str(64) },
    { ...common, tableName: 'resource_node', timestamps: false },
  );

  TransferM.init(
    {
      id: id(),
      personId: int(),
      fromDeptId: fk(),
      toDeptId: int(),
      fromPostId: fk(),
      toPostId: fk(),
      fromPositionId: fk(),
      toPositionId: fk(),
      effectiveDate: str(10),
      reason: str(500),
      status: str(16),
      createdBy: fk(),
      approvedBy: fk(),
      approvedAt: date(true),
      effectiveAt: date(true),
      cancelledBy: fk(),
      cancelledAt: date(true),
      failureReason: str(500, true),
      failedAt: date(true),
      workflowInstanceId: { type: DataTypes.INTEGER, allowNull: true },
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'org_transfer', timestamps: true },
  );
  InfoChangeM.init(
    {
      id: id(),
      userId: int(),
      changes: jsonText<Record<string, unknown>>('changes', { allowNull: false }),
      priorValues: jsonText<Record<string, unknown> | null>('priorValues'),
      reason: str(500, true),
      status: str(16),
      decidedBy: fk(),
      decidedAt: date(true),
      decisionNote: str(500, true),
      createdAt: date(),
    },
    { ...common, tableName: 'info_change', timestamps: false },
  );

  // Search keys follow the name wherever a person is written (people search, R3.17).
  const withKeys = (u: User) => {
    if (u.changed('name') || u.pinyin === undefined || u.pinyin === null) {
      const k = nameSearchKeys(u.name);
      u.pinyin = k.pinyin;
      u.pinyinInitials = k.initials;
    }
  };
  UserM.addHook('beforeSave', (u: User) => withKeys(u));
  UserM.addHook('beforeBulkCreate', (users: User[]) => users.forEach(withKeys));
  UserM.addHook('beforeBulkUpdate', (options: { attributes?: Record<string, unknown>; fields?: string[] }) => {
    const name = options.attributes?.name;
    if (typeof name !== 'string') return;
    const k = nameSearchKeys(name);
    options.attributes!.pinyin = k.pinyin;
    options.attributes!.pinyinInitials = k.initials;
    if (options.fields) options.fields.push('pinyin', 'pinyinInitials');
  });

  return {
    Title: TitleM,
    Position: PositionM,
    UserDept: UserDeptM,
    DeptLeader: DeptLeaderM,
    LeaderInCharge: LeaderInChargeM,
    UserRoleScope: UserRoleScopeM,
    UserGroup: UserGroupM,
    UserGroupMember: UserGroupMemberM,
    Campus: CampusM,
    Department: DepartmentM,
    Post: PostM,
    User: UserM,
    Role: RoleM,
    UserRole: UserRoleM,
    PasswordHistory: PasswordHistoryM,
    Session: SessionM,
    LoginLog: LoginLogM,
    AuditLog: AuditLogM,
    AuditHead: AuditHeadM,
    Job: JobM,
    Outbox: OutboxM,
    InboxMessage: InboxMessageM,
    StoredFile: StoredFileM,
    Setting: SettingM,
    RateCounter: RateCounterM,
    AccessGrant: AccessGrantM,
    ResourceNode: ResourceNodeM,
    Transfer: TransferM,
    InfoChange: InfoChangeM,
    ...definePersonnelModels(sequelize),
    ...defineAddressBookModels(sequelize),
    ...defineWorkflowModels(sequelize),
    ...defineFormModels(sequelize),
    ...defineWecomModels(sequelize),
    ...defineWecomSyncModels(sequelize),
  };
}
