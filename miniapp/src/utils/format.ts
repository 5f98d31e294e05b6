import type { InstanceStatus, Urgency } from '../api/types';
export { formatDateTime, fenToYuan, formatSize } from '../components/form/schema';

export const STATUS_NAMES: Record<InstanceStatus, string> = {
  draft: '草稿',
  running: '审批中',
  completed: '已通过',
  rejected: '已驳回',
  withdrawn: '已撤回',
  terminated: '已终止',
};

export const STATUS_TYPES: Record<InstanceStatus, 'primary' | 'success' | 'danger' | 'warning' | 'default'> = {
  draft: 'default',
  running: 'primary',
  completed: 'success',
  rejected: 'danger',
  withdrawn: 'warning',
  terminated: 'default',
};

export const URGENCY_NAMES: Record<Urgency, string> = { normal: '普通', urgent: '紧急', critical: '特急' };

/** History actions (server WfHistory.action) in Chinese. */
export const ACTION_NAMES: Record<string, string> = {
  draft: '保存草稿',
  submit: '提交申请',
  resubmit: '重新提交',
  approve: '同意',
  propose: '拟办',
  reject: '驳回',
  return: '退回',
  transfer: '转签',
  add_sign: '加签',
  addSign: '加签',
  remove_add_sign: '撤销加签',
  read: '已阅',
  withdraw: '撤回',
  withdraw_task: '撤回同意',
  urge: '催办',
  suspend: '挂起',
  resume: '恢复',
  task_suspend: '挂起任务',
  task_resume: '恢复任务',
  terminate: '终止',
  jump: '跳转',
  reassign: '改派',
  delegate: '委托',
  distribute: '分发',
  timeout: '超时',
  escalate: '超时上报',
  auto_approve: '自动同意',
  auto_reject: '自动驳回',
  skip: '自动跳过',
  end: '结束',
  complete: '办结',
  cc: '抄送',
  archived: '归档',
  auto_action: '自动操作',
  auto_urge: '自动催办',
  direct_return: '直送退回人',
  escalate_failed: '超时上报失败',
  rejected_to_initiator: '驳回至发起人',
  subprocess_start: '发起子流程',
  subprocess_end: '子流程结束',
  subprocess_rejected: '子流程被驳回',
  timer_fired: '定时到期',
  withdraw_request: '撤回申请',
};

/** Engine bookkeeping that is not shown on the timeline. */
export const HIDDEN_HISTORY = new Set(['fork', 'join', 'branch', 'node_complete', 'timer_set', 'assign']);

export const OUTCOME_NAMES: Record<string, string> = {
  approve: '已同意',
  reject: '已驳回',
  return: '已退回',
  transfer: '已转签',
  read: '已阅',
  withdraw: '已撤回',
  cancelled: '已取消',
};

export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  const s = Math.round((now - t) / 1000);
  if (s < 60) return '刚刚';
  if (s < 3600) return `${Math.floor(s / 60)} 分钟前`;
  if (s < 86400) return `${Math.floor(s / 3600)} 小时前`;
  if (s < 86400 * 7) return `${Math.floor(s / 86400)} 天前`;
  const b = new Date(t + 8 * 3600_000);
  return `${b.getUTCMonth() + 1}月${b.getUTCDate()}日`;
}
