import type { EdgeDef, GatewayNode, NodeDef, ProcessDefinition, StartNode, EndNode } from './definition.ts';

/**
 * Tree ↔ graph conversion for the DingTalk-style designer (R3.1).
 *
 * Office staff edit a tree: a sequence of steps from 发起 to 结束, where a step is either a single
 * node (approval, handling, cc, automatic action, delay, sub-process) or a branch block (condition,
 * parallel or inclusive branches), each branch again a sequence. The server stores a graph (nodes +
 * edges). A branch block is a split gateway, one outgoing edge per branch, and a closing gateway of
 * the same type: parallel and inclusive splits are closed by their join, exclusive branches meet at
 * an exclusive merge node. The branch's condition, name and default flag live on the split's edge.
 *
 * Ids of nodes and edges survive the round trip (graph → tree → graph gives the same graph), so a
 * definition read from the server and saved untouched is unchanged. Graphs that are not
 * block-structured (loops, a branch ending at 结束 on its own, a gateway that both merges and splits)
 * cannot be edited as a tree: {@link graphToTree} throws a {@link TreeError} saying why, and the
 * designer falls back to the read-only diagram.
 */

export type TaskNode = Exclude<NodeDef, StartNode | EndNode | GatewayNode>;
export type BlockType = GatewayNode['type'];

export interface TaskItem {
  kind: 'task';
  /** edge entering this item from its predecessor (start, split, previous item or join) */
  inEdgeId?: string;
  node: TaskNode;
}

export interface Branch {
  name?: string;
  condition?: string;
  isDefault?: boolean;
  seq: Sequence;
}

export interface BlockItem {
  kind: 'block';
  inEdgeId?: string;
  split: GatewayNode;
  join: GatewayNode;
  branches: Branch[];
}

export type Item = TaskItem | BlockItem;

export interface Sequence {
  items: Item[];
  /** edge leaving the sequence (to the join, or to 结束); for an empty branch it is the branch's edge */
  exitEdgeId?: string;
}

export interface FlowTree {
  start: StartNode;
  end: EndNode;
  main: Sequence;
  /** everything of the definition that is not nodes or edges (formKey, titleTemplate, triggers) */
  meta: Omit<ProcessDefinition, 'nodes' | 'edges'>;
}

export class TreeError extends Error {
  constructor(
    message: string,
    readonly nodeId?: string,
  ) {
    super(message);
    this.name = 'TreeError';
  }
}

const GATEWAY = new Set(['exclusive', 'parallel', 'inclusive']);

// ───────────────────────────────────────────────────────────── graph → tree

