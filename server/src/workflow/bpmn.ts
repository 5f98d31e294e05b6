import { BpmnModdle, type ModdleElement, type PackageDescriptor, type ParseResult } from 'bpmn-moddle';
import { badRequest } from '../http/errors.ts';
import { createConditions } from './conditions.ts';
import { GATEWAYS, NODE_TYPE_NAMES, definitionSchema, type EdgeDef, type NodeType, type ProcessDefinition } from './definition.ts';

/**
 * BPMN 2.0 XML interchange for process definitions (issue 4). We store definitions as JSON
 * (definition.ts); this module exports them as BPMN 2.0 for other modellers and imports BPMN files.
 *
 * Export: one executable bpmn:process plus a simple left-to-right diagram. Whatever BPMN has no
 * element for (assignee rules, field permissions, time limits, hook parameters …) is written as JSON
 * in an `<oa:settings>` extension element, so that our own files come back exactly.
 *
 * Import: a file we wrote (its process carries `<oa:settings>`) is restored as it was. A foreign
 * model is mapped best-effort: what has no counterpart here is dropped or approximated with a
 * Chinese warning, and the structure is repaired where BPMN allows implicit forms (missing start or
 * end, several flows leaving a task, a gateway that both joins and splits). The result always passes
 * definitionSchema; whether it can be published is graph.ts's business.
 */

export const OA_NAMESPACE = 'https://oa.example/schema/bpmn';
export const MAX_BPMN_BYTES = 2 * 1024 * 1024;

const OA_PACKAGE: PackageDescriptor = {
  name: 'HospitalOA',
  prefix: 'oa',
  uri: OA_NAMESPACE,
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  enumerations: [],
  types: [
    {
      // <oa:settings version="1">{…JSON…}</oa:settings> inside bpmn:extensionElements
      name: 'Settings',
      superClass: ['Element'],
      properties: [
        { name: 'version', isAttr: true, type: 'String' },
        { name: 'body', isBody: true, type: 'String' },
      ],
    },
  ],
};
const SETTINGS_VERSION = '1';

let shared: BpmnModdle | undefined;
const moddle = () => (shared ??= new BpmnModdle({ oa: OA_PACKAGE }));
const conditions = createConditions(200);

type El = ModdleElement;

/** the BPMN element each node type is exported as (and must still be, for our settings to apply) */
const ELEMENT: Record<NodeType, string> = {
  start: 'bpmn:StartEvent',
  approval: 'bpmn:UserTask',
  handle: 'bpmn:UserTask',
  cc: 'bpmn:SendTask',
  exclusive: 'bpmn:ExclusiveGateway',
  parallel: 'bpmn:ParallelGateway',
  inclusive: 'bpmn:InclusiveGateway',
  action: 'bpmn:ServiceTask',
  timer: 'bpmn:IntermediateCatchEvent',
  subprocess: 'bpmn:CallActivity',
  end: 'bpmn:EndEvent',
};

/** Chinese names of BPMN element types, for warnings */
const BPMN_NAMES: Record<string, string> = {
  'bpmn:StartEvent': '开始事件',
  'bpmn:EndEvent': '结束事件',
  'bpmn:Task': '任务',
  'bpmn:UserTask': '用户任务',
  'bpmn:ManualTask': '人工任务',
  'bpmn:ServiceTask': '服务任务',
  'bpmn:ScriptTask': '脚本任务',
  'bpmn:BusinessRuleTask': '业务规则任务',
  'bpmn:SendTask': '发送任务',
  'bpmn:ReceiveTask': '接收任务',
  'bpmn:CallActivity': '调用活动',
  'bpmn:SubProcess': '内嵌子流程',
  'bpmn:Transaction': '事务子流程',
  'bpmn:AdHocSubProcess': '自由子流程',
  'bpmn:ExclusiveGateway': '排他网关',
  'bpmn:ParallelGateway': '并行网关',
  'bpmn:InclusiveGateway': '包容网关',
  'bpmn:ComplexGateway': '复杂网关',
  'bpmn:EventBasedGateway': '事件网关',
  'bpmn:IntermediateCatchEvent': '中间捕获事件',
  'bpmn:IntermediateThrowEvent': '中间抛出事件',
  'bpmn:BoundaryEvent': '边界事件',
  'bpmn:DataObject': '数据对象',
  'bpmn:DataObjectReference': '数据对象',
  'bpmn:DataStoreReference': '数据存储',
  'bpmn:SequenceFlow': '连线',
};
const EVENT_NAMES: Record<string, string> = {
  'bpmn:TimerEventDefinition': '定时',
  'bpmn:MessageEventDefinition': '消息',
  'bpmn:SignalEventDefinition': '信号',
  'bpmn:ErrorEventDefinition': '错误',
  'bpmn:EscalationEventDefinition': '升级',
  'bpmn:ConditionalEventDefinition': '条件',
  'bpmn:CompensateEventDefinition': '补偿',
  'bpmn:TerminateEventDefinition': '终止',
  'bpmn:LinkEventDefinition': '链接',
  'bpmn:CancelEventDefinition': '取消',
};

// ---- small accessors over moddle elements ------------------------------------------------------

