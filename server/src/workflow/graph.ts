import { GATEWAYS, NODE_TYPE_NAMES, isHuman, type EdgeDef, type NodeDef, type ProcessDefinition } from './definition.ts';

/**
 * Structural analysis of a process graph (issue 4 "validation before publish"): which split closes
 * at which join, which blocks enclose each node, what is reachable from where. The runtime engine
 * relies on the block structure to return into and out of parallel branches; a definition that
 * fails here can be saved as a draft but never published.
 */

export interface Block {
  /** the parallel or inclusive split … */
  split: string;
  /** … and the outgoing edge (branch) taken from it */
  edge: string;
}

export interface GraphIssue {
  code: string;
  message: string;
  nodeId?: string;
  edgeId?: string;
}

export class Graph {
  readonly nodes = new Map<string, NodeDef>();
  readonly edges = new Map<string, EdgeDef>();
  readonly out = new Map<string, EdgeDef[]>();
  readonly inc = new Map<string, EdgeDef[]>();
  /** split → its join, and back */
  readonly joinOf = new Map<string, string>();
  readonly splitOf = new Map<string, string>();
  /** blocks around each node, outermost first (a split and a join belong to the outer level) */
  readonly enclosing = new Map<string, Block[]>();
  startId = '';
  private readonly reachCache = new Map<string, Set<string>>();

  constructor(readonly def: ProcessDefinition) {
    for (const n of def.nodes) {
      this.nodes.set(n.id, n);
      this.out.set(n.id, []);
      this.inc.set(n.id, []);
    }
    for (const e of def.edges) {
      this.edges.set(e.id, e);
      this.out.get(e.from)?.push(e);
      this.inc.get(e.to)?.push(e);
    }
  }