export function graphToTree(def: ProcessDefinition): FlowTree {
  const nodes = new Map<string, NodeDef>();
  for (const n of def.nodes) {
    if (nodes.has(n.id)) throw new TreeError(`节点编号“${n.id}”重复`, n.id);
    nodes.set(n.id, n);
  }
  const out = new Map<string, EdgeDef[]>();
  const inc = new Map<string, EdgeDef[]>();
  for (const n of def.nodes) {
    out.set(n.id, []);
    inc.set(n.id, []);
  }
  for (const e of def.edges) {
    if (!nodes.has(e.from) || !nodes.has(e.to)) throw new TreeError(`连线“${e.id}”连接了不存在的节点`);
    out.get(e.from)!.push(e);
    inc.get(e.to)!.push(e);
  }
  const starts = def.nodes.filter((n) => n.type === 'start');
  const ends = def.nodes.filter((n) => n.type === 'end');
  if (starts.length !== 1) throw new TreeError('流程必须有且只有一个发起节点');
  if (ends.length !== 1) throw new TreeError('节点树只支持一个结束节点');
  const start = starts[0] as StartNode;
  const end = ends[0] as EndNode;
  const visited = new Set<string>([start.id]);
  const startOut = out.get(start.id)!;
  if (startOut.length !== 1) throw new TreeError('发起节点必须只有一条出线', start.id);

  const isMerge = (id: string) => GATEWAY.has(nodes.get(id)!.type) && inc.get(id)!.length > 1;

  /** Follow edges from `edge` until a merge gateway or the end; returns the sequence and where it stopped. */
  function walk(edge: EdgeDef): { seq: Sequence; stop: string } {
    const items: Item[] = [];
    let e = edge;
    for (;;) {
      const id = e.to;
      const n = nodes.get(id)!;
      if (n.type === 'end' || isMerge(id)) return { seq: withExit(items, e.id), stop: id };
      if (visited.has(id)) throw new TreeError(`节点“${n.name}”形成回路，节点树无法表示`, id);
      visited.add(id);
      if (n.type === 'start') throw new TreeError('发起节点不能有入线', id);
      const outs = out.get(id)!;
      if (GATEWAY.has(n.type)) {
        const split = n as GatewayNode;
        if (outs.length < 2) throw new TreeError(`分支节点“${n.name}”至少需要两条分支`, id);
        const branches: Branch[] = [];
        let joinId: string | null = null;
        for (const be of outs) {
          const r = walk(be);
          if (nodes.get(r.stop)!.type === 'end') throw new TreeError(`“${n.name}”的分支没有汇合就直接结束，节点树无法表示`, id);
          if (joinId === null) joinId = r.stop;
          else if (joinId !== r.stop) throw new TreeError(`“${n.name}”的各分支汇合到了不同的节点`, id);
          branches.push({ ...edgeMeta(be), seq: r.seq });
        }
        const join = nodes.get(joinId!)! as GatewayNode;
        if (join.type !== split.type) throw new TreeError(`“${n.name}”的分支由类型不同的节点“${join.name}”汇合`, id);
        if (inc.get(join.id)!.length !== outs.length) throw new TreeError(`汇合节点“${join.name}”的入线数与分支数不一致`, join.id);
        if (visited.has(join.id)) throw new TreeError(`汇合节点“${join.name}”被多次使用`, join.id);
        visited.add(join.id);
        const joinOut = out.get(join.id)!;
        if (joinOut.length !== 1) throw new TreeError(`汇合节点“${join.name}”必须只有一条出线`, join.id);
        items.push({ kind: 'block', inEdgeId: e.id, split, join, branches });
        e = joinOut[0]!;
        continue;
      }
      if (outs.length !== 1) throw new TreeError(`节点“${n.name}”必须只有一条出线`, id);
      items.push({ kind: 'task', inEdgeId: e.id, node: n as TaskNode });
      e = outs[0]!;
    }
  }

  const r = walk(startOut[0]!);
  if (r.stop !== end.id) throw new TreeError(`节点“${nodes.get(r.stop)!.name}”没有对应的分支节点`, r.stop);
  visited.add(end.id);
  const stray = def.nodes.find((n) => !visited.has(n.id));
  if (stray) throw new TreeError(`节点“${stray.name}”不在从发起到结束的路径上`, stray.id);
  const { nodes: _n, edges: _e, ...meta } = def;
  return { start, end, main: r.seq, meta };
}

function withExit(items: Item[], exitEdgeId: string): Sequence {
  return { items, exitEdgeId };
}

function edgeMeta(e: EdgeDef): Omit<Branch, 'seq'> {
  const m: Omit<Branch, 'seq'> = {};
  if (e.name !== undefined) m.name = e.name;
  if (e.condition !== undefined) m.condition = e.condition;
  if (e.isDefault !== undefined) m.isDefault = e.isDefault;
  return m;
}

// ───────────────────────────────────────────────────────────── tree → graph

export function treeToGraph(tree: FlowTree): ProcessDefinition {
  const nodes: NodeDef[] = [tree.start];
  const edges: EdgeDef[] = [];
  const used = new Set<string>();
  collectIds(tree, used);
  const fresh = (prefix: string) => uniqueId(prefix, used);

  function edge(id: string | undefined, from: string, to: string, meta?: Omit<Branch, 'seq'>): void {
    const e: EdgeDef = { id: id ?? fresh('e'), from, to };
    if (meta?.name !== undefined && meta.name !== '') e.name = meta.name;
    if (meta?.condition !== undefined && meta.condition !== '') e.condition = meta.condition;
    if (meta?.isDefault) e.isDefault = true;
    edges.push(e);
  }

  function emit(seq: Sequence, from: string, to: string, meta?: Omit<Branch, 'seq'>): void {
    let prev = from;
    seq.items.forEach((item, i) => {
      const m = i === 0 ? meta : undefined;
      if (item.kind === 'task') {
        edge(item.inEdgeId, prev, item.node.id, m);
        nodes.push(item.node);
        prev = item.node.id;
      } else {
        edge(item.inEdgeId, prev, item.split.id, m);
        nodes.push(item.split);
        for (const b of item.branches) emit(b.seq, item.split.id, item.join.id, { name: b.name, condition: b.condition, isDefault: b.isDefault });
        nodes.push(item.join);
        prev = item.join.id;
      }
    });
    edge(seq.exitEdgeId, prev, to, seq.items.length === 0 ? meta : undefined);
  }

  emit(tree.main, tree.start.id, tree.end.id);
  nodes.push(tree.end);
  return { ...tree.meta, nodes, edges };
}

