/**
 * Client-side mirror of the server's process definition (server/src/workflow/definition.ts, R3.1):
 * the graph JSON the designer edits. Kept structurally identical so a definition read from
 * GET /workflow/processes/:id can be written back unchanged.
 */

export const NODE_TYPES = ['start', 'approval', 'handle', 'cc', 'exclusive', 'parallel', 'inclusive', 'action', 'timer', 'subprocess', 'end'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const NODE_TYPE_NAMES: Record<NodeType, string> = {
  start: '发起',
  approval: '审批',
  handle: '办理',
  cc: '抄送/知会',
  exclusive: '条件分支',
  parallel: '并行分支',
  inclusive: '包容分支',
  action: '自动操作',
  timer: '延时',
  subprocess: '子流程',
  end: '结束',
};

export const TASK_ACTIONS = ['approve', 'reject', 'return', 'transfer', 'addSign', 'withdraw', 'urge', 'comment'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];
export const TASK_ACTION_NAMES: Record<TaskAction, string> = {
  approve: '同意',
  reject: '驳回',
  return: '退回',
  transfer: '转签',
  addSign: '加签',
  withdraw: '撤回',
  urge: '催办',
  comment: '评论',
};

export type Subject = 'initiator' | 'previous' | 'field';
export interface Scope {
  deptId?: number;
  initiatorDept?: boolean;
  subtree?: boolean;
}

export type AssigneeRule =
  | { kind: 'person'; userIds: number[] }
  | { kind: 'role'; roleCode: string; scope?: Scope }
  | { kind: 'post'; postId: number; scope?: Scope }
  | { kind: 'deptHead'; of: Subject; field?: string }
  | { kind: 'superior'; of: Subject; field?: string }
  | { kind: 'levelsUp'; of: Subject; field?: string; levels?: number; untilRank?: number }
  | { kind: 'leaderInCharge'; of: Subject; field?: string }
  | { kind: 'initiator' }
  | { kind: 'initiatorChooses'; multiple?: boolean }
  | { kind: 'previousChooses'; multiple?: boolean }
  | { kind: 'field'; field: string }
  | { kind: 'group'; groupId: number };
export type AssigneeKind = AssigneeRule['kind'];

export const ASSIGNEE_KIND_NAMES: Record<AssigneeKind, string> = {
  person: '指定人员',
  role: '角色',
  post: '岗位',
  deptHead: '部门负责人',
  superior: '直接上级',
  levelsUp: '逐级上级',
  leaderInCharge: '分管领导',
  initiator: '发起人本人',
  initiatorChooses: '发起人自选',
  previousChooses: '上一步处理人指定',
  field: '表单中的人员字段',
  group: '人员组',
};

export const SUBJECT_NAMES: Record<Subject, string> = { initiator: '发起人', previous: '上一步处理人', field: '表单字段中的人员/部门' };

export type FieldPermission = 'editable' | 'readonly' | 'hidden';

export interface Timeout {
  remindTimes?: number;
  remindEveryHours?: number;
  then?: 'none' | 'escalate' | 'autoApprove' | 'autoReject';
}

interface Common {
  id: string;
  name: string;
}

export interface HumanProps {
  assignees?: AssigneeRule[];
  mode?: 'any' | 'all' | 'ratio' | 'sequential';
  ratio?: number;
  onEmpty?: 'skip' | 'admin' | 'fail';
  skipIfInitiator?: boolean;
  skipIfJustApproved?: boolean;
  rejectTo?: 'end' | 'initiator';
  actions?: TaskAction[];
  fieldPermissions?: Record<string, FieldPermission>;
  timeLimitHours?: number;
  timeout?: Timeout;
  guidance?: string;
  links?: { name: string; url: string }[];
}

export type StartNode = Common & { type: 'start'; fieldPermissions?: Record<string, FieldPermission> };
export type ApprovalNode = Common & HumanProps & { type: 'approval' };
export type HandleNode = Common & HumanProps & { type: 'handle' };
export type CcNode = Common & { type: 'cc'; assignees: AssigneeRule[]; commentable?: boolean };
export type GatewayNode = Common & { type: 'exclusive' | 'parallel' | 'inclusive' };
export type ActionNode = Common & { type: 'action'; hook: string; params?: Record<string, unknown> };
export type TimerNode = Common & { type: 'timer'; delayHours: number };
export type SubprocessNode = Common & { type: 'subprocess'; processKey: string };
export type EndNode = Common & { type: 'end' };

export type NodeDef = StartNode | ApprovalNode | HandleNode | CcNode | GatewayNode | ActionNode | TimerNode | SubprocessNode | EndNode;
export type HumanNode = ApprovalNode | HandleNode;

export interface EdgeDef {
  id: string;
  from: string;
  to: string;
  name?: string;
  condition?: string;
  isDefault?: boolean;
}

export interface ProcessDefinition {
  nodes: NodeDef[];
  edges: EdgeDef[];
  formKey?: string;
  titleTemplate?: string;
  triggers?: unknown[];
}

export function isHuman(n: NodeDef): n is HumanNode {
  return n.type === 'approval' || n.type === 'handle';
}

export const MODE_NAMES: Record<NonNullable<HumanProps['mode']>, string> = {
  any: '或签（一人同意即可）',
  all: '会签（须全部同意）',
  ratio: '按比例通过',
  sequential: '依次审批',
};
export const ON_EMPTY_NAMES: Record<NonNullable<HumanProps['onEmpty']>, string> = {
  skip: '自动跳过',
  admin: '转交流程管理员',
  fail: '不允许发起（提示错误）',
};
export const TIMEOUT_THEN_NAMES: Record<NonNullable<Timeout['then']>, string> = {
  none: '仅提醒',
  escalate: '提交给上级处理',
  autoApprove: '自动同意',
  autoReject: '自动驳回',
};

/** One-line Chinese description of an assignee rule, for node cards and the step list. */
export function describeRule(r: AssigneeRule, names: { person?: (id: number) => string; dept?: (id: number) => string } = {}): string {
  const of = (s: Subject, field?: string) => (s === 'field' ? `字段“${field ?? ''}”` : SUBJECT_NAMES[s]);
  switch (r.kind) {
    case 'person':
      return r.userIds.map((id) => names.person?.(id) ?? `#${id}`).join('、');
    case 'role':
      return `角色 ${r.roleCode}${r.scope?.deptId ? `（${names.dept?.(r.scope.deptId) ?? '#' + r.scope.deptId}）` : r.scope?.initiatorDept ? '（发起人部门）' : ''}`;
    case 'post':
      return `岗位 #${r.postId}${r.scope?.initiatorDept ? '（发起人部门）' : ''}`;
    case 'deptHead':
      return `${of(r.of, r.field)}的部门负责人`;
    case 'superior':
      return `${of(r.of, r.field)}的直接上级`;
    case 'levelsUp':
      return `${of(r.of, r.field)}的逐级上级${r.levels ? `（${r.levels} 级）` : ''}${r.untilRank !== undefined ? `（至职级 ${r.untilRank}）` : ''}`;
    case 'leaderInCharge':
      return `${of(r.of, r.field)}的分管领导`;
    case 'initiator':
      return '发起人本人';
    case 'initiatorChooses':
      return `发起人自选${r.multiple ? '（可多人）' : ''}`;
    case 'previousChooses':
      return `上一步处理人指定${r.multiple ? '（可多人）' : ''}`;
    case 'field':
      return `表单字段“${r.field}”中的人员`;
    case 'group':
      return `人员组 #${r.groupId}`;
  }
}
