import type { Definition, HistoryEntry } from '../../../api/types';

export type StepState = 'done' | 'active' | 'todo' | 'skipped';

export interface Step {
  id: string;
  name: string;
  type: string;
  state: StepState;
  /** parallel branches: how many steps share this position */
  parallel: boolean;
}

const GATEWAYS = new Set(['exclusive', 'parallel', 'inclusive']);
const DONE_ACTIONS = new Set(['submit', 'resubmit', 'approve', 'propose', 'read', 'node_complete', 'auto_approve', 'skip', 'auto_action', 'timer_fired', 'subprocess_end', 'cc']);

/**
 * The process as a list of steps in flow order (breadth-first from the start node), gateways left
 * out, with the current nodes (`activeNodes`) highlighted (R3.5). Pure (vitest).
 */
export function stepsOf(def: Definition, active: string[], history: HistoryEntry[], status: string): Step[] {
  const finished = !['draft', 'running'].includes(status);
  const out = new Map<string, number[]>();
  for (const e of def.edges) (out.get(e.from) ?? out.set(e.from, []).get(e.from)!).push(def.edges.indexOf(e));
  const byId = new Map(def.nodes.map((n) => [n.id, n]));
  const start = def.nodes.find((n) => n.type === 'start');
  if (!start) return [];
  const depth = new Map<string, number>([[start.id, 0]]);
  const order: string[] = [];
  const queue = [start.id];
  while (queue.length) {
    const id = queue.shift()!;
    order.push(id);
    for (const ei of out.get(id) ?? []) {
      const to = def.edges[ei]!.to;
      if (depth.has(to)) continue;
      depth.set(to, depth.get(id)! + 1);
      queue.push(to);
    }
  }
  const done = new Set(history.filter((h) => h.node && DONE_ACTIONS.has(h.action)).map((h) => h.node!.id));
  const activeSet = new Set(active);
  const visible = order.map((id) => byId.get(id)!).filter((n) => n && !GATEWAYS.has(n.type));
  const perDepth = new Map<number, number>();
  for (const n of visible) perDepth.set(depth.get(n.id)!, (perDepth.get(depth.get(n.id)!) ?? 0) + 1);
  return visible.map((n) => {
    let state: StepState = 'todo';
    if (activeSet.has(n.id)) state = 'active';
    else if (done.has(n.id) || (n.type === 'start' && status !== 'draft') || (n.type === 'end' && status === 'completed')) state = 'done';
    else if (finished) state = 'skipped';
    return { id: n.id, name: n.name, type: n.type, state, parallel: (perDepth.get(depth.get(n.id)!) ?? 0) > 1 };
  });
}
