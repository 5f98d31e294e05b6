import test from 'ava';
import {
  approvalCard,
  approvalCardUpdate,
  approvalResultText,
  batchUserIds,
  buildSendBodies,
  markdown,
  news,
  parseApprovalButtonKey,
  planMemberSends,
  recordSends,
  templateCard,
  text,
  textcard,
  WecomError,
  type MemberSendHistory,
} from '../src/index.ts';

// Builders (issue 6 item 6; R20.1 notices, R20.2 approving from a card, R3.8 reminders): exactly the
// JSON shapes of SPEC.md §5, batching by 1000 and the per-member rate planner.

test('issue 6.6: text, textcard, markdown and news bodies have the SPEC §5.1 shapes', (t) => {
  const [txt] = buildSendBodies(text('你好\n<a href="https://oa.example">查看</a>'), { users: ['10001'] }, { agentId: 1000002, safe: 0 });
  t.deepEqual(txt, { agentid: 1000002, msgtype: 'text', text: { content: '你好\n<a href="https://oa.example">查看</a>' }, safe: 0, touser: '10001' });

  const [card] = buildSendBodies(textcard({ title: '会议提醒', description: '<div class="gray">2025年1月6日</div><div class="normal">三楼会议室</div>', url: 'https://oa.example/h5/#/meeting/1', btntxt: '详情' }), { users: ['10001', '10002'] }, { agentId: 1000002 });
  t.deepEqual(card, {
    agentid: 1000002,
    msgtype: 'textcard',
    textcard: { title: '会议提醒', description: '<div class="gray">2025年1月6日</div><div class="normal">三楼会议室</div>', url: 'https://oa.example/h5/#/meeting/1', btntxt: '详情' },
    touser: '10001|10002',
  });
  t.deepEqual(textcard({ title: 'a', description: 'b', url: 'c' }), { msgtype: 'textcard', textcard: { title: 'a', description: 'b', url: 'c' } });

  t.deepEqual(markdown('**加粗** [链接](https://oa.example) <font color="warning">逾期</font>'), { msgtype: 'markdown', markdown: { content: '**加粗** [链接](https://oa.example) <font color="warning">逾期</font>' } });

  t.deepEqual(news([{ title: '院内通知', description: '摘要', url: 'https://oa.example/n/1', picurl: 'https://oa.example/p.png' }, { title: '小程序', appid: 'wx123', pagepath: 'pages/notice/detail?id=2' }]), {
    msgtype: 'news',
    news: {
      articles: [
        { title: '院内通知', description: '摘要', url: 'https://oa.example/n/1', picurl: 'https://oa.example/p.png' },
        { title: '小程序', appid: 'wx123', pagepath: 'pages/notice/detail?id=2' },
      ],
    },
  });
  t.throws(() => news([]), { instanceOf: WecomError });
  t.throws(() => news(Array.from({ length: 9 }, (_, i) => ({ title: String(i) }))), { instanceOf: WecomError });
});

test('issue 6.6: a template card reproduces the SPEC §5.2 button_interaction request exactly', (t) => {
  const expected = JSON.parse(
    '{"agentid":1000002,"touser":"OPENID","msgtype":"template_card","duplicate_check_interval":1800,"template_card":{"card_type":"button_interaction","source":{"icon_url":"图片的url","desc":"企业微信"},"main_title":{"title":"欢迎使用企业微信","desc":"您的好友正在邀请您加入企业微信"},"sub_title_text":"下载企业微信还能抢红包！","task_id":"task_id","horizontal_content_list":[{"keyname":"邀请人","value":"张三"},{"type":1,"keyname":"企业微信官网","value":"点击访问","url":"https://work.weixin.qq.com"},{"type":2,"keyname":"企业微信下载","value":"企业微信.apk","media_id":"文件的media_id"}],"card_action":{"type":2,"url":"https://work.weixin.qq.com","appid":"小程序的appid","pagepath":"/index.html"},"button_list":[{"text":"按钮1","style":1,"key":"button_key_1"},{"text":"按钮2","style":2,"key":"button_key_2"}]}}',
  );
  const [body] = buildSendBodies(templateCard(expected.template_card), { users: ['OPENID'] }, { agentId: 1000002, duplicate_check_interval: 1800 });
  t.deepEqual(body, expected);
});

test('R20.2: the approval card is a button_interaction card with approve/reject keys, task id and detail link', (t) => {
  const content = approvalCard({
    taskId: 1234,
    title: '请假申请 · 张三',
    description: '牙体牙髓科 · 2025-01-06 提交',
    fields: [
      { key: '类型', value: '事假' },
      { key: '天数', value: '2' },
    ],
    sourceDesc: '协同办公',
    detail: { url: 'https://oa.example/h5/#/task/1234' },
  });
  t.deepEqual(content, {
    msgtype: 'template_card',
    template_card: {
      card_type: 'button_interaction',
      source: { desc: '协同办公' },
      main_title: { title: '请假申请 · 张三', desc: '牙体牙髓科 · 2025-01-06 提交' },
      horizontal_content_list: [
        { keyname: '类型', value: '事假' },
        { keyname: '天数', value: '2' },
      ],
      jump_list: [{ type: 1, title: '查看详情', url: 'https://oa.example/h5/#/task/1234' }],
      card_action: { type: 1, url: 'https://oa.example/h5/#/task/1234' },
      task_id: 'oa-task-1234',
      button_list: [
        { text: '同意', style: 1, key: 'oa:approve:1234' },
        { text: '驳回', style: 2, key: 'oa:reject:1234' },
      ],
    },
  });
  // opening the mini program instead
  const mp = approvalCard({ taskId: 'x1', cardTaskId: 'oa-task-x1-2', title: 't', detail: { appid: 'wxmini', pagepath: 'pages/task/detail?id=x1' } });
  t.like(mp, { template_card: { task_id: 'oa-task-x1-2', card_action: { type: 2, appid: 'wxmini', pagepath: 'pages/task/detail?id=x1' }, jump_list: [{ type: 2, title: '查看详情', appid: 'wxmini', pagepath: 'pages/task/detail?id=x1' }] } });
  t.throws(() => approvalCard({ taskId: 1, cardTaskId: 'bad id!', title: 't', detail: { url: 'u' } }), { instanceOf: WecomError });
  t.deepEqual(parseApprovalButtonKey('oa:reject:1234'), { action: 'reject', taskId: '1234' });
  t.is(parseApprovalButtonKey('something_else'), undefined);
});

