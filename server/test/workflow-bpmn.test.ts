import test, { type ExecutionContext } from 'ava';
import { BpmnModdle } from 'bpmn-moddle';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppError } from '../src/http/errors.ts';
import { MAX_BPMN_BYTES, fromBpmnXml, isoDurationHours, toBpmnXml } from '../src/workflow/bpmn.ts';
import { definitionSchema, type ProcessDefinition } from '../src/workflow/definition.ts';
import { analyse } from '../src/workflow/graph.ts';

// BPMN 2.0 XML interchange for process definitions (issue 4).

const CHINESE = /[\u4e00-\u9fff]/;
const meta = { key: 'purchase-approval', name: '采购审批' };

/** every node type and every edge feature; also a publishable graph */
const FULL: ProcessDefinition = definitionSchema.parse({
  formKey: 'purchase',
  titleTemplate: '{initiator}的采购申请',
  nodes: [
    { id: 'start', type: 'start', name: '发起', fieldPermissions: { amount: 'editable', remark: 'hidden' } },
    {
      id: 'deptApproval',
      type: 'approval',
      name: '科室主任审批',
      assignees: [
        { kind: 'deptHead', of: 'initiator' },
        { kind: 'role', roleCode: 'finance', scope: { initiatorDept: true, subtree: false } },
        { kind: 'post', postId: 12, scope: { deptId: 3 } },
        { kind: 'levelsUp', of: 'field', field: 'applicant', levels: 2, untilRank: 5 },
        { kind: 'person', userIds: [1, 2, 3] },
        { kind: 'group', groupId: 4 },
      ],
      mode: 'ratio',
      ratio: 0.6,
      onEmpty: 'admin',
      skipIfInitiator: true,
      skipIfJustApproved: true,
      rejectTo: 'initiator',
      actions: ['approve', 'reject', 'return', 'transfer', 'addSign'],
      fieldPermissions: { amount: 'readonly', remark: 'editable' },
      timeLimitHours: 48,
      timeout: { remindTimes: 2, remindEveryHours: 12.5, then: 'escalate' },
      guidance: '请核对预算科目。\n金额 > 1 万元需附比价单 & 合同草稿 <重要>',
      links: [{ name: '采购管理办法', url: 'https://oa.example/docs/purchase?x=1&y=2' }],
    },
    { id: 'fork', type: 'parallel', name: '并行会审' },
    { id: 'assetHandle', type: 'handle', name: '资产科办理', assignees: [{ kind: 'initiatorChooses', multiple: true }], mode: 'sequential', onEmpty: 'skip' },
    { id: 'notifyFinance', type: 'cc', name: '知会财务', assignees: [{ kind: 'role', roleCode: 'cashier' }, { kind: 'superior', of: 'previous' }], commentable: false },
    { id: 'join', type: 'parallel', name: '会审汇聚' },
    { id: 'amountCheck', type: 'inclusive', name: '按金额' },
    { id: 'archive', type: 'action', name: '自动归档', hook: 'archive', params: { folder: '采购/2026', copies: 2, tags: ['a', 'b'], nested: { on: true, none: null } } },
    { id: 'coolDown', type: 'timer', name: '冷静期', delayHours: 0.5 },
    { id: 'incJoin', type: 'inclusive', name: '汇聚' },
    { id: 'route', type: 'exclusive', name: '是否招标' },
    { id: 'tender', type: 'subprocess', name: '招标子流程', processKey: 'tender-2026' },
    { id: 'directBuy', type: 'approval', name: '院长审批', assignees: [{ kind: 'leaderInCharge', of: 'initiator' }], mode: 'all', timeout: { then: 'autoApprove' } },
    { id: 'merge', type: 'exclusive', name: '合并' },
    { id: 'end', type: 'end', name: '结束' },
  ],
  edges: [
    { id: 'e1', from: 'start', to: 'deptApproval' },
    { id: 'e2', from: 'deptApproval', to: 'fork', name: '同意' },
    { id: 'e3', from: 'fork', to: 'assetHandle' },
    { id: 'e4', from: 'fork', to: 'notifyFinance' },
    { id: 'e5', from: 'assetHandle', to: 'join' },
    { id: 'e6', from: 'notifyFinance', to: 'join' },
    { id: 'e7', from: 'join', to: 'amountCheck' },
    { id: 'e8', from: 'amountCheck', to: 'archive', name: '大额', condition: 'form.amount > 10000 && initiator.deptCode != "ADMIN"' },
    { id: 'e9', from: 'amountCheck', to: 'coolDown', name: '其他', isDefault: true },
    { id: 'e10', from: 'archive', to: 'incJoin' },
    { id: 'e11', from: 'coolDown', to: 'incJoin' },
    { id: 'e12', from: 'incJoin', to: 'route' },
    { id: 'e13', from: 'route', to: 'tender', name: '需要招标', condition: 'form.amount >= 500000' },
    { id: 'e14', from: 'route', to: 'directBuy', isDefault: true },
    { id: 'e15', from: 'tender', to: 'merge' },
    { id: 'e16', from: 'directBuy', to: 'merge' },
    { id: 'e17', from: 'merge', to: 'end' },
  ],
});

