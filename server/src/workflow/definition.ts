import { z } from 'zod';
import { triggerSchema } from './triggers.ts';

/**
 * A process definition (issue 4, R3.1, R3.3): a graph of nodes and edges stored as JSON.
 *
 * Gateways follow BPMN: a gateway with several outgoing edges splits, one with several incoming
 * edges joins; one node never does both. Parallel and inclusive splits must be closed by a join of
 * the same kind (block structure, checked by graph.ts before publishing): that is what lets the
 * engine return into and out of parallel branches exactly. Exclusive gateways may branch and merge
 * freely, loops included.
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

/** Gateways and the nodes nobody acts on: never a target of "return to node". */
export const ACTIONABLE: ReadonlySet<NodeType> = new Set(['start', 'approval', 'handle']);
export const GATEWAYS: ReadonlySet<NodeType> = new Set(['exclusive', 'parallel', 'inclusive']);

export const TASK_ACTIONS = ['approve', 'reject', 'return', 'transfer', 'addSign', 'withdraw', 'urge', 'comment'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

const text = (max: number, what: string) => z.string().trim().min(1, `${what}不能为空`).max(max, `${what}不能超过 ${max} 个字符`);
const nodeId = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, '节点编号只能包含字母、数字、- 和 _，且以字母开头');
const posInt = (what: string) => z.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const fieldKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, '表单字段名不合法');

/** Whose department / superior a relative rule starts from. */
const subject = z.enum(['initiator', 'previous', 'field'], { error: '起点只能是 initiator（发起人）、previous（上一步处理人）或 field（表单字段）' });
const scope = z
  .strictObject({
    deptId: posInt('部门').optional(),
    /** the initiator's own department (resolved at run time) */
    initiatorDept: z.boolean().optional(),
    subtree: z.boolean().default(true),
  })
  .optional();

/** Who handles a node (R3.1 assignee rules). Several rules are a union, in order. */
export const assigneeRule = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('person'), userIds: z.array(posInt('人员')).min(1, '请选择人员').max(200) }),
    z.strictObject({ kind: z.literal('role'), roleCode: text(64, '角色'), scope }),
    z.strictObject({ kind: z.literal('post'), postId: posInt('岗位'), scope }),
    z.strictObject({ kind: z.literal('deptHead'), of: subject, field: fieldKey.optional() }),
    z.strictObject({ kind: z.literal('superior'), of: subject, field: fieldKey.optional() }),
    z.strictObject({
      kind: z.literal('levelsUp'),
      of: subject,
      field: fieldKey.optional(),
      levels: z.number().int().min(1, '逐级审批至少 1 级').max(10, '逐级审批最多 10 级').optional(),
      untilRank: z.number().int().min(0).optional(),
    }),
    z.strictObject({ kind: z.literal('leaderInCharge'), of: subject, field: fieldKey.optional() }),
    z.strictObject({ kind: z.literal('initiator') }),
    z.strictObject({ kind: z.literal('initiatorChooses'), multiple: z.boolean().default(false) }),
    z.strictObject({ kind: z.literal('previousChooses'), multiple: z.boolean().default(false) }),
    z.strictObject({ kind: z.literal('field'), field: fieldKey }),
    z.strictObject({ kind: z.literal('group'), groupId: posInt('人员组') }),
  ],
  { error: '审批人规则类型不支持' },
);
export type AssigneeRule = z.infer<typeof assigneeRule>;

const fieldPermissions = z.record(fieldKey, z.enum(['editable', 'readonly', 'hidden'], { error: '字段权限只能是 editable、readonly 或 hidden' }));

const timeout = z.strictObject({
  remindTimes: z.number().int().min(0).max(10).default(1),
  remindEveryHours: z.number().min(0.25).max(720).default(24),
  /** after the reminders: nothing more, hand to the superior, or decide automatically */
  then: z.enum(['none', 'escalate', 'autoApprove', 'autoReject'], { error: '超时处理只能是 none、escalate、autoApprove 或 autoReject' }).default('none'),
});

const common = { id: nodeId, name: text(64, '节点名称') };