  node(id: string): NodeDef {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  outgoing(id: string): EdgeDef[] {
    return this.out.get(id) ?? [];
  }

  isSplit(id: string): boolean {
    const n = this.nodes.get(id);
    return !!n && (n.type === 'parallel' || n.type === 'inclusive') && this.outgoing(id).length > 1;
  }

  isJoin(id: string): boolean {
    const n = this.nodes.get(id);
    return !!n && (n.type === 'parallel' || n.type === 'inclusive') && (this.inc.get(id)?.length ?? 0) > 1;
  }

  /** every node reachable from `from` by following edges (excluding `from` unless on a loop) */
  reachableFrom(from: string): Set<string> {
    let r = this.reachCache.get(from);
    if (r) return r;
    r = new Set();
    const stack = this.outgoing(from).map((e) => e.to);
    while (stack.length) {
      const n = stack.pop()!;
      if (r.has(n)) continue;
      r.add(n);
      for (const e of this.outgoing(n)) stack.push(e.to);
    }
    this.reachCache.set(from, r);
    return r;
  }

  canReach(from: string, to: string): boolean {
    return this.reachableFrom(from).has(to);
  }

  blocksOf(id: string): Block[] {
    return this.enclosing.get(id) ?? [];
  }
}

const label = (n: NodeDef) => `${NODE_TYPE_NAMES[n.type]}节点“${n.name}”`;

/** Build the graph and list every problem, in Chinese, with the node or edge concerned. */
export function analyse(def: ProcessDefinition): { graph: Graph; issues: GraphIssue[] } {
  const g = new Graph(def);
  const issues: GraphIssue[] = [];
  const add = (code: string, message: string, where: { nodeId?: string; edgeId?: string } = {}) => issues.push({ code, message, ...where });

  // identities and references
  const seenNodes = new Set<string>();
  for (const n of def.nodes) {
    if (seenNodes.has(n.id)) add('DUPLICATE_NODE', `节点编号 ${n.id} 重复`, { nodeId: n.id });
    seenNodes.add(n.id);
  }
  const seenEdges = new Set<string>();
  for (const e of def.edges) {
    if (seenEdges.has(e.id) || seenNodes.has(e.id)) add('DUPLICATE_EDGE', `连线编号 ${e.id} 重复`, { edgeId: e.id });
    seenEdges.add(e.id);
    if (!g.nodes.has(e.from)) add('EDGE_FROM_UNKNOWN', `连线 ${e.id} 的起点 ${e.from} 不存在`, { edgeId: e.id });
    if (!g.nodes.has(e.to)) add('EDGE_TO_UNKNOWN', `连线 ${e.id} 的终点 ${e.to} 不存在`, { edgeId: e.id });
    if (e.from === e.to) add('SELF_LOOP', `连线 ${e.id} 首尾是同一个节点`, { edgeId: e.id });
  }
  const starts = def.nodes.filter((n) => n.type === 'start');
  if (starts.length !== 1) add('START_COUNT', starts.length ? '流程只能有一个开始节点' : '流程缺少开始节点');
  if (!def.nodes.some((n) => n.type === 'end')) add('NO_END', '流程缺少结束节点');
  if (issues.length) return { graph: g, issues };
  g.startId = starts[0]!.id;

  // degrees
  for (const n of def.nodes) {
    const ins = g.inc.get(n.id)!.length;
    const outs = g.outgoing(n.id).length;
    if (n.type === 'start') {
      if (ins) add('START_INCOMING', '开始节点不能有进入的连线', { nodeId: n.id });
      if (outs !== 1) add('START_OUTGOING', '开始节点必须有且只有一条出线', { nodeId: n.id });
    } else if (n.type === 'end') {
      if (outs) add('END_OUTGOING', `${label(n)}不能有出线`, { nodeId: n.id });
      if (!ins) add('UNREACHABLE', `${label(n)}没有进入的连线`, { nodeId: n.id });
    } else if (GATEWAYS.has(n.type)) {
      if (!ins || !outs) add('GATEWAY_DANGLING', `${label(n)}必须同时有进入和离开的连线`, { nodeId: n.id });
      if (ins > 1 && outs > 1) add('GATEWAY_SPLIT_AND_JOIN', `${label(n)}不能同时分支和汇聚，请拆成两个节点`, { nodeId: n.id });
    } else {
      if (!ins) add('UNREACHABLE', `${label(n)}没有进入的连线`, { nodeId: n.id });
      if (outs !== 1) add('NODE_OUTGOING', `${label(n)}必须有且只有一条出线（分支请使用分支节点）`, { nodeId: n.id });
    }
  }

  // branch conditions
  for (const n of def.nodes) {
    const outs = g.outgoing(n.id);
    if (n.type === 'parallel') {
      for (const e of outs) if (e.condition || e.isDefault) add('PARALLEL_CONDITION', `并行分支“${n.name}”的连线不能设置条件`, { edgeId: e.id });
    } else if ((n.type === 'exclusive' || n.type === 'inclusive') && outs.length > 1) {
      const defaults = outs.filter((e) => e.isDefault);
      if (defaults.length !== 1) add('DEFAULT_BRANCH', `${label(n)}必须有且只有一条默认分支（条件都不满足时走的分支）`, { nodeId: n.id });
      for (const e of outs) {
        if (!e.isDefault && !e.condition?.trim()) add('MISSING_CONDITION', `${label(n)}的连线 ${e.name ?? e.id} 没有条件`, { edgeId: e.id });
        if (e.isDefault && e.condition?.trim()) add('DEFAULT_WITH_CONDITION', `默认分支 ${e.name ?? e.id} 不能再设置条件`, { edgeId: e.id });
      }
    } else {
      for (const e of outs) if (e.condition || e.isDefault) add('CONDITION_NOT_ON_BRANCH', `只有条件分支或包容分支的出线可以设置条件（连线 ${e.id}）`, { edgeId: e.id });
    }
  }

  // people
  for (const n of def.nodes) {
    if (isHuman(n)) {
      if (!n.assignees.length && n.onEmpty === 'fail') add('NO_ASSIGNEE', `${label(n)}没有设置处理人`, { nodeId: n.id });
      if (n.mode === 'ratio' && n.ratio === undefined) add('RATIO_MISSING', `${label(n)}按比例通过时必须设置通过比例`, { nodeId: n.id });
      for (const r of n.assignees) {
        if ((r.kind === 'deptHead' || r.kind === 'superior' || r.kind === 'levelsUp' || r.kind === 'leaderInCharge') && r.of === 'field' && !r.field) {
          add('RULE_FIELD_MISSING', `${label(n)}的处理人规则按表单字段取值，但没有指定字段`, { nodeId: n.id });
        }
        if ((r.kind === 'initiatorChooses' || r.kind === 'previousChooses') && n.assignees.length > 1) {
          add('CHOOSER_ALONE', `${label(n)}由人选择处理人时不能再设置其他规则`, { nodeId: n.id });
        }
      }
    }
  }
  if (issues.length) return { graph: g, issues };

  // reachability both ways: every node on some path from start to an end
  const fromStart = g.reachableFrom(g.startId);
  for (const n of def.nodes) {
    if (n.type !== 'start' && !fromStart.has(n.id)) add('UNREACHABLE', `${label(n)}从开始节点无法到达`, { nodeId: n.id });
    else if (n.type !== 'end' && ![...g.reachableFrom(n.id)].some((id) => g.node(id).type === 'end')) {
      add('NO_WAY_OUT', `${label(n)}之后无法到达结束节点（可能是死循环）`, { nodeId: n.id });
    }
  }
  if (issues.length) return { graph: g, issues };

  pairBlocks(g, add);
  if (issues.length) return { graph: g, issues };
  computeEnclosing(g, add);
  return { graph: g, issues };
}

type Add = (code: string, message: string, where?: { nodeId?: string; edgeId?: string }) => void;

/** Find the join closing each parallel/inclusive split: every branch must reach the same one. */
function pairBlocks(g: Graph, add: Add): void {
  const memo = new Map<string, string | null>();
  const findJoin = (split: string, depth: number): string | null => {
    if (memo.has(split)) return memo.get(split)!;
    if (depth > 100) return null;
    const s = g.node(split);
    const reached = new Set<string>();
    let broken = false;
    for (const e of g.outgoing(split)) {
      const visited = new Set<string>([split]);
      const stack = [e.to];
      while (stack.length) {
        const id = stack.pop()!;
        if (id === split) {
          add('BRANCH_LOOPS_OUT', `${label(s)}的分支回到了分支起点，分支内的循环必须留在分支内`, { nodeId: split });
          broken = true;
          continue;
        }
        if (visited.has(id)) continue;
        visited.add(id);
        const n = g.node(id);
        if (g.isJoin(id)) {
          reached.add(id);
          continue;
        }
        if (n.type === 'end') {
          add('BRANCH_ENDS', `${label(s)}的分支在汇聚前就结束了（${label(n)}）`, { nodeId: id });
          broken = true;
          continue;
        }
        if (g.isSplit(id)) {
          const inner = findJoin(id, depth + 1);
          if (!inner) {
            broken = true;
            continue;
          }
          for (const o of g.outgoing(inner)) stack.push(o.to);
          continue;
        }
        for (const o of g.outgoing(id)) stack.push(o.to);
      }
    }
    let join: string | null = null;
    if (!broken) {
      if (reached.size !== 1) {
        add('UNMATCHED_SPLIT', reached.size ? `${label(s)}的各分支汇聚到了不同的节点，请让它们汇聚到同一个汇聚节点` : `${label(s)}没有对应的汇聚节点`, { nodeId: split });
      } else {
        join = [...reached][0]!;
        const j = g.node(join);
        if (j.type !== s.type) add('JOIN_KIND', `${label(s)}必须由同类型的汇聚节点汇聚，而不是${label(j)}`, { nodeId: join });
        else if (g.inc.get(join)!.length !== g.outgoing(split).length) {
          add('JOIN_INCOMING', `${label(j)}的进线数与${label(s)}的分支数不一致`, { nodeId: join });
        }
      }
    }
    memo.set(split, join);
    return join;
  };
  for (const n of g.def.nodes) {
    if (!g.isSplit(n.id)) continue;
    const j = findJoin(n.id, 0);
    if (j) {
      if (g.splitOf.has(j) && g.splitOf.get(j) !== n.id) add('SHARED_JOIN', `${label(g.node(j))}被多个分支节点共用`, { nodeId: j });
      g.joinOf.set(n.id, j);
      g.splitOf.set(j, n.id);
    }
  }
  for (const n of g.def.nodes) {
    if (g.isJoin(n.id) && !g.splitOf.has(n.id)) add('UNMATCHED_JOIN', `${label(n)}没有对应的分支节点`, { nodeId: n.id });
  }
}

const key = (bs: Block[]) => bs.map((b) => `${b.split}:${b.edge}`).join('/');

/** Record the blocks around every node; a node reached with two different block stacks is an error. */
function computeEnclosing(g: Graph, add: Add): void {
  const work: { id: string; stack: Block[] }[] = [{ id: g.startId, stack: [] }];
  while (work.length) {
    const { id, stack } = work.pop()!;
    let own = stack;
    let next = stack;
    if (g.isJoin(id)) {
      const top = stack[stack.length - 1];
      if (!top || g.joinOf.get(top.split) !== id) {
        add('CROSSING_BRANCHES', `${label(g.node(id))}汇聚的不是当前所在的分支，分支结构交叉`, { nodeId: id });
        continue;
      }
      own = next = stack.slice(0, -1);
    }
    const seen = g.enclosing.get(id);
    if (seen) {
      if (key(seen) !== key(own)) add('CROSSING_BRANCHES', `${label(g.node(id))}同时属于不同的分支结构，请检查连线`, { nodeId: id });
      continue;
    }
    g.enclosing.set(id, own);
    for (const e of g.outgoing(id)) work.push({ id: e.to, stack: g.isSplit(id) ? [...next, { split: id, edge: e.id }] : next });
  }
}