function isBadRequest(t: ExecutionContext, err: unknown, pattern: RegExp): void {
  t.true(err instanceof AppError, String(err));
  const e = err as AppError;
  t.is(e.status, 400);
  t.regex(e.detail, CHINESE);
  t.regex(e.detail, pattern);
}

async function rejects(t: ExecutionContext, xml: string, pattern: RegExp): Promise<void> {
  const err = await t.throwsAsync(fromBpmnXml(xml));
  isBadRequest(t, err, pattern);
}

const BPMN_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="https://example.org/x">';

// ---- round trip --------------------------------------------------------------------------------

test('the fixture uses every node type and is publishable', (t) => {
  t.deepEqual(new Set(FULL.nodes.map((n) => n.type)).size, 11);
  t.deepEqual(analyse(FULL).issues, []);
});

test('round trip: export then import gives back exactly the definition', async (t) => {
  const xml = await toBpmnXml(FULL, meta);
  const back = await fromBpmnXml(xml);
  t.deepEqual(back.warnings, []);
  t.is(back.name, '采购审批');
  t.deepEqual(back.definition, definitionSchema.parse(FULL));
  t.deepEqual(back.definition, FULL);
  // and it is stable
  t.is(await toBpmnXml(back.definition, meta), xml);
});

test('round trip keeps the odd corners a draft may have', async (t) => {
  const def = definitionSchema.parse({
    nodes: [
      { id: 'S', type: 'start', name: '  发起  人'.trim() },
      { id: 'A', type: 'approval', name: '审批  一\t二' },
      { id: 'G', type: 'exclusive', name: 'x' },
      { id: 'E', type: 'end', name: '结束' },
      { id: 'Process_k', type: 'end', name: '与流程编号同名' },
    ],
    edges: [
      { id: 'e1', from: 'S', to: 'A', name: '', condition: '', isDefault: false },
      { id: 'e2', from: 'A', to: 'G', condition: '  form.a > 1\n', isDefault: true },
      { id: 'e3', from: 'G', to: 'E', isDefault: true },
      { id: 'e4', from: 'G', to: 'Process_k', isDefault: true, condition: 'true' },
      { id: 'e5', from: 'G', to: 'G' },
    ],
  });
  const xml = await toBpmnXml(def, { key: 'k', name: '' });
  const back = await fromBpmnXml(xml);
  t.deepEqual(back.definition, def);
  t.is(back.name, null);
});

