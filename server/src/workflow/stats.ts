import ExcelJS from 'exceljs';
import { fn, col, Op, type Database, type WfInstanceStatus } from '@oa/db';
import { notFound } from '../http/errors.ts';

/**
 * Workflow statistics (issue 4 "Queries": R3.9, R3.14, R3.15): efficiency per node of a process and
 * instance counts by outcome. Portable queries only (principle 5): counts are GROUP BY with COUNT;
 * durations are differences of two timestamps, which the three databases spell differently, so
 * they are fetched and the median and 90th percentile computed here, over at most the latest
 * SAMPLE_CAP tasks per node.
 *
 * Definitions (chosen here):
 * - a node's tasks are those created in the range [from, to) on instances of the process (of one
 *   version when asked), every kind except the initiator's resubmission task (`start`);
 * - time to open = openedAt − createdAt (openedAt: the holder first showed the task, markOpened);
 *   time to act = doneAt − createdAt of tasks their holder finished (not cancelled, not escalated);
 * - median: the mean of the two middle values for an even count; p90: nearest rank;
 * - returns, add-signs, transfers, rejections: history rows at the node in the range; urges: 催办 by
 *   hand, counted at each node whose handler was reminded; timeouts: tasks at the node whose time
 *   limit passed (reminded, escalated or decided automatically), each counted once;
 * - instances by outcome: instances started (submitted) in the range, by their status now; average
 *   duration = endedAt − startedAt over the ended ones.
 */

export const SAMPLE_CAP = 10_000;
/** instance ids per IN list (SQL Server takes at most 2,100 parameters) */
const CHUNK = 1000;

export const OUTCOMES = ['running', 'completed', 'rejected', 'withdrawn', 'terminated'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Range {
  from?: Date;
  to?: Date;
}

export interface Spread {
  /** how many durations the figures are computed over */
  samples: number;
  medianMs: number | null;
  p90Ms: number | null;
}

export interface NodeStats {
  nodeId: string;
  nodeName: string;
  tasks: number;
  done: number;
  open: number;
  timeToOpen: Spread;
  timeToAct: Spread;
  returns: number;
  rejections: number;
  addSigns: number;
  transfers: number;
  urges: number;
  timeouts: number;
}

export interface OutcomeStats {
  counts: Record<Outcome, number>;
  total: number;
  /** average endedAt − startedAt per ended outcome */
  avgDurationMs: Record<Exclude<Outcome, 'running'>, number | null>;
}

export interface ProcessNodeStats {
  process: { id: number; key: string; name: string };
  version: number | null;
  range: { from: Date | null; to: Date | null };
  nodes: NodeStats[];
  instances: OutcomeStats;
}

/** 0.5 → median (mean of the middle two when even); other p → nearest rank */
export function percentile(sorted: number[], p: number): number | null {
  const n = sorted.length;
  if (!n) return null;
  if (p === 0.5) return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return sorted[Math.min(n, Math.max(1, Math.ceil(p * n))) - 1]!;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { samples: sorted.length, medianMs: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9) };
}

