import { describe, expect, it } from 'vitest';
import type { EdgeDef, NodeDef, ProcessDefinition } from './definition.ts';
import { emptyTree, flatten, graphToTree, idsOf, newItem, treeToGraph, TreeError, type BlockItem, type FlowTree } from './tree.ts';

const approval = (id: string, name = id): NodeDef => ({ id, name, type: 'approval', assignees: [{ kind: 'deptHead', of: 'initiator' }], mode: 'any' });
const gw = (id: string, type: 'exclusive' | 'parallel' | 'inclusive'): NodeDef => ({ id, name: id, type });
const e = (id: string, from: string, to: string, extra: Partial<EdgeDef> = {}): EdgeDef => ({ id, from, to, ...extra });
const START: NodeDef = { id: 'start', name: '发起', type: 'start' };
const END: NodeDef = { id: 'end', name: '结束', type: 'end' };

/** Order-free form of a definition: nodes and edges sorted by id. */
function norm(d: ProcessDefinition): ProcessDefinition {
  const byId = <T extends { id: string }>(a: T[]) => [...a].sort((x, y) => x.id.localeCompare(y.id));
  return JSON.parse(JSON.stringify({ ...d, nodes: byId(d.nodes), edges: byId(d.edges) })) as ProcessDefinition;
}

function roundTrip(def: ProcessDefinition): void {
  const tree = graphToTree(def);
  const back = treeToGraph(tree);
  expect(norm(back)).toEqual(norm(def));
  // and once more: tree → graph → tree is stable
  expect(treeToGraph(graphToTree(back))).toEqual(back);
}

const shapes: Record<string, ProcessDefinition> = {
  'start → end (no steps)': { nodes: [START, END], edges: [e('e1', 'start', 'end')] },
  'a linear chain of every task node type': {
    formKey: 'leave',
    titleTemplate: '{initiator}的申请',
    nodes: [
      START,
      approval('a1'),
      { id: 'h1', name: '办理', type: 'handle', assignees: [{ kind: 'person', userIds: [3, 4] }], mode: 'all', timeLimitHours: 24, timeout: { remindTimes: 2, remindEveryHours: 12, then: 'escalate' } },
      { id: 'c1', name: '抄送', type: 'cc', assignees: [{ kind: 'initiator' }], commentable: false },
      { id: 'x1', name: '归档', type: 'action', hook: 'archive', params: { to: 'hr' } },
      { id: 't1', name: '等待', type: 'timer', delayHours: 2 },
      { id: 's1', name: '子流程', type: 'subprocess', processKey: 'child' },
      END,
    ],
    edges: [e('e1', 'start', 'a1'), e('e2', 'a1', 'h1'), e('e3', 'h1', 'c1'), e('e4', 'c1', 'x1'), e('e5', 'x1', 't1'), e('e6', 't1', 's1'), e('e7', 's1', 'end')],
  },
  'exclusive branches with a condition, a default and an empty branch (the demo leave process)': {
    nodes: [START, approval('head'), gw('long', 'exclusive'), approval('vp'), gw('merge', 'exclusive'), approval('hr'), END],
    edges: [
      e('e1', 'start', 'head'),
      e('e2', 'head', 'long'),
      e('e3', 'long', 'vp', { name: '超过 3 个工作日', condition: 'form.days > 3' }),
      e('e4', 'long', 'merge', { name: '3 天以内', isDefault: true }),
      e('e5', 'vp', 'merge'),
      e('e6', 'merge', 'hr'),
      e('e7', 'hr', 'end'),
    ],
  },
  'parallel split closed by its join (the demo purchase process)': {
    nodes: [START, approval('head'), gw('split', 'parallel'), approval('equip'), approval('fin'), gw('join', 'parallel'), approval('vp'), END],
    edges: [e('e1', 'start', 'head'), e('e2', 'head', 'split'), e('b1', 'split', 'equip'), e('b2', 'split', 'fin'), e('e3', 'equip', 'join'), e('e4', 'fin', 'join'), e('e5', 'join', 'vp'), e('e6', 'vp', 'end')],
  },
  'inclusive split with conditions and a default, three branches': {
    nodes: [START, gw('inc', 'inclusive'), approval('a'), approval('b'), approval('c'), gw('incj', 'inclusive'), END],
    edges: [
      e('e1', 'start', 'inc'),
      e('i1', 'inc', 'a', { condition: 'form.amount > 100' }),
      e('i2', 'inc', 'b', { condition: "initiator.deptCode == 'CWB'" }),
      e('i3', 'inc', 'c', { isDefault: true }),
      e('j1', 'a', 'incj'),
      e('j2', 'b', 'incj'),
      e('j3', 'c', 'incj'),
      e('e2', 'incj', 'end'),
    ],
  },
  'nested: a parallel block inside an exclusive branch, and branches of several steps': {
    nodes: [START, gw('x', 'exclusive'), approval('p1'), gw('ps', 'parallel'), approval('q1'), approval('q2'), approval('q3'), gw('pj', 'parallel'), approval('p2'), approval('d1'), gw('xm', 'exclusive'), END],
    edges: [
      e('e1', 'start', 'x'),
      e('x1', 'x', 'p1', { condition: 'form.big == true', name: '大额' }),
      e('x2', 'x', 'd1', { isDefault: true }),
      e('e2', 'p1', 'ps'),
      e('s1', 'ps', 'q1'),
      e('s2', 'ps', 'q2'),
      e('e3', 'q2', 'q3'),
      e('j1', 'q1', 'pj'),
      e('j2', 'q3', 'pj'),
      e('e4', 'pj', 'p2'),
      e('e5', 'p2', 'xm'),
      e('e6', 'd1', 'xm'),
      e('e7', 'xm', 'end'),
    ],
  },
  'two blocks in a row, the second directly after the first join': {
    nodes: [START, gw('a', 'parallel'), approval('a1'), approval('a2'), gw('aj', 'parallel'), gw('b', 'exclusive'), approval('b1'), gw('bj', 'exclusive'), END],
    edges: [
      e('e1', 'start', 'a'),
      e('a_1', 'a', 'a1'),
      e('a_2', 'a', 'a2'),
      e('a_3', 'a1', 'aj'),
      e('a_4', 'a2', 'aj'),
      e('e2', 'aj', 'b'),
      e('b_1', 'b', 'b1', { condition: 'form.x > 1' }),
      e('b_2', 'b', 'bj', { isDefault: true }),
      e('b_3', 'b1', 'bj'),
      e('e3', 'bj', 'end'),
    ],
  },
};

