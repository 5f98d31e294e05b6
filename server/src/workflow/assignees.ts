import type { Database, Transaction } from '@oa/db';
import {
  deptHeads,
  directSuperior,
  groupMembers,
  headOfInitiatorDept,
  leadersInCharge,
  levelsUp,
  usersWithPost,
  usersWithRole,
  type DeptFilter,
  type Resolved,
} from '../org/resolvers.ts';
import type { AssigneeRule } from './definition.ts';

/**
 * Turns a node's assignee rules into people (R3.1), through the organisation resolvers of issue 3.
 * Rules are a union in order, duplicates removed; only active people come back. `explain` says in
 * Chinese how each rule resolved, for the history and for the designer's preview.
 */

export interface AssigneeContext {
  initiatorId: number;
  initiatorDeptId: number | null;
  /** who completed the previous step (the initiator right after submitting) */
  previousId: number | null;
  formData: Record<string, unknown>;
  /** people chosen by the initiator or the previous handler for this node */
  chosen: number[] | undefined;
  transaction: Transaction;
}

const ids = (v: unknown): number[] => {
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x)).filter((x): x is number => Number.isInteger(x) && (x as number) > 0);
};

async function activeOnly(db: Database, userIds: number[], t: Transaction): Promise<number[]> {
  if (!userIds.length) return [];
  const rows = await db.models.User.findAll({ where: { id: userIds, status: 'active' }, attributes: ['id'], raw: true, transaction: t });
  const ok = new Set(rows.map((r) => r.id));
  return userIds.filter((id) => ok.has(id));
}

async function deptOfUser(db: Database, userId: number, t: Transaction): Promise<number | null> {
  const u = await db.models.User.findByPk(userId, { attributes: ['deptId'], raw: true, transaction: t });
  return u?.deptId ?? null;
}

async function scopeFilter(rule: { scope?: { deptId?: number; initiatorDept?: boolean; subtree: boolean } }, c: AssigneeContext): Promise<DeptFilter> {
  if (!rule.scope) return {};
  const deptId = rule.scope.initiatorDept ? (c.initiatorDeptId ?? undefined) : rule.scope.deptId;
  return deptId === undefined ? {} : { deptId, subtree: rule.scope.subtree };
}

async function resolveOne(db: Database, rule: AssigneeRule, c: AssigneeContext): Promise<Resolved> {
  const o = { transaction: c.transaction };
  /** the person a relative rule starts from, or for `field`, the field's value */
  const personOf = (of: 'initiator' | 'previous' | 'field', field?: string): number | null => {
    if (of === 'initiator') return c.initiatorId;
    if (of === 'previous') return c.previousId ?? c.initiatorId;
    return ids(c.formData[field ?? ''])[0] ?? null;
  };
  switch (rule.kind) {
    case 'person':
      return { userIds: await activeOnly(db, rule.userIds, c.transaction), explain: '指定人员' };
    case 'role':
      return usersWithRole(db, rule.roleCode, await scopeFilter(rule, c), o);
    case 'post':
      return usersWithPost(db, rule.postId, await scopeFilter(rule, c), o);
    case 'deptHead': {
      if (rule.of === 'field') {
        const dept = ids(c.formData[rule.field ?? ''])[0];
        return dept ? deptHeads(db, dept, o) : { userIds: [], explain: `表单字段 ${rule.field} 未填写部门` };
      }
      return headOfInitiatorDept(db, personOf(rule.of)!, o);
    }
    case 'superior': {
      const p = personOf(rule.of, rule.field);
      return p ? directSuperior(db, p, o) : { userIds: [], explain: `表单字段 ${rule.field} 未填写人员` };
    }
    case 'levelsUp': {
      const p = personOf(rule.of, rule.field);
      if (!p) return { userIds: [], explain: `表单字段 ${rule.field} 未填写人员` };
      return levelsUp(db, p, { ...(rule.levels !== undefined ? { levels: rule.levels } : {}), ...(rule.untilRank !== undefined ? { untilRank: rule.untilRank } : {}), ...o });
    }
    case 'leaderInCharge': {
      let dept: number | null;
      if (rule.of === 'field') dept = ids(c.formData[rule.field ?? ''])[0] ?? null;
      else if (rule.of === 'initiator') dept = c.initiatorDeptId;
      else dept = await deptOfUser(db, personOf('previous')!, c.transaction);
      return dept ? leadersInCharge(db, dept, o) : { userIds: [], explain: '没有可用的部门' };
    }
    case 'initiator':
      return { userIds: await activeOnly(db, [c.initiatorId], c.transaction), explain: '发起人本人' };
    case 'initiatorChooses':
    case 'previousChooses':
      return { userIds: await activeOnly(db, c.chosen ?? [], c.transaction), explain: rule.kind === 'initiatorChooses' ? '发起人选择' : '上一步处理人选择' };
    case 'field':
      return { userIds: await activeOnly(db, ids(c.formData[rule.field]), c.transaction), explain: `表单字段 ${rule.field}` };
    case 'group':
      return groupMembers(db, rule.groupId, o);
  }
}

export async function resolveAssignees(db: Database, rules: AssigneeRule[], c: AssigneeContext): Promise<{ userIds: number[]; explain: string }> {
  const out: number[] = [];
  const why: string[] = [];
  for (const r of rules) {
    const res = await resolveOne(db, r, c);
    why.push(res.explain);
    for (const id of res.userIds) if (!out.includes(id)) out.push(id);
  }
  return { userIds: out, explain: why.join('；') };
}

/** Whether a node lets a person pick its handlers (the start form or the previous step asks for them). */
export function chooser(rules: AssigneeRule[]): 'initiator' | 'previous' | null {
  const r = rules[0];
  if (r?.kind === 'initiatorChooses') return 'initiator';
  if (r?.kind === 'previousChooses') return 'previous';
  return null;
}