const arr = (el: El | undefined, prop: string): El[] => {
  const v = el?.[prop];
  return Array.isArray(v) ? (v as El[]) : [];
};
const str = (el: El | undefined, prop: string): string | undefined => {
  const v = el?.[prop];
  return typeof v === 'string' ? v : undefined;
};
const ref = (el: El | undefined, prop: string): El | undefined => {
  const v = el?.[prop];
  return v && typeof v === 'object' && '$type' in v ? (v as El) : undefined;
};
const bpmnName = (el: El) => BPMN_NAMES[el.$type] ?? el.$type.replace(/^bpmn:/, '');
const label = (el: El) => `${bpmnName(el)}“${oneLine(el.name ?? '') || el.id || '未命名'}”`;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

function settingsOf(el: El | undefined): Record<string, unknown> | null | 'invalid' {
  const s = arr(ref(el, 'extensionElements'), 'values').find((v) => v.$type === 'oa:Settings');
  if (!s) return null;
  try {
    const v: unknown = JSON.parse(str(s, 'body') ?? '');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'invalid';
  } catch {
    return 'invalid';
  }
}

// ---- export -----------------------------------------------------------------------------------

/** Export a process definition as a BPMN 2.0 document (one executable process and its diagram). */
export async function toBpmnXml(def: ProcessDefinition, meta: { key: string; name: string }): Promise<string> {
  const parsed = definitionSchema.safeParse(def);
  if (!parsed.success) {
    throw badRequest(
      '流程定义不合法，无法导出为 BPMN',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const d = parsed.data;
  const m = moddle();

  const used = new Set<string>();
  for (const n of d.nodes) {
    if (used.has(n.id)) throw badRequest(`节点编号 ${n.id} 重复，无法导出为 BPMN`);
    used.add(n.id);
  }
  for (const e of d.edges) {
    if (used.has(e.id)) throw badRequest(`连线编号 ${e.id} 与其他节点或连线重复，无法导出为 BPMN`);
    used.add(e.id);
  }
  const nodeById = new Map(d.nodes.map((n) => [n.id, n]));
  for (const e of d.edges) {
    if (!nodeById.has(e.from) || !nodeById.has(e.to)) throw badRequest(`连线 ${e.id} 连接的节点不存在，无法导出为 BPMN`);
  }
  const fresh = (base: string) => {
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    return id;
  };
  const settings = (data: Record<string, unknown>) =>
    m.create('bpmn:ExtensionElements', { values: [m.create('oa:Settings', { version: SETTINGS_VERSION, body: JSON.stringify(data) })] });

  const keyPart = meta.key.replace(/[^A-Za-z0-9_.-]/g, '_') || 'process';
  const processId = fresh(`Process_${keyPart}`);
  const proc = m.create('bpmn:Process', { id: processId, isExecutable: true });
  if (meta.name.trim()) proc.name = meta.name;
  // always present: it also marks the file as ours, so the import restores it exactly
  const procExtra: Record<string, unknown> = {};
  if (d.formKey !== undefined) procExtra.formKey = d.formKey;
  if (d.titleTemplate !== undefined) procExtra.titleTemplate = d.titleTemplate;
  proc.extensionElements = settings(procExtra);

  const elements = new Map<string, El>();
  const flowElements: El[] = [];
  for (const n of d.nodes) {
    const el = m.create(ELEMENT[n.type], { id: n.id, name: n.name });
    const { id: _id, name: _name, ...extra } = n as Record<string, unknown> & { id: string; name: string };
    if (n.type === 'timer') {
      delete extra.delayHours;
      el.eventDefinitions = [
        m.create('bpmn:TimerEventDefinition', {
          id: fresh(`${n.id}_timer`),
          timeDuration: m.create('bpmn:FormalExpression', { body: `PT${n.delayHours}H` }),
        }),
      ];
    } else if (n.type === 'subprocess') {
      delete extra.processKey;
      el.calledElement = n.processKey;
    } else if ((n.type === 'approval' || n.type === 'handle') && n.mode !== 'any') {
      // the multi-instance marker, for the eye only: our settings say exactly how it completes
      el.loopCharacteristics = m.create('bpmn:MultiInstanceLoopCharacteristics', { isSequential: n.mode === 'sequential' });
    }
    el.extensionElements = settings({ type: n.type, ...extra });
    el.incoming = [];
    el.outgoing = [];
    elements.set(n.id, el);
    flowElements.push(el);
  }

  const flows = new Map<string, El>();
  const defaultSet = new Set<string>();
  for (const e of d.edges) {
    const source = elements.get(e.from)!;
    const target = elements.get(e.to)!;
    const flow = m.create('bpmn:SequenceFlow', { id: e.id, sourceRef: source, targetRef: target });
    const extra: Record<string, unknown> = {};
    if (e.name !== undefined) flow.name = e.name;
    if (e.condition !== undefined) {
      // an empty body reads back as no condition at all
      if (e.condition === '') extra.condition = '';
      else flow.conditionExpression = m.create('bpmn:FormalExpression', { body: e.condition });
    }
    const src = nodeById.get(e.from)!;
    if (e.isDefault === true && (src.type === 'exclusive' || src.type === 'inclusive') && !defaultSet.has(e.from)) {
      defaultSet.add(e.from);
      source.default = flow;
    } else if (e.isDefault !== undefined) {
      extra.isDefault = e.isDefault;
    }
    if (Object.keys(extra).length) flow.extensionElements = settings(extra);
    (source.outgoing as El[]).push(flow);
    (target.incoming as El[]).push(flow);
    flows.set(e.id, flow);
    flowElements.push(flow);
  }
  proc.flowElements = flowElements;

  const diagram = layout(d, elements, flows, proc, fresh);
  const definitions = m.create('bpmn:Definitions', {
    id: fresh(`Definitions_${keyPart}`),
    targetNamespace: OA_NAMESPACE,
    exporter: 'Hospital OA',
    exporterVersion: SETTINGS_VERSION,
    rootElements: [proc],
    diagrams: [diagram],
  });
  const { xml } = await m.toXML(definitions, { format: true });
  return xml;
}

const SIZE: Record<'event' | 'gateway' | 'task', { w: number; h: number }> = {
  event: { w: 36, h: 36 },
  gateway: { w: 50, h: 50 },
  task: { w: 100, h: 80 },
};
const sizeOf = (t: NodeType) => (t === 'start' || t === 'end' || t === 'timer' ? SIZE.event : GATEWAYS.has(t) ? SIZE.gateway : SIZE.task);

/** BPMNDiagram with a left-to-right layout: column = BFS depth from the start, rows in order. */
function layout(d: ProcessDefinition, elements: Map<string, El>, flows: Map<string, El>, proc: El, fresh: (base: string) => string): El {
  const m = moddle();
  const out = new Map<string, EdgeDef[]>();
  for (const e of d.edges) out.set(e.from, [...(out.get(e.from) ?? []), e]);
  const depth = new Map<string, number>();
  const queue: string[] = [];
  const reach = (id: string, at: number) => {
    if (depth.has(id)) return;
    depth.set(id, at);
    queue.push(id);
  };
  const visit = (roots: string[], at: number) => {
    for (const r of roots) reach(r, at);
    while (queue.length) {
      const id = queue.shift()!;
      for (const e of out.get(id) ?? []) reach(e.to, depth.get(id)! + 1);
    }
  };
  visit(
    d.nodes.filter((n) => n.type === 'start').map((n) => n.id),
    0,
  );
  // whatever the start does not reach goes into further columns
  for (const n of d.nodes) if (!depth.has(n.id)) visit([n.id], depth.size ? Math.max(...depth.values()) + 1 : 0);

  const COL = 180;
  const ROW = 130;
  const rows = new Map<number, number>();
  const centre = new Map<string, { x: number; y: number; w: number; h: number; col: number }>();
  for (const n of d.nodes) {
    const col = depth.get(n.id)!;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    centre.set(n.id, { x: 120 + col * COL, y: 120 + row * ROW, ...sizeOf(n.type), col });
  }
  const bottom = Math.max(...[...centre.values()].map((c) => c.y + c.h / 2)) + 40;

  const planeElement: El[] = [];
  for (const n of d.nodes) {
    const c = centre.get(n.id)!;
    const shape = m.create('bpmndi:BPMNShape', {
      id: fresh(`${n.id}_di`),
      bpmnElement: elements.get(n.id),
      bounds: m.create('dc:Bounds', { x: c.x - c.w / 2, y: c.y - c.h / 2, width: c.w, height: c.h }),
    });
    if (n.type === 'exclusive') shape.isMarkerVisible = true;
    planeElement.push(shape);
  }
  const point = (x: number, y: number) => m.create('dc:Point', { x, y });
  for (const e of d.edges) {
    const s = centre.get(e.from)!;
    const t = centre.get(e.to)!;
    let waypoint: El[];
    if (t.col > s.col) {
      const x1 = s.x + s.w / 2;
      const x2 = t.x - t.w / 2;
      const mid = (x1 + x2) / 2;
      waypoint = s.y === t.y ? [point(x1, s.y), point(x2, t.y)] : [point(x1, s.y), point(mid, s.y), point(mid, t.y), point(x2, t.y)];
    } else if (t.col === s.col && t.y !== s.y) {
      const down = t.y > s.y ? 1 : -1;
      waypoint = [point(s.x, s.y + (down * s.h) / 2), point(t.x, t.y - (down * t.h) / 2)];
    } else {
      // backwards: round below everything
      waypoint = [point(s.x, s.y + s.h / 2), point(s.x, bottom), point(t.x, bottom), point(t.x, t.y + t.h / 2)];
    }
    planeElement.push(m.create('bpmndi:BPMNEdge', { id: fresh(`${e.id}_di`), bpmnElement: flows.get(e.id), waypoint }));
  }
  const plane = m.create('bpmndi:BPMNPlane', { id: fresh(`${proc.id}_plane`), bpmnElement: proc, planeElement });
  return m.create('bpmndi:BPMNDiagram', { id: fresh(`${proc.id}_diagram`), plane });
}

// ---- import -----------------------------------------------------------------------------------

export interface BpmnImport {
  definition: ProcessDefinition;
  /** the process's (or its pool's) name, if the file has one */
  name: string | null;
  /** what was dropped or approximated, in Chinese */
  warnings: string[];
}

/** A node while importing; `skip` nodes are removed afterwards by joining their flows through. */
interface DNode {
  key: string;
  raw: string;
  kind: 'node' | 'skip';
  type?: NodeType;
  fields: Record<string, unknown>;
}
interface DEdge {
  raw: string;
  from: string;
  to: string;
  name?: string;
  condition?: string;
  isDefault?: boolean;
}

/** where a moddle-xml message points (its lines and columns count from 0) */
function where(msg: string): string {
  const line = /line: (\d+)/.exec(msg);
  const col = /column: (\d+)/.exec(msg);
  return line ? `（第 ${Number(line[1]) + 1} 行${col ? `第 ${Number(col[1]) + 1} 列` : ''}附近）` : '';
}

function parseError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/failed to parse document as <bpmn:Definitions>/.test(msg)) return '文件不是 BPMN 2.0 文档（根元素必须是 bpmn:definitions）';
  return `无法解析 BPMN 文件，内容不是格式正确的 XML${where(msg)}`;
}