test('the export is plain BPMN 2.0: bpmn-moddle re-reads it without warnings, with the expected elements', async (t) => {
  const xml = await toBpmnXml(FULL, meta);
  t.regex(xml, /xmlns:oa="https:\/\/oa\.example\/schema\/bpmn"/);
  // as another modeller would read it: without our extension descriptor
  const { rootElement, warnings } = await new BpmnModdle().fromXML(xml);
  t.deepEqual(
    warnings.map((w) => w.message),
    [],
  );
  const processes = (rootElement.rootElements as Array<Record<string, any>>).filter((e) => e.$type === 'bpmn:Process');
  t.is(processes.length, 1);
  const proc = processes[0]!;
  t.is(proc.id, 'Process_purchase-approval');
  t.true(proc.isExecutable);
  const byId = new Map<string, Record<string, any>>((proc.flowElements as Array<Record<string, any>>).map((e) => [e.id, e]));
  const typeOf = (id: string) => byId.get(id)?.$type;
  t.is(typeOf('start'), 'bpmn:StartEvent');
  t.is(typeOf('deptApproval'), 'bpmn:UserTask');
  t.is(typeOf('assetHandle'), 'bpmn:UserTask');
  t.is(typeOf('notifyFinance'), 'bpmn:SendTask');
  t.is(typeOf('fork'), 'bpmn:ParallelGateway');
  t.is(typeOf('amountCheck'), 'bpmn:InclusiveGateway');
  t.is(typeOf('route'), 'bpmn:ExclusiveGateway');
  t.is(typeOf('archive'), 'bpmn:ServiceTask');
  t.is(typeOf('coolDown'), 'bpmn:IntermediateCatchEvent');
  t.is(typeOf('tender'), 'bpmn:CallActivity');
  t.is(typeOf('end'), 'bpmn:EndEvent');
  t.is(byId.get('tender')!.calledElement, 'tender-2026');
  t.is(byId.get('coolDown')!.eventDefinitions[0].$type, 'bpmn:TimerEventDefinition');
  t.is(byId.get('coolDown')!.eventDefinitions[0].timeDuration.body, 'PT0.5H');
  t.is(byId.get('route')!.default.id, 'e14');
  t.is(byId.get('amountCheck')!.default.id, 'e9');
  const cond = byId.get('e8')!.conditionExpression;
  t.is(cond.$type, 'bpmn:FormalExpression');
  t.is(cond.body, 'form.amount > 10000 && initiator.deptCode != "ADMIN"');
  t.regex(xml, /<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">form\.amount &gt; 10000 &amp;&amp;/);
  t.is(byId.get('e8')!.sourceRef.id, 'amountCheck');
  t.is(byId.get('deptApproval')!.loopCharacteristics.$type, 'bpmn:MultiInstanceLoopCharacteristics');
  t.true(byId.get('assetHandle')!.loopCharacteristics.isSequential);
  // our settings ride along in extension elements
  const ext = byId.get('deptApproval')!.extensionElements.values[0];
  t.is(ext.$type, 'oa:settings');
  // a diagram with a shape for each node and an edge for each flow, left to right
  const plane = (rootElement.diagrams as any[])[0].plane;
  const shapes = plane.planeElement.filter((e: any) => e.$type === 'bpmndi:BPMNShape');
  const edges = plane.planeElement.filter((e: any) => e.$type === 'bpmndi:BPMNEdge');
  t.is(shapes.length, FULL.nodes.length);
  t.is(edges.length, FULL.edges.length);
  const x = (id: string) => shapes.find((s: any) => s.bpmnElement.id === id).bounds.x;
  t.true(x('start') < x('deptApproval') && x('deptApproval') < x('fork') && x('join') < x('end'));
  t.true(edges.every((e: any) => e.waypoint.length >= 2));
});

test('export refuses what cannot be written as BPMN', async (t) => {
  const dupe = structuredClone(FULL);
  dupe.edges[0]!.id = 'start';
  isBadRequest(t, await t.throwsAsync(toBpmnXml(dupe, meta)), /重复/);
  const dangling = structuredClone(FULL);
  dangling.edges[0]!.to = 'nowhere';
  isBadRequest(t, await t.throwsAsync(toBpmnXml(dangling, meta)), /不存在/);
  isBadRequest(t, await t.throwsAsync(toBpmnXml({ nodes: [], edges: [] } as unknown as ProcessDefinition, meta)), /不合法/);
});

test('ISO 8601 durations', (t) => {
  t.is(isoDurationHours('PT2H'), 2);
  t.is(isoDurationHours('PT0.5H'), 0.5);
  t.is(isoDurationHours('P1DT2H30M'), 26.5);
  t.is(isoDurationHours('P1W'), 168);
  t.is(isoDurationHours('PT90S'), 0.025);
  t.is(isoDurationHours('P'), null);
  t.is(isoDurationHours('PT'), null);
  t.is(isoDurationHours('${duration}'), null);
  t.is(isoDurationHours('2026-01-01T00:00:00Z'), null);
});

// ---- foreign models ----------------------------------------------------------------------------

test('a foreign model: tasks, gateways, events and extras mapped best-effort with Chinese warnings', async (t) => {
  const xml = `${BPMN_HEAD}
  <bpmn:collaboration id="c"><bpmn:participant id="pool" name=" 报销  流程 " processRef="reimburse.v2" /></bpmn:collaboration>
  <bpmn:process id="reimburse.v2" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="财务"><bpmn:flowNodeRef>_t1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s" name="收到申请"><bpmn:messageEventDefinition /></bpmn:startEvent>
    <bpmn:userTask id="_t1" name="财务&#10;审核" camunda:assignee="demo" xmlns:camunda="http://camunda.org/schema/1.0/bpmn">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true" />
    </bpmn:userTask>
    <bpmn:boundaryEvent id="b1" attachedToRef="_t1"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:task id="tb" name="超时处理" />
    <bpmn:exclusiveGateway id="x" default="f3" />
    <bpmn:sendTask id="send" name="通知申请人" />
    <bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:intermediateThrowEvent id="ms" name="里程碑" />
    <bpmn:eventBasedGateway id="eg" />
    <bpmn:intermediateCatchEvent id="msg"><bpmn:messageEventDefinition /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="late"><bpmn:timerEventDefinition><bpmn:timeDate>2026-12-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:subProcess id="sub" name="复核">
      <bpmn:startEvent id="ss" /><bpmn:manualTask id="inner" name="人工复核" /><bpmn:endEvent id="se" />
      <bpmn:sequenceFlow id="sf1" sourceRef="ss" targetRef="inner" /><bpmn:sequenceFlow id="sf2" sourceRef="inner" targetRef="se" />
    </bpmn:subProcess>
    <bpmn:callActivity id="call" calledElement="payment" />
    <bpmn:serviceTask id="svc" name="写入账簿" />
    <bpmn:dataObjectReference id="dor" dataObjectRef="do" /><bpmn:dataObject id="do" />
    <bpmn:endEvent id="e"><bpmn:terminateEventDefinition /></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="_t1" />
    <bpmn:sequenceFlow id="f2" sourceRef="_t1" targetRef="x" />
    <bpmn:sequenceFlow id="f3" name="否" sourceRef="x" targetRef="send" />
    <bpmn:sequenceFlow id="f4" name="是" sourceRef="x" targetRef="wait"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">form.amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="ms" />
    <bpmn:sequenceFlow id="f6" sourceRef="ms" targetRef="eg" />
    <bpmn:sequenceFlow id="f7" sourceRef="eg" targetRef="msg" />
    <bpmn:sequenceFlow id="f8" sourceRef="eg" targetRef="late" />
    <bpmn:sequenceFlow id="f9" sourceRef="msg" targetRef="sub" />
    <bpmn:sequenceFlow id="f10" sourceRef="late" targetRef="call" />
    <bpmn:sequenceFlow id="f11" sourceRef="sub" targetRef="svc" />
    <bpmn:sequenceFlow id="f12" sourceRef="call" targetRef="svc" />
    <bpmn:sequenceFlow id="f13" sourceRef="svc" targetRef="e" />
    <bpmn:sequenceFlow id="f14" sourceRef="send" targetRef="e" />
    <bpmn:sequenceFlow id="f15" sourceRef="b1" targetRef="tb" />
    <bpmn:sequenceFlow id="f16" sourceRef="tb" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>`;
  const { definition: d, name, warnings } = await fromBpmnXml(xml);
  t.is(name, '报销 流程');
  for (const w of warnings) t.regex(w, CHINESE);
  const node = (bpmnId: string) => d.nodes.find((n) => n.id === bpmnId);
  // userTask → approval, nobody assigned, fails when empty; sequential multi-instance → 依次审批
  const t1 = d.nodes.find((n) => n.name === '财务 审核');
  t.like(t1, { type: 'approval', assignees: [], onEmpty: 'fail', mode: 'sequential' });
  t.regex(t1!.id, /^[A-Za-z][A-Za-z0-9_-]*$/);
  t.like(node('s'), { type: 'start', name: '收到申请' });
  t.like(node('x'), { type: 'exclusive', name: '条件分支' });
  t.like(node('send'), { type: 'action', hook: 'notify' });
  t.like(node('wait'), { type: 'timer', delayHours: 24 });
  t.like(node('late'), { type: 'timer', delayHours: 24 });
  t.like(node('eg'), { type: 'exclusive' });
  t.like(node('call'), { type: 'subprocess', processKey: 'payment' });
  t.like(node('svc'), { type: 'handle', assignees: [] });
  t.like(node('inner'), { type: 'handle', name: '人工复核' });
  t.like(node('e'), { type: 'end' });
  t.like(node('tb'), { type: 'approval', name: '超时处理' });
  for (const gone of ['b1', 'ms', 'msg', 'sub', 'ss', 'se', 'dor', 'do']) t.is(node(gone), undefined, gone);
  // conditions copied, the gateway's default kept, flows joined through what was dropped
  t.like(
    d.edges.find((e) => e.id === 'f4'),
    { from: 'x', to: 'wait', name: '是', condition: 'form.amount > 100' },
  );
  t.like(
    d.edges.find((e) => e.id === 'f3'),
    { from: 'x', to: 'send', isDefault: true },
  );
  t.truthy(d.edges.find((e) => e.from === 'wait' && e.to === 'eg'));
  t.truthy(d.edges.find((e) => e.from === 'eg' && e.to === 'inner'));
  t.truthy(d.edges.find((e) => e.from === 'inner' && e.to === 'svc'));
  t.truthy(d.edges.find((e) => e.from === 'eg' && e.to === 'late'));
  t.is(
    d.edges.filter((e) => e.from === 'b1' || e.to === 'b1').length,
    0,
  );
  const has = (re: RegExp) => t.true(warnings.some((w) => re.test(w)), `no warning matching ${re}: ${warnings.join(' | ')}`);
  has(/泳道/);
  has(/边界事件/);
  has(/事件网关/);
  has(/发送任务“通知申请人”/);
  has(/中间抛出事件“里程碑”/);
  has(/内嵌子流程“复核”已展开/);
  has(/数据对象/);
  has(/camunda/);
  has(/触发方式（消息）/);
  has(/结束类型（终止）/);
  has(/timeDate|2026-12-01/);
  has(/编号/);
  has(/没有设置处理人/);
  t.notThrows(() => definitionSchema.parse(d));
});

test('implicit BPMN forms are repaired: no start, several flows leaving a task, a gateway that joins and splits, no end', async (t) => {
  const xml = `${BPMN_HEAD}
  <bpmn:process id="p">
    <bpmn:userTask id="a" />
    <bpmn:userTask id="b" />
    <bpmn:userTask id="c" />
    <bpmn:exclusiveGateway id="g" />
    <bpmn:userTask id="d" />
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="b" />
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="c" />
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="g" />
    <bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="g" />
    <bpmn:sequenceFlow id="f5" sourceRef="g" targetRef="d"><bpmn:conditionExpression>form.x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f6" sourceRef="g" targetRef="a" />
  </bpmn:process>
</bpmn:definitions>`;
  const { definition: d, warnings } = await fromBpmnXml(xml);
  t.true(warnings.some((w) => /开始事件/.test(w)));
  t.true(warnings.some((w) => /多条出线/.test(w)));
  t.true(warnings.some((w) => /没有出线/.test(w)));
  const start = d.nodes.find((n) => n.type === 'start')!;
  t.deepEqual(
    d.edges.filter((e) => e.from === start.id).map((e) => e.to),
    ['a'],
  );
  t.like(d.nodes.find((n) => n.id === 'a_split'), { type: 'parallel' });
  t.deepEqual(
    d.edges
      .filter((e) => e.from === 'a_split')
      .map((e) => e.to)
      .sort(),
    ['b', 'c'],
  );
  t.like(d.nodes.find((n) => n.id === 'g_split'), { type: 'exclusive' });
  t.deepEqual(
    d.edges.filter((e) => e.from === 'g').map((e) => e.to),
    ['g_split'],
  );
  t.truthy(d.nodes.find((n) => n.type === 'end'));
  t.truthy(d.edges.find((e) => e.from === 'd' && d.nodes.find((n) => n.id === e.to)?.type === 'end'));
  // what is left for the designer is said by analyse(): the parallel split has no parallel join
  const codes = analyse(fill(d)).issues.map((i) => i.code);
  t.true(codes.length > 0);
});

test('a file we wrote, then edited in another modeller, keeps our settings for the untouched nodes', async (t) => {
  let xml = await toBpmnXml(FULL, meta);
  xml = xml.replace('name="院长审批"', 'name="院长签批"').replace(/(<bpmn:userTask id="assetHandle"[^>]*>\s*<bpmn:extensionElements>\s*)<oa:settings[^<]*<\/oa:settings>/, '$1');
  const { definition: d, warnings } = await fromBpmnXml(xml);
  t.like(d.nodes.find((n) => n.id === 'directBuy'), { name: '院长签批', mode: 'all', assignees: [{ kind: 'leaderInCharge', of: 'initiator' }] });
  // the node whose settings were removed comes back like a foreign user task
  t.like(d.nodes.find((n) => n.id === 'assetHandle'), { type: 'approval', assignees: [], mode: 'sequential' });
  t.true(warnings.some((w) => /没有设置处理人/.test(w)));
  t.deepEqual(d.edges, FULL.edges);
});

// ---- hostile input -----------------------------------------------------------------------------

test('hostile or broken input: clear Chinese errors, never a crash', async (t) => {
  const bomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" name="&lol3;"/></bpmn:definitions>`;
  await rejects(t, bomb, /DOCTYPE/);
  await rejects(t, '<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', /DOCTYPE/);
  await rejects(t, 'hello, this is not XML', /不是 XML/);
  await rejects(t, '{"nodes":[],"edges":[]}', /不是 XML/);
  await rejects(t, '', /空/);
  await rejects(t, '<a><b></a>', /无法解析.*第 1 行/);
  await rejects(t, '<html><body>hi</body></html>', /不是 BPMN 2\.0 文档/);
  await rejects(t, `${BPMN_HEAD}</bpmn:definitions>`, /没有流程/);
  await rejects(t, `${BPMN_HEAD}<bpmn:process id="p" isExecutable="true"/></bpmn:definitions>`, /没有任何节点/);
  await rejects(t, `${BPMN_HEAD}<bpmn:process id="p"><bpmn:sequenceFlow id="f" sourceRef="x" targetRef="y"/></bpmn:process></bpmn:definitions>`, /没有任何节点/);
  const big = `${BPMN_HEAD}<bpmn:process id="p"><bpmn:documentation>${'x'.repeat(3 * 1024 * 1024)}</bpmn:documentation></bpmn:process></bpmn:definitions>`;
  t.true(Buffer.byteLength(big) > MAX_BPMN_BYTES);
  await rejects(t, big, /2 MB/);
  // 1 M Chinese characters are 3 MB of UTF-8
  await rejects(t, `${BPMN_HEAD}<!-- ${'流'.repeat(1024 * 1024)} --></bpmn:definitions>`, /2 MB/);
  await rejects(t, 42 as unknown as string, /BPMN/);
  // moddle refuses non-NCName ids, and with them the whole process
  await rejects(t, `${BPMN_HEAD}<bpmn:process id="报销"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>`, /流程无法读取（第 2 行.*编号不合法/);
});

test('a huge process within the size limit is refused before mapping', async (t) => {
  const tasks = Array.from({ length: 40_000 }, (_, i) => `<bpmn:task id="t${i}"/>`).join('');
  const xml = `${BPMN_HEAD}<bpmn:process id="p"><bpmn:startEvent id="s"/>${tasks}</bpmn:process></bpmn:definitions>`;
  t.true(Buffer.byteLength(xml) < MAX_BPMN_BYTES);
  const started = Date.now();
  isBadRequest(t, await t.throwsAsync(fromBpmnXml(xml)), /过大.*最多 500 个节点/);
  t.true(Date.now() - started < 10_000);
});

test('an import that would break our limits is refused with the schema message', async (t) => {
  const tasks = Array.from({ length: 501 }, (_, i) => `<bpmn:userTask id="t${i}"/>`).join('');
  const flows = Array.from({ length: 500 }, (_, i) => `<bpmn:sequenceFlow id="f${i}" sourceRef="t${i}" targetRef="t${i + 1}"/>`).join('');
  const err = await t.throwsAsync(fromBpmnXml(`${BPMN_HEAD}<bpmn:process id="p"><bpmn:startEvent id="s"/>${tasks}${flows}</bpmn:process></bpmn:definitions>`));
  isBadRequest(t, err, /不符合/);
  t.true((err as AppError).errors!.some((e) => /500/.test(e.message)));
});

// ---- real-world models: the BPMN MIWG reference suite (never copied into the repo; skipped when absent)

const MIWG = fileURLToPath(new URL('../../../shared/corpora/bpmn/', import.meta.url));

/** decode as the XML declaration says (the suite has ISO-8859-1 and UTF-8 files) */
function readModel(file: string): string {
  const bytes = readFileSync(`${MIWG}${file}`);
  const declared = /encoding="([^"]+)"/i.exec(bytes.subarray(0, 200).toString('latin1'))?.[1] ?? 'utf-8';
  return new TextDecoder(declared).decode(bytes);
}