function chunks<T>(list: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function between(field: string, r: Range): Record<string, unknown> {
  if (!r.from && !r.to) return {};
  return { [field]: { ...(r.from ? { [Op.gte]: r.from } : {}), ...(r.to ? { [Op.lt]: r.to } : {}) } };
}

const TIMEOUT_ACTIONS = ['auto_urge', 'escalate', 'escalate_failed', 'auto_reject', 'auto_approve'];
const COUNTED_ACTIONS: Record<string, keyof Pick<NodeStats, 'returns' | 'rejections' | 'addSigns' | 'transfers'>> = {
  return: 'returns',
  reject: 'rejections',
  add_sign: 'addSigns',
  transfer: 'transfers',
};
/** a holder's own decision (escalated tasks were taken away; cancelled ones were never acted on) */
const NOT_ACTED = new Set(['cancelled', 'escalated', 'removed']);

export class WorkflowStats {
  constructor(private readonly db: Database) {}

  /** Efficiency per node (R3.15) and instance outcomes (R3.9) of one process. */
  async nodes(processId: number, opts: Range & { version?: number } = {}): Promise<ProcessNodeStats> {
    const { WfProcess, WfProcessVersion, WfInstance, WfTask, WfHistory } = this.db.models;
    const proc = await WfProcess.findByPk(processId, { attributes: ['id', 'processKey', 'name', 'latestVersion'], raw: true });
    if (!proc) throw notFound('流程不存在');
    let versionId: number | null = null;
    let defVersion = proc.latestVersion;
    if (opts.version !== undefined) {
      const v = await WfProcessVersion.findOne({ where: { processId, version: opts.version }, attributes: ['id'], raw: true });
      if (!v) throw notFound(`流程没有第 ${opts.version} 版`);
      versionId = v.id;
      defVersion = opts.version;
    }
    const range: Range = { from: opts.from, to: opts.to };

    // the node order and names of the definition, for a stable table
    const order: { id: string; name: string }[] = [];
    if (defVersion !== null) {
      const v = await WfProcessVersion.findOne({ where: { processId, version: defVersion }, attributes: ['definition'] });
      const def = v?.definition as { nodes?: { id: string; name: string; type: string }[] } | undefined;
      for (const n of def?.nodes ?? []) if (['approval', 'handle', 'cc'].includes(n.type)) order.push({ id: n.id, name: n.name });
    }

    // instances of the process (newest first), then everything else per chunk of their ids
    const instances = await WfInstance.findAll({
      where: { processId, ...(versionId ? { versionId } : {}), status: { [Op.ne]: 'draft' }, ...(range.to ? { createdAt: { [Op.lt]: range.to } } : {}) },
      attributes: ['id', 'status', 'startedAt', 'endedAt'],
      order: [['id', 'DESC']],
      raw: true,
    });
    const ids = instances.map((i) => i.id);

    const stats = new Map<string, NodeStats>();
    const at = (nodeId: string, nodeName?: string | null): NodeStats => {
      let s = stats.get(nodeId);
      if (!s) {
        s = { nodeId, nodeName: nodeName ?? nodeId, tasks: 0, done: 0, open: 0, timeToOpen: spread([]), timeToAct: spread([]), returns: 0, rejections: 0, addSigns: 0, transfers: 0, urges: 0, timeouts: 0 };
        stats.set(nodeId, s);
      }
      return s;
    };
    for (const n of order) at(n.id, n.name);
    const opened = new Map<string, number[]>();
    const acted = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, v: number) => {
      const list = m.get(k) ?? m.set(k, []).get(k)!;
      if (list.length < SAMPLE_CAP) list.push(v);
    };
    const taskWhere = (chunk: number[]) => ({ instanceId: chunk, kind: { [Op.ne]: 'start' }, ...between('createdAt', range) });

    for (const chunk of chunks(ids)) {
      // counts: GROUP BY node and status (real column names: SQL Server does not group by aliases)
      const counts = (await WfTask.findAll({
        where: taskWhere(chunk),
        attributes: ['nodeId', 'nodeName', 'status', [fn('COUNT', col('id')), 'n']],
        group: [col('node_id'), col('node_name'), col('status')],
        raw: true,
      })) as unknown as { nodeId: string; nodeName: string; status: string; n: number | string }[];
      for (const c of counts) {
        const s = at(c.nodeId, c.nodeName);
        const n = Number(c.n);
        s.tasks += n;
        if (c.status === 'done') s.done += n;
        else if (c.status !== 'cancelled') s.open += n;
      }
      // durations: the newest tasks first, until each node has SAMPLE_CAP of them
      const rows = await WfTask.findAll({
        where: { ...taskWhere(chunk), [Op.or]: [{ openedAt: { [Op.ne]: null } }, { status: 'done' }] },
        attributes: ['nodeId', 'status', 'outcome', 'createdAt', 'openedAt', 'doneAt'],
        order: [['id', 'DESC']],
        raw: true,
      });
      for (const r of rows) {
        if (r.openedAt) push(opened, r.nodeId, new Date(r.openedAt).getTime() - new Date(r.createdAt).getTime());
        if (r.status === 'done' && r.doneAt && !NOT_ACTED.has(r.outcome ?? '')) push(acted, r.nodeId, new Date(r.doneAt).getTime() - new Date(r.createdAt).getTime());
      }
      // returns, rejections, add-signs, transfers: GROUP BY node and action
      const acts = (await WfHistory.findAll({
        where: { instanceId: chunk, action: Object.keys(COUNTED_ACTIONS), nodeId: { [Op.ne]: null }, ...between('at', range) },
        attributes: ['nodeId', 'action', [fn('COUNT', col('id')), 'n']],
        group: [col('node_id'), col('action')],
        raw: true,
      })) as unknown as { nodeId: string; action: string; n: number | string }[];
      for (const a of acts) at(a.nodeId)[COUNTED_ACTIONS[a.action]!] += Number(a.n);
      // timeouts: distinct tasks with a timeout event
      const timeouts = (await WfHistory.findAll({
        where: { instanceId: chunk, action: TIMEOUT_ACTIONS, taskId: { [Op.ne]: null }, nodeId: { [Op.ne]: null }, ...between('at', range) },
        attributes: ['nodeId', [fn('COUNT', fn('DISTINCT', col('task_id'))), 'n']],
        group: [col('node_id')],
        raw: true,
      })) as unknown as { nodeId: string; n: number | string }[];
      for (const x of timeouts) at(x.nodeId).timeouts += Number(x.n);
      // urges by hand name the people reminded, not the node: each node where one of them held
      // an open task at that moment counts once
      const urges = await WfHistory.findAll({ where: { instanceId: chunk, action: 'urge', ...between('at', range) }, attributes: ['instanceId', 'at', 'detail'], raw: false });
      if (urges.length) {
        const held = await WfTask.findAll({
          where: { instanceId: [...new Set(urges.map((u) => u.instanceId))], kind: { [Op.ne]: 'cc' } },
          attributes: ['instanceId', 'nodeId', 'nodeName', 'assigneeId', 'createdAt', 'doneAt'],
          raw: true,
        });
        for (const u of urges) {
          const who = new Set(((u.detail?.userIds as unknown[]) ?? []).filter((x): x is number => typeof x === 'number'));
          const when = u.at.getTime();
          const nodes = new Map<string, string>();
          for (const h of held) {
            if (h.instanceId !== u.instanceId || !who.has(h.assigneeId)) continue;
            if (new Date(h.createdAt).getTime() > when || (h.doneAt && new Date(h.doneAt).getTime() <= when)) continue;
            nodes.set(h.nodeId, h.nodeName);
          }
          for (const [nodeId, nodeName] of nodes) at(nodeId, nodeName).urges++;
        }
      }
    }
    for (const [k, v] of opened) at(k).timeToOpen = spread(v);
    for (const [k, v] of acted) at(k).timeToAct = spread(v);

    const rank = new Map(order.map((n, i) => [n.id, i]));
    const nodes = [...stats.values()].sort((a, b) => (rank.get(a.nodeId) ?? 1e9) - (rank.get(b.nodeId) ?? 1e9) || a.nodeId.localeCompare(b.nodeId));
    const started = instances.filter((i) => i.startedAt && (!range.from || new Date(i.startedAt) >= range.from) && (!range.to || new Date(i.startedAt) < range.to));
    return {
      process: { id: proc.id, key: proc.processKey, name: proc.name },
      version: opts.version ?? null,
      range: { from: range.from ?? null, to: range.to ?? null },
      nodes,
      instances: outcomes(started),
    };
  }

  /** Counts by process and outcome of instances started in the range (R3.9). */
  async overview(range: Range = {}): Promise<{ range: { from: Date | null; to: Date | null }; items: (OutcomeStats & { process: { id: number; key: string; name: string } })[]; totals: OutcomeStats }> {
    const { WfInstance, WfProcess } = this.db.models;
    const where = { status: { [Op.ne]: 'draft' }, startedAt: { [Op.ne]: null, ...(range.from ? { [Op.gte]: range.from } : {}), ...(range.to ? { [Op.lt]: range.to } : {}) } };
    const counts = (await WfInstance.findAll({
      where,
      attributes: ['processId', 'status', [fn('COUNT', col('id')), 'n']],
      group: [col('process_id'), col('status')],
      raw: true,
    })) as unknown as { processId: number; status: WfInstanceStatus; n: number | string }[];
    // durations of the ended ones, newest first, capped per process
    const ended = await WfInstance.findAll({
      where: { ...where, endedAt: { [Op.ne]: null } },
      attributes: ['processId', 'status', 'startedAt', 'endedAt'],
      order: [['id', 'DESC']],
      raw: true,
    });
    const pids = [...new Set(counts.map((c) => c.processId))];
    const procs = new Map(pids.length ? (await WfProcess.findAll({ where: { id: pids }, attributes: ['id', 'processKey', 'name'], raw: true })).map((p) => [p.id, p]) : []);
    const durations = new Map<number, Map<string, number[]>>();
    const all = new Map<string, number[]>();
    for (const e of ended) {
      const ms = new Date(e.endedAt!).getTime() - new Date(e.startedAt!).getTime();
      const byStatus = durations.get(e.processId) ?? durations.set(e.processId, new Map()).get(e.processId)!;
      const list = byStatus.get(e.status) ?? byStatus.set(e.status, []).get(e.status)!;
      if (list.length < SAMPLE_CAP) list.push(ms);
      (all.get(e.status) ?? all.set(e.status, []).get(e.status)!).push(ms);
    }
    const items = pids
      .map((pid) => {
        const c = counts.filter((x) => x.processId === pid);
        const p = procs.get(pid);
        return { process: { id: pid, key: p?.processKey ?? '', name: p?.name ?? '' }, ...summarise(c, durations.get(pid) ?? new Map()) };
      })
      .sort((a, b) => b.total - a.total || a.process.id - b.process.id);
    return { range: { from: range.from ?? null, to: range.to ?? null }, items, totals: summarise(counts, all) };
  }
}