const humanNode = {
  ...common,
  assignees: z.array(assigneeRule).max(20, '审批人规则最多 20 条').default([]),
  /** any = 或签, all = 会签, ratio = 按比例, sequential = 依次审批 */
  mode: z.enum(['any', 'all', 'ratio', 'sequential'], { error: '多人审批方式只能是 any、all、ratio 或 sequential' }).default('any'),
  ratio: z.number().gt(0, '通过比例必须大于 0').max(1, '通过比例不能大于 1').optional(),
  onEmpty: z.enum(['skip', 'admin', 'fail'], { error: '无审批人时的处理只能是 skip、admin 或 fail' }).default('fail'),
  skipIfInitiator: z.boolean().default(false),
  skipIfJustApproved: z.boolean().default(false),
  /** where a rejection goes: back to the initiator for changes, or the instance ends rejected */
  rejectTo: z.enum(['end', 'initiator'], { error: '驳回去向只能是 end 或 initiator' }).default('end'),
  actions: z.array(z.enum(TASK_ACTIONS)).optional(),
  fieldPermissions: fieldPermissions.optional(),
  timeLimitHours: z.number().gt(0).max(24 * 365).optional(),
  timeout: timeout.optional(),
  guidance: z.string().max(2000, '办理说明不能超过 2000 个字符').optional(),
  links: z.array(z.strictObject({ name: text(100, '文档名称'), url: z.string().max(500) })).max(20).optional(),
};

export const nodeSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ ...common, type: z.literal('start'), fieldPermissions: fieldPermissions.optional() }),
    z.strictObject({ ...humanNode, type: z.literal('approval') }),
    z.strictObject({ ...humanNode, type: z.literal('handle') }),
    z.strictObject({
      ...common,
      type: z.literal('cc'),
      assignees: z.array(assigneeRule).min(1, '请设置抄送人').max(20),
      /** 阅办: recipients are asked to read and may comment; it never blocks the flow */
      commentable: z.boolean().default(true),
    }),
    z.strictObject({ ...common, type: z.literal('exclusive') }),
    z.strictObject({ ...common, type: z.literal('parallel') }),
    z.strictObject({ ...common, type: z.literal('inclusive') }),
    z.strictObject({ ...common, type: z.literal('action'), hook: text(64, '自动操作'), params: z.record(z.string(), z.unknown()).optional() }),
    z.strictObject({ ...common, type: z.literal('timer'), delayHours: z.number().gt(0).max(24 * 365) }),
    z.strictObject({ ...common, type: z.literal('subprocess'), processKey: text(64, '子流程') }),
    z.strictObject({ ...common, type: z.literal('end') }),
  ],
  { error: '节点类型不支持' },
);
export type NodeDef = z.infer<typeof nodeSchema>;
export type HumanNode = Extract<NodeDef, { type: 'approval' | 'handle' }>;

export const edgeSchema = z.strictObject({
  id: nodeId,
  from: nodeId,
  to: nodeId,
  name: z.string().max(64).optional(),
  /** a safe expression over form fields and the people involved (R3.3) */
  condition: z.string().max(2000, '条件表达式不能超过 2000 个字符').optional(),
  /** the branch taken when no condition holds */
  isDefault: z.boolean().optional(),
});
export type EdgeDef = z.infer<typeof edgeSchema>;

export const definitionSchema = z.strictObject({
  nodes: z.array(nodeSchema).min(2, '流程至少需要开始和结束节点').max(500, '流程节点不能超过 500 个'),
  edges: z.array(edgeSchema).max(1000, '连线不能超过 1000 条'),
  /** the form bound to this process (issue 5); field permissions per node refer to its fields */
  formKey: z.string().max(64).optional(),
  /** title template shown in lists, e.g. `{initiator}的请假申请` */
  titleTemplate: z.string().max(200).optional(),
  /** automatic starts on a schedule or a business event (triggers.ts) */
  triggers: z.array(triggerSchema).max(20, '触发规则最多 20 条').optional(),
});
export type ProcessDefinition = z.infer<typeof definitionSchema>;

export function isHuman(n: NodeDef): n is HumanNode {
  return n.type === 'approval' || n.type === 'handle';
}