/** what a process designer would do before publishing: give every person-node someone */
function fill(d: ProcessDefinition): ProcessDefinition {
  const out = structuredClone(d);
  for (const n of out.nodes) if ((n.type === 'approval' || n.type === 'handle') && !n.assignees.length) n.assignees = [{ kind: 'initiator' }];
  return out;
}

const models = existsSync(MIWG) ? readdirSync(MIWG).filter((f) => f.endsWith('.bpmn')) : [];
if (!models.length) {
  test(`MIWG reference models`, (t) => {
    t.log(`skipped: ${MIWG} not found (the corpora live outside the repository, see shared/corpora/SOURCES.md)`);
    t.pass();
  });
}

for (const file of models) {
  test(`MIWG ${file}: imports with Chinese warnings, a valid definition, and exports back exactly`, async (t) => {
    const { definition, name, warnings } = await fromBpmnXml(readModel(file));
    t.log(`${file}: ${definition.nodes.length} nodes, ${definition.edges.length} edges, name ${name}`);
    for (const w of warnings) {
      t.log(`  warning: ${w}`);
      t.regex(w, CHINESE);
    }
    t.notThrows(() => definitionSchema.parse(definition));
    const filled = fill(definition);
    for (const i of analyse(filled).issues) t.log(`  remaining: ${i.code} ${i.message}`);
    const back = await fromBpmnXml(await toBpmnXml(filled, { key: file, name: name ?? file }));
    t.deepEqual(back.definition, filled);
    t.deepEqual(back.warnings, []);
  });
}