function avg(list: number[] | undefined): number | null {
  return list?.length ? Math.round(list.reduce((a, b) => a + b, 0) / list.length) : null;
}

function summarise(counts: { status: string; n: number | string }[], durations: Map<string, number[]>): OutcomeStats {
  const c = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const x of counts) if ((OUTCOMES as readonly string[]).includes(x.status)) c[x.status as Outcome] += Number(x.n);
  return {
    counts: c,
    total: OUTCOMES.reduce((s, o) => s + c[o], 0),
    avgDurationMs: { completed: avg(durations.get('completed')), rejected: avg(durations.get('rejected')), withdrawn: avg(durations.get('withdrawn')), terminated: avg(durations.get('terminated')) },
  };
}

function outcomes(rows: { status: string; startedAt: Date | null; endedAt: Date | null }[]): OutcomeStats {
  const counts = rows.map((r) => ({ status: r.status, n: 1 }));
  const durations = new Map<string, number[]>();
  for (const r of rows) {
    if (!r.endedAt || !r.startedAt) continue;
    const list = durations.get(r.status) ?? durations.set(r.status, []).get(r.status)!;
    list.push(new Date(r.endedAt).getTime() - new Date(r.startedAt).getTime());
  }
  return summarise(counts, durations);
}

/**
 * Mark a task as opened by its holder (time to open, R3.15): set once, on the first showing only.
 * A conditional update, so two devices opening it at once record the earlier write only.
 */