function collectIds(tree: FlowTree, used: Set<string>): void {
  used.add(tree.start.id);
  used.add(tree.end.id);
  const seq = (s: Sequence) => {
    if (s.exitEdgeId) used.add(s.exitEdgeId);
    for (const it of s.items) {
      if (it.inEdgeId) used.add(it.inEdgeId);
      if (it.kind === 'task') used.add(it.node.id);
      else {
        used.add(it.split.id);
        used.add(it.join.id);
        it.branches.forEach((b) => seq(b.seq));
      }
    }
  };
  seq(tree.main);
}

let counter = 0;
/** A new id (letters first, as the server requires) not in `used`; recorded there. */
export function uniqueId(prefix: string, used: Set<string>): string {
  for (;;) {
    counter = (counter + 1) % 1_000_000;
    const id = `${prefix}${Date.now().toString(36).slice(-4)}${counter.toString(36)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  }
}

// ───────────────────────────────────────────────────────────── editing helpers

/** Every node id and edge id the tree holds (for generating new unique ones). */
export function idsOf(tree: FlowTree): Set<string> {
  const s = new Set<string>();
  collectIds(tree, s);
  return s;
}

export type NewItemType = TaskNode['type'] | BlockType;

/** A new item as the designer inserts it, with sensible defaults (R3.1: usable without training). */
export function newItem(type: NewItemType, used: Set<string>): Item {
  const id = uniqueId(type === 'approval' ? 'approve' : type, used);
  switch (type) {
    case 'approval':
      return { kind: 'task', node: { id, type, name: '审批人', assignees: [], mode: 'any', onEmpty: 'fail', rejectTo: 'end' } };
    case 'handle':
      return { kind: 'task', node: { id, type, name: '办理人', assignees: [], mode: 'any', onEmpty: 'fail', rejectTo: 'end' } };
    case 'cc':
      return { kind: 'task', node: { id, type, name: '抄送人', assignees: [], commentable: true } };
    case 'action':
      return { kind: 'task', node: { id, type, name: '自动操作', hook: 'archive' } };
    case 'timer':
      return { kind: 'task', node: { id, type, name: '延时等待', delayHours: 24 } };
    case 'subprocess':
      return { kind: 'task', node: { id, type, name: '子流程', processKey: '' } };
    case 'exclusive':
      return {
        kind: 'block',
        split: { id, type, name: '条件分支' },
        join: { id: uniqueId('merge', used), type, name: '条件汇合' },
        branches: [
          { name: '条件1', condition: '', seq: { items: [] } },
          { name: '其他情况', isDefault: true, seq: { items: [] } },
        ],
      };
    case 'parallel':
    case 'inclusive':
      return {
        kind: 'block',
        split: { id, type, name: type === 'parallel' ? '并行分支' : '包容分支' },
        join: { id: uniqueId('join', used), type, name: type === 'parallel' ? '并行汇合' : '包容汇合' },
        branches:
          type === 'parallel'
            ? [
                { name: '分支1', seq: { items: [] } },
                { name: '分支2', seq: { items: [] } },
              ]
            : [
                { name: '条件1', condition: '', seq: { items: [] } },
                { name: '其他情况', isDefault: true, seq: { items: [] } },
              ],
      };
  }
}

/** A new empty tree: 发起 → 审批人 → 结束. */
export function emptyTree(meta: FlowTree['meta'] = {}): FlowTree {
  const used = new Set(['start', 'end']);
  return { start: { id: 'start', type: 'start', name: '发起人' }, end: { id: 'end', type: 'end', name: '结束' }, main: { items: [newItem('approval', used)] }, meta };
}

/** Items in display order, depth first (the step list, R3.1 "list view"). */
export function flatten(seq: Sequence, depth = 0, out: { item: Item; depth: number; branch?: string }[] = [], branch?: string): { item: Item; depth: number; branch?: string }[] {
  for (const it of seq.items) {
    out.push({ item: it, depth, branch });
    if (it.kind === 'block') it.branches.forEach((b, i) => flatten(b.seq, depth + 1, out, b.name || `分支${i + 1}`));
  }
  return out;
}

/** Find the branch whose first edge has this id (validation issues may point at edges). */
export function branchOfEdge(def: ProcessDefinition, edgeId: string): string | null {
  const e = def.edges.find((x) => x.id === edgeId);
  return e ? e.from : null;
}