describe('tree ↔ graph conversion (R3.1 designer)', () => {
  for (const [name, def] of Object.entries(shapes)) {
    it(`R3.1 round trip: ${name}`, () => roundTrip(def));
  }

  it('R3.1 the tree of the demo leave process has an exclusive block with an empty default branch', () => {
    const tree = graphToTree(shapes['exclusive branches with a condition, a default and an empty branch (the demo leave process)']!);
    const block = tree.main.items[1] as BlockItem;
    expect(block.kind).toBe('block');
    expect(block.split.type).toBe('exclusive');
    expect(block.branches.map((b) => [b.name, b.condition, b.isDefault, b.seq.items.length])).toEqual([
      ['超过 3 个工作日', 'form.days > 3', undefined, 1],
      ['3 天以内', undefined, true, 0],
    ]);
  });

  it('R3.1 a tree built in the designer converts to a valid block-structured graph and back', () => {
    const tree: FlowTree = emptyTree({ formKey: 'f' });
    const used = idsOf(tree);
    const excl = newItem('exclusive', used) as BlockItem;
    excl.branches[0]!.condition = 'form.days > 3';
    excl.branches[0]!.seq.items.push(newItem('approval', used));
    const par = newItem('parallel', used) as BlockItem;
    par.branches[0]!.seq.items.push(newItem('handle', used));
    par.branches[1]!.seq.items.push(newItem('cc', used), newItem('timer', used));
    tree.main.items.push(excl, par, newItem('inclusive', used), newItem('action', used), newItem('subprocess', used));
    const g = treeToGraph(tree);
    const ids = new Set<string>();
    for (const x of [...g.nodes, ...g.edges]) {
      expect(ids.has(x.id), `id ${x.id} unique`).toBe(false);
      expect(x.id).toMatch(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/);
      ids.add(x.id);
    }
    // every node but the end has exactly one outgoing edge, except splits
    for (const n of g.nodes) {
      const outs = g.edges.filter((x) => x.from === n.id).length;
      const split = n.id === excl.split.id || n.id === par.split.id || (n.type === 'inclusive' && g.edges.filter((x) => x.to === n.id).length === 1);
      expect(outs, n.id).toBe(n.type === 'end' ? 0 : split ? 2 : 1);
    }
    expect(g.edges.find((x) => x.from === excl.split.id && x.condition === 'form.days > 3')).toBeTruthy();
    expect(g.edges.filter((x) => x.from === excl.split.id && x.isDefault)).toHaveLength(1);
    // ids the designer generated stay put from here on
    const again = graphToTree(g);
    expect(treeToGraph(again)).toEqual(g);
    expect(flatten(again.main).length).toBe(flatten(tree.main).length);
  });

  it('R3.1 empty condition text is not written to the graph', () => {
    const tree = emptyTree();
    const used = idsOf(tree);
    tree.main.items = [newItem('exclusive', used)];
    const g = treeToGraph(tree);
    expect(g.edges.some((x) => 'condition' in x)).toBe(false);
  });

  const bad: [string, ProcessDefinition, RegExp][] = [
    ['a loop back to an earlier step', { nodes: [START, approval('a'), gw('x', 'exclusive'), END], edges: [e('1', 'start', 'a'), e('2', 'a', 'x'), e('3', 'x', 'a', { condition: 'form.again' }), e('4', 'x', 'end', { isDefault: true })] }, /.+/],
    ['a branch that ends on its own', { nodes: [START, gw('x', 'exclusive'), approval('a'), approval('b'), END], edges: [e('1', 'start', 'x'), e('2', 'x', 'a', { condition: 'true' }), e('3', 'x', 'b', { isDefault: true }), e('4', 'a', 'end'), e('5', 'b', 'end')] }, /结束|汇合/],
    ['a parallel split closed by an exclusive merge', { nodes: [START, gw('p', 'parallel'), approval('a'), approval('b'), gw('m', 'exclusive'), END], edges: [e('1', 'start', 'p'), e('2', 'p', 'a'), e('3', 'p', 'b'), e('4', 'a', 'm'), e('5', 'b', 'm'), e('6', 'm', 'end')] }, /类型不同/],
    ['a node off the path', { nodes: [START, approval('a'), approval('lost'), END], edges: [e('1', 'start', 'a'), e('2', 'a', 'end')] }, /不在/],
    ['two start nodes', { nodes: [START, { ...START, id: 'start2' }, END], edges: [e('1', 'start', 'end'), e('2', 'start2', 'end')] }, /发起/],
  ];
  for (const [name, def, msg] of bad) {
    it(`R3.1 refuses a graph the tree cannot show: ${name}`, () => {
      expect(() => graphToTree(def)).toThrow(TreeError);
      expect(() => graphToTree(def)).toThrow(msg);
    });
  }
});