/** ISO 8601 duration (P1DT2H30M, PT0.5H …) in hours, or null */
export function isoDurationHours(text: string): number | null {
  const num = String.raw`(\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)`;
  const re = new RegExp(`^P(?:${num}Y)?(?:${num}M)?(?:${num}W)?(?:${num}D)?(?:T(?:${num}H)?(?:${num}M)?(?:${num}S)?)?$`, 'i');
  const s = text.trim();
  const r = re.exec(s);
  if (!r || s === 'P' || /T$/i.test(s)) return null;
  const [y, mo, w, dd, h, mi, se] = r.slice(1).map((v) => (v ? Number(v.replace(',', '.')) : 0)) as number[];
  return y! * 8760 + mo! * 720 + w! * 168 + dd! * 24 + h! + mi! / 60 + se! / 3600;
}

/** Import a BPMN 2.0 document: the first executable process (else the first process with content). */
export async function fromBpmnXml(xml: string): Promise<BpmnImport> {
  if (typeof xml !== 'string') throw badRequest('请上传 BPMN 2.0 XML 文件');
  if (xml.length > MAX_BPMN_BYTES || Buffer.byteLength(xml, 'utf8') > MAX_BPMN_BYTES) throw badRequest('BPMN 文件不能超过 2 MB');
  const text = xml.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw badRequest('BPMN 文件不能包含 DOCTYPE 或实体声明（出于安全原因不予处理）');
  if (!text.trim()) throw badRequest('BPMN 文件是空的');
  if (!text.trimStart().startsWith('<')) throw badRequest('文件不是 XML，请上传 BPMN 2.0 XML 文件（.bpmn）');

  let parsed: ParseResult;
  try {
    parsed = await moddle().fromXML(text);
  } catch (err) {
    throw badRequest(parseError(err));
  }
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (!warnings.includes(w)) warnings.push(w);
  };
  const root = parsed.rootElement;
  if (!root || root.$type !== 'bpmn:Definitions') throw badRequest('文件不是 BPMN 2.0 文档（根元素必须是 bpmn:definitions）');

  const processes = arr(root, 'rootElements').filter((e) => e.$type === 'bpmn:Process');
  if (!processes.length) {
    const broken = parsed.warnings.find((w) => /<bpmn:process>/.test(w.message));
    throw badRequest(broken ? `BPMN 文件中的流程无法读取${where(broken.message)}${/illegal ID/.test(broken.message) ? '：元素编号不合法' : ''}` : 'BPMN 文件中没有流程（bpmn:process）');
  }
  const hasContent = (p: El) => arr(p, 'flowElements').some((e) => e.$type !== 'bpmn:SequenceFlow');
  const proc = processes.find((p) => p.isExecutable === true && hasContent(p)) ?? processes.find(hasContent);
  if (!proc) throw badRequest('BPMN 文件中的流程没有任何节点');
  const collaborations = arr(root, 'rootElements').filter((e) => e.$type === 'bpmn:Collaboration');
  const poolOf = (p: El) => collaborations.flatMap((c) => arr(c, 'participants')).find((x) => ref(x, 'processRef') === p);
  const participant = poolOf(proc);
  if (processes.length > 1) {
    const nameOf = (p: El) => oneLine(p.name ?? poolOf(p)?.name ?? p.id ?? '');
    warn(`文件包含 ${processes.length} 个流程（池），只导入了“${nameOf(proc)}”，其余的（${processes.filter((p) => p !== proc).map(nameOf).join('、')}）已忽略`);
  }
  const messageFlows = collaborations.flatMap((c) => arr(c, 'messageFlows')).length;
  if (messageFlows) warn(`消息流（${messageFlows} 条）已忽略`);

  // refuse the oversized before any quadratic work; definitionSchema has the exact limits
  let flowNodes = 0;
  let flowCount = 0;
  const count = (c: El) => {
    for (const e of arr(c, 'flowElements')) {
      if (e.$type === 'bpmn:SequenceFlow') flowCount++;
      else if (!DATA_TYPES.has(e.$type)) flowNodes++;
      count(e);
    }
  };
  count(proc);
  if (flowNodes > 1000 || flowCount > 2000) throw badRequest(`BPMN 流程过大（${flowNodes} 个节点、${flowCount} 条连线），本系统的流程最多 500 个节点、1000 条连线`);

  const procSettings = settingsOf(proc);
  const ours = procSettings !== null && procSettings !== 'invalid';
  // the text is already decoded, so the declared encoding does not matter
  const unknown = parsed.warnings.filter((w) => !/unsupported document encoding/.test(w.message));
  if (unknown.length) warn(`文件中有 ${unknown.length} 处内容无法识别或引用无效，已忽略`);

  const result = ours ? importOurs(proc, procSettings, warn) : importForeign(proc, warn);
  const rawName = proc.name ?? participant?.name;
  const name = rawName === undefined ? null : ours ? rawName : oneLine(rawName) || null;

  const check = definitionSchema.safeParse(result);
  if (!check.success) {
    throw badRequest(
      `导入的流程不符合本系统的流程格式：${check.error.issues[0]?.message ?? ''}`,
      check.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return { definition: check.data, name, warnings };
}

/** a file we exported (possibly touched up in another modeller) */
function importOurs(proc: El, procSettings: Record<string, unknown>, warn: (w: string) => void): Record<string, unknown> {
  const nodes: Record<string, unknown>[] = [];
  const edges: Record<string, unknown>[] = [];
  const known = new Set<El>();
  const counts = noCounts();
  for (const el of arr(proc, 'flowElements')) {
    if (el.$type === 'bpmn:SequenceFlow') continue;
    const s = settingsOf(el);
    const type = s && s !== 'invalid' && typeof s.type === 'string' && Object.hasOwn(ELEMENT, s.type) ? (s.type as NodeType) : null;
    if (!type || s === null || s === 'invalid' || ELEMENT[type] !== el.$type) {
      // added or changed in another modeller: map it like a foreign element
      const mapped = mapForeign(el, warn, { topLevel: true, startSeen: nodes.some((n) => n.type === 'start'), counts });
      if (mapped.kind !== 'node') {
        warn(`${label(el)}在本系统中没有对应的节点，已忽略`);
        continue;
      }
      nodes.push({ ...mapped.fields, id: el.id, name: nodeName(el, mapped.type) });
      known.add(el);
      continue;
    }
    const node: Record<string, unknown> = { ...s, id: el.id, name: el.name ?? NODE_TYPE_NAMES[type], type };
    if (type === 'timer') node.delayHours = timerHours(el, warn);
    if (type === 'subprocess') node.processKey = str(el, 'calledElement') ?? '';
    nodes.push(node);
    known.add(el);
  }
  for (const el of arr(proc, 'flowElements')) {
    if (el.$type !== 'bpmn:SequenceFlow') continue;
    const source = ref(el, 'sourceRef');
    const target = ref(el, 'targetRef');
    if (!source || !target || !known.has(source) || !known.has(target)) {
      warn(`${label(el)}连接的节点未导入，已忽略`);
      continue;
    }
    const s = settingsOf(el);
    const extra = s && s !== 'invalid' ? s : {};
    const edge: Record<string, unknown> = { id: el.id, from: source.id, to: target.id };
    if (el.name !== undefined) edge.name = el.name;
    const body = str(ref(el, 'conditionExpression'), 'body');
    if (body !== undefined) edge.condition = body;
    else if (typeof extra.condition === 'string') edge.condition = extra.condition;
    if (typeof extra.isDefault === 'boolean') edge.isDefault = extra.isDefault;
    else if (ref(source, 'default') === el) edge.isDefault = true;
    edges.push(edge);
  }
  summarise(counts, warn);
  const def: Record<string, unknown> = { nodes, edges };
  if (procSettings.formKey !== undefined) def.formKey = procSettings.formKey;
  if (procSettings.titleTemplate !== undefined) def.titleTemplate = procSettings.titleTemplate;
  return def;
}

function nodeName(el: El, type: NodeType): string {
  return oneLine(el.name ?? '').slice(0, 64) || NODE_TYPE_NAMES[type];
}

function timerHours(el: El, warn: (w: string) => void): number {
  const t = arr(el, 'eventDefinitions').find((x) => x.$type === 'bpmn:TimerEventDefinition');
  const duration = str(ref(t, 'timeDuration'), 'body');
  const h = duration === undefined ? null : isoDurationHours(duration);
  if (h === null) {
    const other = str(ref(t, 'timeDate'), 'body') ?? str(ref(t, 'timeCycle'), 'body') ?? duration;
    warn(`${label(el)}的定时设置${other ? `“${oneLine(other).slice(0, 60)}”` : ''}不是时长（如 PT2H），已按 24 小时导入，请修改`);
    return 24;
  }
  if (h <= 0) {
    warn(`${label(el)}的延时不大于 0，已按 24 小时导入，请修改`);
    return 24;
  }
  if (h > 24 * 365) {
    warn(`${label(el)}的延时超过一年，已按一年导入`);
    return 24 * 365;
  }
  return h;
}

interface ForeignCounts {
  data: number;
  lanes: number;
  artifacts: number;
  assigneesMissing: number;
  plainTasks: number;
  resources: number;
}
const noCounts = (): ForeignCounts => ({ data: 0, lanes: 0, artifacts: 0, assigneesMissing: 0, plainTasks: 0, resources: 0 });

function summarise(counts: ForeignCounts, warn: (w: string) => void): void {
  if (counts.lanes) warn(`泳道（${counts.lanes} 条）已忽略，泳道代表的角色请改为设置处理人`);
  if (counts.data) warn(`数据对象和数据存储（${counts.data} 个）已忽略`);
  if (counts.artifacts) warn(`注释、分组和关联（${counts.artifacts} 个）已忽略`);
  if (counts.plainTasks) warn(`${counts.plainTasks} 个未指定类型的任务按审批节点导入`);
  if (counts.resources) warn(`${counts.resources} 个任务的执行人设置（potentialOwner 等）已忽略，请改为设置处理人规则`);
  if (counts.assigneesMissing) warn(`${counts.assigneesMissing} 个审批或办理节点没有设置处理人，请在发布前设置`);
}

type Mapped = { kind: 'node'; type: NodeType; fields: Record<string, unknown> } | { kind: 'skip' } | { kind: 'drop' };

/** best-effort mapping of one foreign flow node */
function mapForeign(el: El, warn: (w: string) => void, ctx: { topLevel: boolean; startSeen: boolean; counts: ForeignCounts }): Mapped {
  const node = (type: NodeType, fields: Record<string, unknown> = {}): Mapped => ({ kind: 'node', type, fields: { type, ...fields } });
  const eventKinds = arr(el, 'eventDefinitions')
    .map((d) => EVENT_NAMES[d.$type] ?? d.$type)
    .join('、');
  const human = (type: 'approval' | 'handle'): Mapped => {
    const fields: Record<string, unknown> = { assignees: [], onEmpty: 'fail' };
    const loop = ref(el, 'loopCharacteristics');
    if (loop?.$type === 'bpmn:MultiInstanceLoopCharacteristics') fields.mode = loop.isSequential === true ? 'sequential' : 'all';
    else if (loop) warn(`${label(el)}的循环设置已忽略`);
    if (arr(el, 'resources').length) ctx.counts.resources++;
    ctx.counts.assigneesMissing++;
    return node(type, fields);
  };
  switch (el.$type) {
    case 'bpmn:StartEvent':
      if (!ctx.topLevel) return { kind: 'skip' };
      if (ctx.startSeen) {
        warn(`流程有多个开始事件，只保留了第一个；${label(el)}及其出线已忽略`);
        return { kind: 'drop' };
      }
      if (eventKinds) warn(`${label(el)}的触发方式（${eventKinds}）已忽略，导入后由发起人手动发起`);
      return node('start');
    case 'bpmn:EndEvent':
      if (!ctx.topLevel) return { kind: 'skip' };
      if (eventKinds) warn(`${label(el)}的结束类型（${eventKinds}）已忽略，按普通结束导入`);
      return node('end');
    case 'bpmn:UserTask':
      return human('approval');
    case 'bpmn:Task':
      ctx.counts.plainTasks++;
      return human('approval');
    case 'bpmn:ManualTask':
      return human('handle');
    case 'bpmn:ReceiveTask':
      warn(`${label(el)}按办理节点导入（由人工确认收到）`);
      return human('handle');
    case 'bpmn:ServiceTask':
    case 'bpmn:ScriptTask':
    case 'bpmn:BusinessRuleTask':
      warn(`${label(el)}在本系统中没有对应的自动操作，按办理节点导入（由人工处理）`);
      return human('handle');
    case 'bpmn:SendTask':
      warn(`${label(el)}按“自动通知”操作导入（通知发起人），如需抄送请改为抄送节点`);
      return node('action', { hook: 'notify', params: { message: nodeName(el, 'action') } });
    case 'bpmn:CallActivity': {
      const called = str(el, 'calledElement')?.trim();
      if (!called) warn(`${label(el)}没有指定被调用的流程，请设置子流程`);
      return node('subprocess', { processKey: (called || el.id || 'subprocess').slice(0, 64) });
    }
    case 'bpmn:ExclusiveGateway':
      return node('exclusive');
    case 'bpmn:ParallelGateway':
      return node('parallel');
    case 'bpmn:InclusiveGateway':
      return node('inclusive');
    case 'bpmn:ComplexGateway':
      warn(`${label(el)}按包容分支导入，其激活条件已忽略`);
      return node('inclusive');
    case 'bpmn:EventBasedGateway':
      warn(`${label(el)}按条件分支导入，其后等待的事件已忽略，请为各分支设置条件和默认分支`);
      return node('exclusive');
    case 'bpmn:IntermediateCatchEvent':
      if (arr(el, 'eventDefinitions').some((d) => d.$type === 'bpmn:TimerEventDefinition')) return node('timer', { delayHours: timerHours(el, warn) });
      warn(`${label(el)}（${eventKinds || '无类型'}）在本系统中没有对应的节点，已去掉并将前后连线直接相连`);
      return { kind: 'skip' };
    case 'bpmn:IntermediateThrowEvent':
      warn(`${label(el)}（${eventKinds || '里程碑'}）在本系统中没有对应的节点，已去掉并将前后连线直接相连`);
      return { kind: 'skip' };
    default:
      warn(`${label(el)}在本系统中没有对应的节点，已去掉并将前后连线直接相连`);
      return { kind: 'skip' };
  }
}

const DATA_TYPES = new Set(['bpmn:DataObject', 'bpmn:DataObjectReference', 'bpmn:DataStoreReference']);
const SUBPROCESS_TYPES = new Set(['bpmn:SubProcess', 'bpmn:Transaction', 'bpmn:AdHocSubProcess']);

/** a model from another tool */
function importForeign(proc: El, warn: (w: string) => void): Record<string, unknown> {
  const nodes: DNode[] = [];
  let edges: DEdge[] = [];
  const keyOf = new Map<El, string>();
  const exitOf = new Map<El, string>();
  const dropped = new Set<El>();
  const flowsIn: El[] = [];
  let counter = 0;
  const newKey = () => `#${counter++}`;
  const counts = noCounts();
  const vendors = new Set<string>();

  const noteVendor = (el: El) => {
    for (const k of Object.keys(el.$attrs ?? {})) if (k.includes(':') && !k.startsWith('xmlns')) vendors.add(k.split(':')[0]!);
    for (const v of arr(ref(el, 'extensionElements'), 'values')) if (v.$type !== 'oa:Settings') vendors.add(v.$type.split(':')[0]!);
  };
  const countLanes = (sets: El[]): number => sets.reduce((sum, s) => sum + arr(s, 'lanes').reduce((k, l) => k + 1 + countLanes(ref(l, 'childLaneSet') ? [ref(l, 'childLaneSet')!] : []), 0), 0);

  let startSeen = false;
  const walk = (container: El, topLevel: boolean): { starts: string[]; ends: string[]; all: El[] } => {
    counts.lanes += countLanes(arr(container, 'laneSets'));
    counts.artifacts += arr(container, 'artifacts').length;
    const starts: string[] = [];
    const ends: string[] = [];
    const all: El[] = [];
    for (const el of arr(container, 'flowElements')) {
      noteVendor(el);
      if (el.$type === 'bpmn:SequenceFlow') {
        flowsIn.push(el);
        continue;
      }
      if (DATA_TYPES.has(el.$type)) {
        counts.data++;
        continue;
      }
      if (el.$type === 'bpmn:BoundaryEvent') {
        const host = ref(el, 'attachedToRef');
        warn(`${label(el)}${host ? `（附着在${label(host)}上）` : ''}及其后的连线已忽略，其后的节点需手工连接或删除；超时处理可改用节点的超时设置`);
        dropped.add(el);
        continue;
      }
      if (SUBPROCESS_TYPES.has(el.$type)) {
        if (el.triggeredByEvent === true) {
          warn(`事件子流程${label(el)}已忽略`);
          dropped.add(el);
          continue;
        }
        // flatten: entry → inner starts … inner ends → exit; both are joined through afterwards
        const entry = newKey();
        const exit = newKey();
        keyOf.set(el, entry);
        exitOf.set(el, exit);
        nodes.push({ key: entry, raw: el.id ?? entry, kind: 'skip', fields: {} });
        nodes.push({ key: exit, raw: `${el.id ?? exit}_exit`, kind: 'skip', fields: {} });
        const inner = walk(el, false);
        if (inner.all.length) warn(`${label(el)}已展开到主流程中`);
        else warn(`${label(el)}没有内容，已去掉`);
        const hasInner = (e: El, side: 'targetRef' | 'sourceRef') => arr(el, 'flowElements').some((f) => f.$type === 'bpmn:SequenceFlow' && ref(f, side) === e);
        const firsts = inner.starts.length ? inner.starts : inner.all.filter((e) => !hasInner(e, 'targetRef')).map((e) => keyOf.get(e)!);
        const lasts = [...inner.ends, ...inner.all.filter((e) => !hasInner(e, 'sourceRef') && !inner.ends.includes(keyOf.get(e)!)).map((e) => exitOf.get(e) ?? keyOf.get(e)!)];
        for (const f of firsts) edges.push({ raw: `${el.id}_in`, from: entry, to: f });
        for (const l of lasts) edges.push({ raw: `${el.id}_out`, from: l, to: exit });
        if (!inner.all.length) edges.push({ raw: `${el.id}_through`, from: entry, to: exit });
        all.push(el);
        continue;
      }
      const mapped = mapForeign(el, warn, { topLevel, startSeen, counts });
      if (mapped.kind === 'drop') {
        dropped.add(el);
        continue;
      }
      const key = newKey();
      keyOf.set(el, key);
      all.push(el);
      if (mapped.kind === 'skip') {
        nodes.push({ key, raw: el.id ?? key, kind: 'skip', fields: {} });
        if (el.$type === 'bpmn:StartEvent') starts.push(key);
        if (el.$type === 'bpmn:EndEvent') ends.push(key);
        continue;
      }
      if (mapped.type === 'start') startSeen = true;
      nodes.push({ key, raw: el.id ?? key, kind: 'node', type: mapped.type, fields: { ...mapped.fields, name: nodeName(el, mapped.type) } });
    }
    return { starts, ends, all };
  };
  walk(proc, true);

  for (const f of flowsIn) {
    const source = ref(f, 'sourceRef');
    const target = ref(f, 'targetRef');
    if (source && dropped.has(source)) continue;
    const from = source && (exitOf.get(source) ?? keyOf.get(source));
    const to = target && keyOf.get(target);
    if (!from || !to) {
      if (!(target && dropped.has(target))) warn(`${label(f)}连接的节点不存在或未导入，已忽略`);
      continue;
    }
    const edge: DEdge = { raw: f.id ?? newKey(), from, to };
    const n = oneLine(f.name ?? '').slice(0, 64);
    if (n) edge.name = n;
    const body = str(ref(f, 'conditionExpression'), 'body')?.trim();
    if (body) {
      if (body.length > 2000) warn(`${label(f)}的条件表达式超过 2000 个字符，已忽略`);
      else {
        edge.condition = body;
        const problem = conditions.check(body);
        if (problem) warn(`${label(f)}的条件“${oneLine(body).slice(0, 60)}”不符合本系统的表达式语法（${problem}），请修改`);
      }
    }
    if (source && ref(source, 'default') === f) edge.isDefault = true;
    edges.push(edge);
  }

  // join flows through skipped nodes
  for (const s of nodes.filter((n) => n.kind === 'skip')) {
    const ins = edges.filter((e) => e.to === s.key && e.from !== s.key);
    const outs = edges.filter((e) => e.from === s.key && e.to !== s.key);
    edges = edges.filter((e) => e.from !== s.key && e.to !== s.key);
    for (const i of ins) {
      outs.forEach((o, k) => {
        const e: DEdge = { raw: outs.length === 1 ? i.raw : `${i.raw}_${k + 1}`, from: i.from, to: o.to };
        const name = i.name ?? o.name;
        const condition = i.condition ?? o.condition;
        const isDefault = i.isDefault ?? o.isDefault;
        if (name !== undefined) e.name = name;
        if (condition !== undefined) e.condition = condition;
        if (isDefault !== undefined) e.isDefault = isDefault;
        edges.push(e);
      });
    }
  }
  let kept = nodes.filter((n) => n.kind === 'node');
  const outsOf = (key: string) => edges.filter((e) => e.from === key);
  const insOf = (key: string) => edges.filter((e) => e.to === key);
  const add = (n: Omit<DNode, 'key' | 'kind'>) => {
    const node: DNode = { ...n, key: newKey(), kind: 'node' };
    kept.push(node);
    return node;
  };

  if (!kept.some((n) => n.type === 'start')) {
    const start = add({ raw: 'StartEvent_auto', type: 'start', fields: { type: 'start', name: NODE_TYPE_NAMES.start } });
    kept = [start, ...kept.filter((n) => n !== start)];
    const roots = kept.filter((n) => n !== start && !insOf(n.key).length);
    for (const r of roots.length ? roots : kept.slice(1, 2)) edges.push({ raw: 'Flow_start_auto', from: start.key, to: r.key });
    warn('流程没有开始事件，已自动添加');
  }
  const dangling = kept.filter((n) => n.type !== 'end' && !outsOf(n.key).length);
  if (dangling.length) {
    const end = kept.find((n) => n.type === 'end') ?? add({ raw: 'EndEvent_auto', type: 'end', fields: { type: 'end', name: NODE_TYPE_NAMES.end } });
    for (const n of dangling) edges.push({ raw: `${n.raw}_to_end`, from: n.key, to: end.key });
    warn(`${dangling.length} 个节点没有出线，已连接到结束节点：${dangling.map((n) => `“${String(n.fields.name)}”`).join('、')}`);
  }
  // BPMN allows a gateway to join and split at once, and several flows to leave a task (an implicit
  // parallel split, or an inclusive one when the flows have conditions); here both need a gateway.
  for (const n of [...kept]) {
    const outs = outsOf(n.key);
    if (outs.length < 2) continue;
    const gateway = n.type && GATEWAYS.has(n.type);
    if (gateway && insOf(n.key).length < 2) continue;
    const type: NodeType = gateway ? n.type! : outs.some((e) => e.condition !== undefined || e.isDefault) ? 'inclusive' : 'parallel';
    const split = add({ raw: `${n.raw}_split`, type, fields: { type, name: NODE_TYPE_NAMES[type] } });
    for (const e of outs) e.from = split.key;
    edges.push({ raw: `${n.raw}_to_split`, from: n.key, to: split.key });
    if (!gateway) warn(`${NODE_TYPE_NAMES[n.type!]}节点“${String(n.fields.name)}”有多条出线，已在其后添加${NODE_TYPE_NAMES[type]}节点`);
  }

  if (vendors.size) warn(`其他建模工具的扩展设置（${[...vendors].join('、')}）已忽略`);
  summarise(counts, warn);

  // ids: keep the valid ones, rewrite the rest (BPMN ids may contain dots, start with _ or be Chinese)
  const used = new Set<string>();
  const valid = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
  const items = [...kept.map((n) => ({ raw: n.raw, set: (id: string) => (n.fields.id = id) })), ...edges.map((e) => ({ raw: e.raw, set: (id: string) => (e.raw = id) }))];
  const pending: typeof items = [];
  for (const it of items) {
    if (valid.test(it.raw) && !used.has(it.raw)) {
      used.add(it.raw);
      it.set(it.raw);
    } else pending.push(it);
  }
  let rewritten = 0;
  for (const it of pending) {
    let base = it.raw.replace(/[^A-Za-z0-9_-]/g, '_');
    if (!/^[A-Za-z]/.test(base)) base = `n${base}`;
    base = base.slice(0, 60);
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base.slice(0, 60)}_${i}`;
    used.add(id);
    it.set(id);
    if (!it.raw.startsWith('#')) rewritten++;
  }
  if (rewritten) warn(`${rewritten} 个元素编号不符合本系统要求（字母开头，只含字母、数字、- 和 _），已自动改写`);

  const idOf = new Map(kept.map((n) => [n.key, n.fields.id as string]));
  return {
    nodes: kept.map((n) => n.fields),
    edges: edges.map((e) => {
      const out: EdgeDef = { id: e.raw, from: idOf.get(e.from)!, to: idOf.get(e.to)! };
      if (e.name !== undefined) out.name = e.name;
      if (e.condition !== undefined) out.condition = e.condition;
      if (e.isDefault !== undefined) out.isDefault = e.isDefault;
      return out;
    }),
  };
}