const model = (file: string) => (models.includes(file) ? test : test.skip);

model('A.1.0.bpmn')('MIWG A.1.0 (sequence): start, three tasks, end; publishable once assignees are set', async (t) => {
  const { definition, warnings } = await fromBpmnXml(readModel('A.1.0.bpmn'));
  t.deepEqual(
    definition.nodes.map((n) => [n.type, n.name]),
    [
      ['start', 'Start Event'],
      ['approval', 'Task 1'],
      ['approval', 'Task 2'],
      ['approval', 'Task 3'],
      ['end', 'End Event'],
    ],
  );
  t.true(warnings.some((w) => /没有设置处理人/.test(w)));
  t.deepEqual(
    analyse(definition).issues.map((i) => i.code),
    ['NO_ASSIGNEE', 'NO_ASSIGNEE', 'NO_ASSIGNEE'],
  );
  t.deepEqual(analyse(fill(definition)).issues, []);
});

model('A.2.0.bpmn')('MIWG A.2.0 (exclusive gateways): publishable once assignees, conditions and a default branch are set', async (t) => {
  const { definition } = await fromBpmnXml(readModel('A.2.0.bpmn'));
  t.is(definition.nodes.filter((n) => n.type === 'exclusive').length, 2);
  const filled = fill(definition);
  // The reference model is "descriptive": its split gateway has three unlabelled, unconditioned
  // flows. BPMN would pick one arbitrarily; we require conditions and exactly one default branch,
  // so exactly these issues remain, all on the split.
  const split = filled.nodes.find((n) => n.type === 'exclusive' && filled.edges.filter((e) => e.from === n.id).length > 1)!;
  const issues = analyse(filled).issues;
  t.deepEqual(
    issues.map((i) => i.code).sort(),
    ['DEFAULT_BRANCH', 'MISSING_CONDITION', 'MISSING_CONDITION', 'MISSING_CONDITION'],
  );
  t.true(issues.every((i) => i.nodeId === split.id || filled.edges.find((e) => e.id === i.edgeId)?.from === split.id));
  filled.edges
    .filter((e) => e.from === split.id)
    .forEach((e, i) => {
      if (i === 0) e.isDefault = true;
      else e.condition = `form.choice == ${i}`;
    });
  t.deepEqual(analyse(filled).issues, []);
});