export async function markOpened(db: Database, taskId: number, userId: number, now: Date): Promise<{ openedAt: Date }> {
  const { WfTask } = db.models;
  await WfTask.update({ openedAt: now }, { where: { id: taskId, assigneeId: userId, openedAt: null } });
  const task = await WfTask.findByPk(taskId, { attributes: ['id', 'assigneeId', 'openedAt'] });
  if (!task || task.assigneeId !== userId || !task.openedAt) throw notFound('任务不存在');
  return { openedAt: task.openedAt };
}

const hours = (ms: number | null) => (ms === null ? null : Math.round((ms / 3_600_000) * 100) / 100);

/** The node table as an Excel workbook (hours with two decimals). */
export async function nodeStatsWorkbook(s: ProcessNodeStats): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'OA';
  wb.created = new Date(Date.UTC(2026, 0, 1));
  wb.modified = wb.created;
  const ws = wb.addWorksheet('节点效率', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = [
    { header: '节点', key: 'node', width: 18 },
    { header: '任务数', key: 'tasks', width: 8 },
    { header: '已办', key: 'done', width: 8 },
    { header: '未办', key: 'open', width: 8 },
    { header: '打开耗时中位数（小时）', key: 'om', width: 14 },
    { header: '打开耗时 P90（小时）', key: 'o9', width: 14 },
    { header: '办理耗时中位数（小时）', key: 'am', width: 14 },
    { header: '办理耗时 P90（小时）', key: 'a9', width: 14 },
    { header: '退回', key: 'returns', width: 8 },
    { header: '驳回', key: 'rejections', width: 8 },
    { header: '加签', key: 'addSigns', width: 8 },
    { header: '转签', key: 'transfers', width: 8 },
    { header: '催办', key: 'urges', width: 8 },
    { header: '超时', key: 'timeouts', width: 8 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const n of s.nodes) {
    ws.addRow([n.nodeName, n.tasks, n.done, n.open, hours(n.timeToOpen.medianMs), hours(n.timeToOpen.p90Ms), hours(n.timeToAct.medianMs), hours(n.timeToAct.p90Ms), n.returns, n.rejections, n.addSigns, n.transfers, n.urges, n.timeouts]);
  }
  const info = wb.addWorksheet('说明');
  info.columns = [{ header: '项目', key: 'k', width: 16 }, { header: '内容', key: 'v', width: 70 }];
  info.getRow(1).font = { bold: true };
  const fmt = (d: Date | null) => (d ? d.toISOString() : '不限');
  info.addRow(['流程', `${s.process.name}（${s.process.key}）`]);
  info.addRow(['版本', s.version === null ? '全部版本' : `第 ${s.version} 版`]);
  info.addRow(['时间范围', `${fmt(s.range.from)} 至 ${fmt(s.range.to)}（UTC）`]);
  info.addRow(['实例', `共 ${s.instances.total} 个：运行中 ${s.instances.counts.running}，已办结 ${s.instances.counts.completed}，已驳回 ${s.instances.counts.rejected}，已撤回 ${s.instances.counts.withdrawn}，已终止 ${s.instances.counts.terminated}`]);
  info.addRow(['打开耗时', '任务到达至处理人首次打开的时间']);
  info.addRow(['办理耗时', '任务到达至处理人办理完成的时间（不含取消和超时升级的任务）']);
  info.addRow(['取样', `每个节点最多取最近 ${SAMPLE_CAP} 个任务计算中位数和 P90`]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