test('R20.2: the updated card shows the result, also when handled elsewhere (SPEC §5.4 shape)', (t) => {
  t.deepEqual(approvalCardUpdate({ responseCode: 'rc1', outcome: { kind: 'approved', by: '李四' }, userids: ['10001'], agentId: 1000002 }), {
    userids: ['10001'],
    agentid: 1000002,
    response_code: 'rc1',
    button: { replace_name: '李四 已同意' },
  });
  t.deepEqual(approvalCardUpdate({ responseCode: 'rc2', outcome: { kind: 'already_handled', by: '王五', state: '已驳回' } }), {
    atall: 1,
    response_code: 'rc2',
    button: { replace_name: '已由王五处理（已驳回）' },
  });
  t.is(approvalResultText({ kind: 'rejected', by: '李四' }), '李四 已驳回');
  t.is(approvalResultText({ kind: 'unavailable', reason: '申请已撤回' }), '申请已撤回');
  const card = { taskId: 9, title: '报销申请', detail: { url: 'https://oa.example/h5/#/task/9' } };
  t.deepEqual(approvalCardUpdate({ responseCode: 'rc3', outcome: { kind: 'approved', by: '李四' }, mode: 'card', card }), {
    atall: 1,
    response_code: 'rc3',
    template_card: {
      card_type: 'text_notice',
      main_title: { title: '报销申请' },
      emphasis_content: { title: '李四 已同意' },
      jump_list: [{ type: 1, title: '查看详情', url: 'https://oa.example/h5/#/task/9' }],
      card_action: { type: 1, url: 'https://oa.example/h5/#/task/9' },
      task_id: 'oa-task-9',
    },
  });
  t.throws(() => approvalCardUpdate({ responseCode: 'r', outcome: { kind: 'approved', by: 'x' }, mode: 'card' }), { instanceOf: WecomError });
});

test('issue 6.6: recipients are batched up to 1,000 per call, deduplicated case-insensitively', (t) => {
  const ids = Array.from({ length: 2500 }, (_, i) => String(10001 + i));
  const bodies = buildSendBodies(text('全院通知'), { users: [...ids, '10001', ' 10002 '] }, { agentId: 1 });
  t.is(bodies.length, 3);
  t.deepEqual(
    bodies.map((b) => b.touser!.split('|').length),
    [1000, 1000, 500],
  );
  t.deepEqual(batchUserIds(['ZhangSan', 'zhangsan', 'LiSi']), [['ZhangSan', 'LiSi']]);
  // parties ≤100 per call, combined with the first user batch
  const mixed = buildSendBodies(text('x'), { users: ['a'], parties: Array.from({ length: 150 }, (_, i) => i + 2), tags: [1] });
  t.is(mixed.length, 2);
  t.like(mixed[0], { touser: 'a', totag: '1' });
  t.is(mixed[0]!.toparty!.split('|').length, 100);
  t.is(mixed[1]!.toparty!.split('|').length, 50);
  t.deepEqual(buildSendBodies(text('x'), { all: true }), [{ msgtype: 'text', text: { content: 'x' }, touser: '@all' }]);
  t.throws(() => buildSendBodies(text('x'), { users: [] }), { instanceOf: WecomError });
});

test('issue 6.6: per-member planner keeps each member at ≤30 per minute and ≤1000 per hour', (t) => {
  const t0 = 1_000_000_000;
  let history: MemberSendHistory = new Map();
  for (let i = 0; i < 30; i++) {
    const plan = planMemberSends(['a', 'B'], history, t0 + i * 100);
    t.deepEqual(plan.sendNow, ['a', 'B']);
    history = recordSends(history, plan.sendNow, t0 + i * 100);
  }
  const blocked = planMemberSends(['A', 'c'], history, t0 + 5000);
  t.deepEqual(blocked.sendNow, ['c']);
  t.deepEqual(blocked.deferred, [{ userid: 'A', notBefore: t0 + 60_000 }]);
  // a minute after the first send one slot frees up
  t.deepEqual(planMemberSends(['a'], history, t0 + 60_000).sendNow, ['a']);
  // hourly limit
  const hourly = new Map([['x', Array.from({ length: 1000 }, (_, i) => t0 + i * 3000)]]);
  const h = planMemberSends(['x'], hourly, t0 + 3_000_000);
  t.deepEqual(h.deferred, [{ userid: 'x', notBefore: t0 + 3_600_000 }]);
  // recordSends prunes entries older than an hour and does not mutate its input
  const pruned = recordSends(history, ['z'], t0 + 3_700_000);
  t.false(pruned.has('a'));
  t.deepEqual(pruned.get('z'), [t0 + 3_700_000]);
  t.is(history.get('a')!.length, 30);
});