model('A.3.0.bpmn')('MIWG A.3.0: boundary events on a sub-process are dropped with a warning', async (t) => {
  const { warnings } = await fromBpmnXml(readModel('A.3.0.bpmn'));
  t.is(warnings.filter((w) => /边界事件/.test(w)).length, 2);
});

model('A.4.0.bpmn')('MIWG A.4.0: several pools and message flows', async (t) => {
  const { warnings } = await fromBpmnXml(readModel('A.4.0.bpmn'));
  t.true(warnings.some((w) => /2 个流程/.test(w)));
  t.true(warnings.some((w) => /消息流/.test(w)));
});

model('C.1.0.bpmn')('MIWG C.1.0: the executable process of the collaboration, vendor extensions and JUEL conditions reported', async (t) => {
  const { definition, name, warnings } = await fromBpmnXml(readModel('C.1.0.bpmn'));
  t.is(name, 'BPMN MIWG Test Case C.1.0');
  t.truthy(definition.nodes.find((n) => n.name === 'Rechnung klären'));
  t.true(warnings.some((w) => /camunda/.test(w)));
  t.true(warnings.some((w) => /泳道/.test(w)));
  t.true(warnings.some((w) => /\$\{approved\}.*表达式语法/.test(w)));
  const edge = definition.edges.find((e) => e.condition === '${approved}');
  t.truthy(edge, 'condition text copied as it is');
});

model('C.9.1.bpmn')('MIWG C.9.1: send tasks and timer boundary events', async (t) => {
  const { definition, warnings } = await fromBpmnXml(readModel('C.9.1.bpmn'));
  t.true(definition.nodes.some((n) => n.type === 'action' && n.hook === 'notify'));
  t.true(warnings.some((w) => /边界事件“1 week”/.test(w)));
});
