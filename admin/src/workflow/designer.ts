import type { InjectionKey, Ref } from 'vue';
import type { ValidationIssue } from '../api/types.ts';
import type { NodeDef } from './definition.ts';
import type { BlockItem, Branch, NewItemType, Sequence } from './tree.ts';

/** What the designer's panel is editing (R3.1 side panel). */
export type Selection = { kind: 'node'; node: NodeDef } | { kind: 'branch'; block: BlockItem; branch: Branch; index: number } | null;

/** Shared by the recursive node-tree components (provide/inject instead of event chains). */
export interface DesignerContext {
  readonly: boolean;
  selection: Ref<Selection>;
  select(s: Selection): void;
  insert(seq: Sequence, index: number, type: NewItemType): void;
  remove(seq: Sequence, index: number): void;
  addBranch(block: BlockItem): void;
  removeBranch(block: BlockItem, index: number): void;
  moveBranch(block: BlockItem, index: number, delta: -1 | 1): void;
  /** validation issues (POST …/validate) shown on the nodes and branch conditions */
  issuesOf(id: string | undefined): ValidationIssue[];
  /** one-line text of who handles a node */
  summary(node: NodeDef): string;
  /** nodes highlighted (monitoring: the current nodes) */
  active: Ref<Set<string>>;
}

export const DESIGNER: InjectionKey<DesignerContext> = Symbol('designer');

export const ADD_MENU: { type: NewItemType; label: string; color: string; hint: string }[] = [
  { type: 'approval', label: '审批人', color: '#ff943e', hint: '审批同意后继续' },
  { type: 'handle', label: '办理人', color: '#7c5cff', hint: '办理、盖章、备案' },
  { type: 'cc', label: '抄送人', color: '#3296fa', hint: '通知相关人员阅读' },
  { type: 'exclusive', label: '条件分支', color: '#15bc83', hint: '按条件走其中一条' },
  { type: 'parallel', label: '并行分支', color: '#718dff', hint: '多条同时进行' },
  { type: 'inclusive', label: '包容分支', color: '#2bb6c4', hint: '满足条件的都进行' },
  { type: 'action', label: '自动操作', color: '#909399', hint: '归档、通知等' },
  { type: 'timer', label: '延时等待', color: '#e6a23c', hint: '等待一段时间' },
  { type: 'subprocess', label: '子流程', color: '#b37feb', hint: '发起另一个流程' },
];

export const NODE_COLORS: Record<string, string> = {
  start: '#576a95',
  approval: '#ff943e',
  handle: '#7c5cff',
  cc: '#3296fa',
  exclusive: '#15bc83',
  parallel: '#718dff',
  inclusive: '#2bb6c4',
  action: '#909399',
  timer: '#e6a23c',
  subprocess: '#b37feb',
  end: '#909399',
};

export const HOOKS: { value: string; label: string }[] = [
  { value: 'archive', label: '自动归档' },
  { value: 'notify', label: '自动通知' },
];
