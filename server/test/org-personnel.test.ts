import test from 'ava';
import type { Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';

// Issue 3 item 4, R12.2: personnel files (人事档案). Fixed fields plus custom fields added at any
// time, validated on write; history of every change; sensitive fields encrypted at rest, masked,
// revealed only to org:sensitive on request (audited); optimistic versions.

const FIELDS = '/api/v1/org/file-fields';
const fileOf = (id: number) => `/api/v1/org/people/${id}/file`;

/** A valid 18-digit resident ID number (GB 11643 check character) from its first 17 digits. */
function idNo(first17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * w[i]!;
  return first17 + '10X98765432'[sum % 11];
}
const ID_A = idNo('44010619900101123');
const ID_B = idNo('11010519850615002');
const BANK = '6222020200112233445';
const HOME = '广东省广州市天河区体育西路 101 号';

async function signIn(ta: TestApp, username: string): Promise<HttpClient> {
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}

async function audits(db: Database, action: string) {
  const rows = await db.models.AuditLog.findAll({ where: { action }, order: [['seq', 'ASC']], raw: true });
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail ?? 'null') }));
}

async function setup(ta: TestApp) {
  const hrId = await ta.createUser({ username: 'hr', name: '人事专员', roles: ['hradmin'] });
  const zhang = await ta.createUser({ username: 'zhang', name: '张三', roles: ['staff'] });
  const li = await ta.createUser({ username: 'li', name: '李四', roles: ['staff'] });
  const hr = await signIn(ta, 'hr');
  const me = await signIn(ta, 'zhang');
  const other = await signIn(ta, 'li');
  return { hr, hrId, zhang, li, me, other };
}

async function field(hr: HttpClient, body: Record<string, unknown>) {
  const r = await hr.post(FIELDS, body);
  if (r.status !== 201) throw new Error(`field ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { id: number; key: string };
}

test('R12.2 fixed fields and custom fields added at any time are filled, read back and kept in a history of who, when, old and new', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);

  const empty = await s.hr.get(fileOf(s.zhang));
  t.is(empty.status, 200, JSON.stringify(empty.body));
  t.is(empty.body.version, 0);
  t.is(empty.body.person.name, '张三');
  t.is(empty.body.values.ethnicity, null);
  t.deepEqual(empty.body.custom, {});

  const first = await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { ethnicity: '汉族', hireDate: '２０２０-０３-０１', unionMember: true, education: '大学本科' }, reason: '建档' });
  t.is(first.status, 200, JSON.stringify(first.body));
  t.is(first.body.version, 1);
  t.is(first.body.values.hireDate, '2020-03-01', 'full-width digits normalised');
  t.is(first.body.values.unionMember, true);
  t.is(first.body.updatedBy.name, '人事专员');

  // fields added later, of every type, then filled
  await field(s.hr, { key: 'shoeSize', label: '鞋码', type: 'number', options: { min: 30, max: 50, integer: true } });
  await field(s.hr, { key: 'hobby', label: '爱好', type: 'text', options: { maxLength: 20 } });
  await field(s.hr, { key: 'licenceDate', label: '执业证取得日期', type: 'date' });
  await field(s.hr, { key: 'bloodType', label: '血型', type: 'select', options: { choices: ['A', 'B', 'AB', 'O'] } });
  await field(s.hr, { key: 'languages', label: '外语', type: 'multiselect', options: { choices: ['英语', '日语', '德语'], maxItems: 2 } });
  await field(s.hr, { key: 'diploma', label: '学历证书', type: 'attachment', options: { maxFiles: 2 } });
  const listed = await s.hr.get(FIELDS);
  t.is(listed.status, 200);
  t.deepEqual(
    listed.body.items.map((f: { key: string }) => f.key),
    ['shoeSize', 'hobby', 'licenceDate', 'bloodType', 'languages', 'diploma'],
  );
  t.true(listed.body.fixed.some((f: { key: string; sensitive: boolean }) => f.key === 'idNumber' && f.sensitive));

  const up = await s.hr.upload('/api/v1/files', { name: '毕业证.pdf', bytes: '%PDF-1.4\n%test\n', type: 'application/pdf' });
  t.is(up.status, 201, JSON.stringify(up.body));
  const second = await s.hr.send('PATCH', fileOf(s.zhang), {
    version: 1,
    custom: { shoeSize: '４２', hobby: '书法', licenceDate: '2019-07-01', bloodType: 'O', languages: ['日语', '英语'], diploma: [up.body.id] },
  });
  t.is(second.status, 200, JSON.stringify(second.body));
  t.is(second.body.version, 2);
  t.deepEqual(second.body.custom, { shoeSize: 42, hobby: '书法', licenceDate: '2019-07-01', bloodType: 'O', languages: ['英语', '日语'], diploma: [up.body.id] });
  t.deepEqual(
    second.body.attachments.map((a: { name: string }) => a.name),
    ['毕业证.pdf'],
  );
  const stored = await ta.deps.db.models.StoredFile.findByPk(up.body.id);
  t.is(stored!.ownerType, 'person_file');
  t.is(stored!.ownerId, String(s.zhang));
  t.is((await s.me.get(`/api/v1/files/${up.body.id}`)).status, 200, 'the person may open the attachment of their own file');
  t.is((await s.other.get(`/api/v1/files/${up.body.id}`)).status, 404, 'a colleague may not');

  ta.clock.advanceMinutes(5);
  const third = await s.hr.send('PATCH', fileOf(s.zhang), { version: 2, values: { ethnicity: '回族', education: '大学本科' }, custom: { shoeSize: 43, hobby: null }, reason: '更正' });
  t.is(third.status, 200, JSON.stringify(third.body));
  t.is(third.body.version, 3);
  t.is(third.body.custom.hobby, null);

  const same = await s.hr.send('PATCH', fileOf(s.zhang), { version: 3, values: { ethnicity: '回族' } });
  t.is(same.status, 200);
  t.is(same.body.version, 3, 'no change, no new version');

  const h = await s.hr.get(`${fileOf(s.zhang)}/history?pageSize=50`);
  t.is(h.status, 200);
  t.is(h.body.total, 4 + 6 + 3);
  const latest = h.body.items.filter((i: { version: number }) => i.version === 3);
  t.deepEqual(latest.map((i: { field: string; oldValue: unknown; newValue: unknown }) => [i.field, i.oldValue, i.newValue]).sort(), [
    ['custom.hobby', '书法', null],
    ['custom.shoeSize', 42, 43],
    ['ethnicity', '汉族', '回族'],
  ]);
  const eth = latest.find((i: { field: string }) => i.field === 'ethnicity');
  t.is(eth.label, '民族');
  t.is(eth.changedBy.name, '人事专员');
  t.is(eth.reason, '更正');
  t.is(eth.source, 'edit');
  t.is(new Date(eth.changedAt).toISOString(), ta.clock.now().toISOString());
  const one = await s.hr.get(`${fileOf(s.zhang)}/history?field=custom.shoeSize`);
  t.is(one.body.total, 2);

  // the person reads their own file and its history
  const mine = await s.me.get('/api/v1/me/file');
  t.is(mine.status, 200);
  t.is(mine.body.values.ethnicity, '回族');
  t.is(mine.body.custom.bloodType, 'O');
  t.is((await s.me.get('/api/v1/me/file/history')).body.total, 13);
  t.is((await s.me.get(fileOf(s.zhang))).status, 200);

  // every save audited, naming fields only
  const a = await audits(ta.deps.db, 'org.file.update');
  t.is(a.length, 3);
  t.deepEqual(a[2]!.detail.fields.sort(), ['custom.hobby', 'custom.shoeSize', 'ethnicity']);
  t.is(JSON.stringify(a).includes('回族'), false, 'values are in the history, not the audit log');
});

test('R12.2 bad input gets a Chinese problem+json naming the field and changes nothing', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  await field(s.hr, { key: 'shoeSize', label: '鞋码', type: 'number', options: { min: 30, max: 50, integer: true } });
  await field(s.hr, { key: 'hobby', label: '爱好', type: 'text', options: { maxLength: 4 } });
  await field(s.hr, { key: 'licenceDate', label: '执业证取得日期', type: 'date' });
  await field(s.hr, { key: 'bloodType', label: '血型', type: 'select', options: { choices: ['A', 'B', 'AB', 'O'] } });
  await field(s.hr, { key: 'languages', label: '外语', type: 'multiselect', options: { choices: ['英语', '日语', '德语'] } });
  await field(s.hr, { key: 'diploma', label: '学历证书', type: 'attachment' });
  await field(s.hr, { key: 'badge', label: '工牌号', type: 'text', required: true });
  const ok = await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { ethnicity: '汉族' }, custom: { shoeSize: 40, badge: 'B-1' } });
  t.is(ok.status, 200, JSON.stringify(ok.body));

  const strangerUpload = await s.other.upload('/api/v1/files', { name: 'x.pdf', bytes: '%PDF-1.4\n%x\n', type: 'application/pdf' });
  t.is(strangerUpload.status, 201);
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ custom: { shoeSize: 'abc' } }, 'custom.shoeSize', /鞋码应为数字/],
    [{ custom: { shoeSize: 42.5 } }, 'custom.shoeSize', /应为整数/],
    [{ custom: { shoeSize: 99 } }, 'custom.shoeSize', /不能大于 50/],
    [{ custom: { shoeSize: '1e400' } }, 'custom.shoeSize', /应为数字|有限/],
    [{ custom: { hobby: '书法绘画音乐' } }, 'custom.hobby', /不能超过 4 个字符/],
    [{ custom: { hobby: 5 } }, 'custom.hobby', /应为文本/],
    [{ custom: { licenceDate: '2023-02-30' } }, 'custom.licenceDate', /YYYY-MM-DD/],
    [{ custom: { licenceDate: '2023/02/01' } }, 'custom.licenceDate', /YYYY-MM-DD/],
    [{ custom: { bloodType: 'C' } }, 'custom.bloodType', /「C」不在可选项中/],
    [{ custom: { languages: ['英语', '法语'] } }, 'custom.languages', /「法语」不在可选项中/],
    [{ custom: { languages: ['英语', '英语'] } }, 'custom.languages', /不能重复/],
    [{ custom: { languages: '英语' } }, 'custom.languages', /应为选项数组/],
    [{ custom: { diploma: [999999] } }, 'custom.diploma[0]', /不存在/],
    [{ custom: { diploma: [strangerUpload.body.id] } }, 'custom.diploma[0]', /不能用于此档案/],
    [{ custom: { badge: '' } }, 'custom.badge', /必填/],
    [{ custom: { nosuch: 1 } }, 'custom.nosuch', /没有这个自定义字段/],
    [{ values: { birthDate: '1990-13-01' } }, 'values.birthDate', /出生日期格式应为 YYYY-MM-DD/],
    [{ values: { idNumber: '440106199001011230' } }, 'values.idNumber', /身份证号不正确/],
    [{ values: { bankAccount: '12ab' } }, 'values.bankAccount', /银行账号应为 8–30 位数字/],
    [{ values: { ethnicity: 'x'.repeat(33) } }, 'values.ethnicity', /民族不能超过 32 个字符/],
    [{ values: { unionMember: 'yes' } }, 'values.unionMember', /工会会员只能是 true 或 false/],
    [{ values: { salary: 1 } }, 'values.salary', /不允许的字段/],
  ];
  for (const [body, path, msg] of cases) {
    const r = await s.hr.send('PATCH', fileOf(s.zhang), { version: 1, ...body });
    t.is(r.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    t.regex(r.headers.get('content-type') ?? '', /application\/problem\+json/);
    t.is(r.body.code, 'VALIDATION_FAILED');
    const e = r.body.errors.find((x: { path: string }) => x.path === path);
    t.truthy(e, `${path} in ${JSON.stringify(r.body.errors)}`);
    t.regex(e?.message ?? '', msg, path);
    t.regex(r.body.detail, /[\u4e00-\u9fff]/);
  }
  // several problems at once are all named, and a valid part of the same request is not applied
  const many = await s.hr.send('PATCH', fileOf(s.zhang), { version: 1, values: { ethnicity: '满族' }, custom: { shoeSize: 'x', bloodType: 'C' } });
  t.is(many.status, 400);
  t.deepEqual(many.body.errors.map((e: { path: string }) => e.path).sort(), ['custom.bloodType', 'custom.shoeSize']);

  const after = await s.hr.get(fileOf(s.zhang));
  t.is(after.body.version, 1, 'nothing changed');
  t.is(after.body.values.ethnicity, '汉族');
  t.is(after.body.custom.shoeSize, 40);
  t.is(await ta.deps.db.models.PersonFileChange.count(), 3);

  // field definitions: unknown type, bad options, duplicate key, type change in use
  const unknownType = await s.hr.post(FIELDS, { key: 'x1', label: '甲', type: 'colour' });
  t.is(unknownType.status, 400);
  t.is(unknownType.body.errors[0].path, 'type');
  t.regex(unknownType.body.errors[0].message, /字段类型只能是/);
  const noChoices = await s.hr.post(FIELDS, { key: 'x2', label: '乙', type: 'select' });
  t.is(noChoices.status, 400);
  t.is(noChoices.body.errors[0].path, 'options.choices');
  const dupChoices = await s.hr.post(FIELDS, { key: 'x3', label: '丙', type: 'select', options: { choices: ['a', 'a'] } });
  t.is(dupChoices.status, 400);
  t.regex(dupChoices.body.errors[0].message, /不能重复/);
  const wrongOption = await s.hr.post(FIELDS, { key: 'x4', label: '丁', type: 'number', options: { choices: ['a'] } });
  t.is(wrongOption.status, 400);
  t.is(wrongOption.body.errors[0].path, 'options.choices');
  const badKey = await s.hr.post(FIELDS, { key: '鞋码', label: '鞋码', type: 'text' });
  t.is(badKey.status, 400);
  t.is(badKey.body.errors[0].path, 'key');
  const reserved = await s.hr.post(FIELDS, { key: 'constructor', label: '戊', type: 'text' });
  t.is(reserved.status, 400);
  const dupKey = await s.hr.post(FIELDS, { key: 'ShoeSize', label: '鞋码2', type: 'text' });
  t.is(dupKey.status, 409);
  t.is(dupKey.body.code, 'FIELD_KEY_TAKEN');

  const defs = (await s.hr.get(FIELDS)).body.items as { id: number; key: string }[];
  const shoe = defs.find((d) => d.key === 'shoeSize')!;
  const retype = await s.hr.send('PATCH', `${FIELDS}/${shoe.id}`, { type: 'text' });
  t.is(retype.status, 409);
  t.is(retype.body.code, 'FIELD_IN_USE');
  t.regex(retype.body.detail, /鞋码.*已有 1 份档案填写了内容，不能修改类型/);
  const hobby = defs.find((d) => d.key === 'hobby')!;
  const retypeUnused = await s.hr.send('PATCH', `${FIELDS}/${hobby.id}`, { type: 'number', options: { min: 0 } });
  t.is(retypeUnused.status, 200, 'no values yet: the type may change');
  t.is(retypeUnused.body.type, 'number');
  const blood = defs.find((d) => d.key === 'bloodType')!;
  await s.hr.send('PATCH', fileOf(s.zhang), { version: 1, custom: { bloodType: 'AB' } });
  const dropChoice = await s.hr.send('PATCH', `${FIELDS}/${blood.id}`, { options: { choices: ['A', 'B', 'O'] } });
  t.is(dropChoice.status, 409);
  t.is(dropChoice.body.code, 'CHOICE_IN_USE');
  const addChoice = await s.hr.send('PATCH', `${FIELDS}/${blood.id}`, { options: { choices: ['A', 'B', 'AB', 'O', 'Rh-'] } });
  t.is(addChoice.status, 200);

  // deleting disables: the value is no longer shown or writable, its history stays
  t.is((await s.hr.send('DELETE', `${FIELDS}/${shoe.id}`)).status, 204);
  const hidden = await s.hr.get(fileOf(s.zhang));
  t.false(Object.hasOwn(hidden.body.custom, 'shoeSize'));
  const write = await s.hr.send('PATCH', fileOf(s.zhang), { version: hidden.body.version, custom: { shoeSize: 41 } });
  t.is(write.status, 400);
  t.regex(write.body.errors[0].message, /已删除/);
  t.is((await s.hr.get(`${fileOf(s.zhang)}/history?field=custom.shoeSize`)).body.total, 1);
  t.is((await s.hr.get(`${FIELDS}?includeDisabled=true`)).body.items.find((d: { key: string }) => d.key === 'shoeSize').enabled, false);
  const back = await s.hr.send('PATCH', `${FIELDS}/${shoe.id}`, { enabled: true });
  t.is(back.status, 200);
  t.is((await s.hr.get(fileOf(s.zhang))).body.custom.shoeSize, 40, 're-enabled: the value is back');
});

test('R12.2 sensitive fields are encrypted at rest, masked for the person and for HR, revealed only on request with org:sensitive, audited', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const db = ta.deps.db;
  const w = await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { idNumber: ID_A.slice(0, 6) + ' ' + ID_A.slice(6), bankAccount: BANK, homeAddress: HOME, ethnicity: '汉族' } });
  t.is(w.status, 200, JSON.stringify(w.body));
  t.is(w.body.values.idNumber, `${ID_A.slice(0, 3)}***********${ID_A.slice(-4)}`);
  t.is(w.body.values.bankAccount, '***************3445');
  t.is(w.body.values.homeAddress, '广东省广州市****');
  t.false(w.body.revealed);
  // changed again, so the history holds an old and a new value of each
  const w2 = await s.hr.send('PATCH', fileOf(s.zhang), { version: 1, values: { bankAccount: '6217000000001111', homeAddress: '广东省深圳市南山区科技园 8 栋' } });
  t.is(w2.status, 200);

  // at rest: nothing readable in the row, the history or the audit log
  const sentinels = [ID_A, ID_A.slice(6, 14), BANK, '6217000000001111', '体育西路', '科技园'];
  const dump = async (table: string) => JSON.stringify(await db.sequelize.query(`SELECT * FROM ${table}`, { type: 'SELECT' }));
  for (const table of ['person_profile', 'person_file_change', 'audit_log']) {
    const text = await dump(table);
    for (const v of sentinels) t.false(text.includes(v), `${v} in ${table}`);
  }
  const raw = (await db.sequelize.query('SELECT * FROM person_profile', { type: 'SELECT' }))[0] as unknown as Record<string, unknown>;
  t.regex(String(raw.id_number_enc), /^v1:/);
  t.regex(String(raw.bank_account_enc), /^v1:/);
  t.regex(String(raw.home_address_enc), /^v1:/);
  t.regex(String(raw.id_number_hash), /^[0-9a-f]{64}$/);
  const changes = await db.models.PersonFileChange.findAll({ where: { sensitive: true }, raw: true });
  t.is(changes.length, 5);
  for (const c of changes) for (const v of [c.oldValue, c.newValue]) if (v !== null) t.regex(v, /^v1:/);

  // a ciphertext moved to another person's row does not decrypt as theirs
  await s.hr.send('PATCH', fileOf(s.li), { version: 0, values: { ethnicity: '汉族' } });
  await db.models.PersonProfile.update({ idNumberEnc: String(raw.id_number_enc) }, { where: { userId: s.li } });
  t.is((await s.hr.get(`${fileOf(s.li)}?reveal=true`)).body.values.idNumber, '（无法解密）');

  // the person: masked, and no reveal
  const mine = await s.me.get('/api/v1/me/file');
  t.is(mine.body.values.idNumber, `${ID_A.slice(0, 3)}***********${ID_A.slice(-4)}`);
  t.is(mine.body.values.bankAccount, '************1111');
  t.is(mine.headers.get('cache-control'), 'private, no-store');
  const selfReveal = await s.me.get(`${fileOf(s.zhang)}?reveal=true`);
  t.is(selfReveal.status, 403);
  t.is(selfReveal.body.code, 'REVEAL_FORBIDDEN');
  t.regex(selfReveal.body.detail, /没有查看敏感信息明文的权限/);
  const myHistory = await s.me.get('/api/v1/me/file/history');
  const bankRows = myHistory.body.items.filter((i: { field: string }) => i.field === 'bankAccount');
  t.deepEqual(
    bankRows.map((i: { oldValue: string | null; newValue: string }) => [i.oldValue, i.newValue]),
    [
      ['***************3445', '************1111'],
      [null, '***************3445'],
    ],
  );

  // HR without reveal: masked; with reveal: plaintext, audited without the values
  const masked = await s.hr.get(fileOf(s.zhang));
  t.is(masked.body.values.homeAddress, '广东省深圳市****');
  t.is(masked.body.values.ethnicity, '汉族');
  const plain = await s.hr.get(`${fileOf(s.zhang)}?reveal=true`);
  t.is(plain.status, 200);
  t.true(plain.body.revealed);
  t.is(plain.body.values.idNumber, ID_A);
  t.is(plain.body.values.bankAccount, '6217000000001111');
  t.is(plain.body.values.homeAddress, '广东省深圳市南山区科技园 8 栋');
  const hist = await s.hr.get(`${fileOf(s.zhang)}/history?reveal=true&field=bankAccount`);
  t.deepEqual(hist.body.items[0].oldValue, BANK);
  const reveals = await audits(db, 'org.file.reveal');
  const ok = reveals.filter((r) => r.result === 'success');
  t.is(ok.length, 3, 'two file reveals (one above for li) and one history reveal');
  t.is(ok.at(-2)!.objectId, String(s.zhang));
  t.is(ok.at(-2)!.actorName, 'hr');
  t.is(reveals.filter((r) => r.result === 'denied').length, 1, 'the refused self reveal');
  t.true((await audits(db, 'org.file.view')).some((r) => r.objectId === String(s.zhang) && r.actorId === s.hrId));
  for (const v of sentinels) t.false((await dump('audit_log')).includes(v));

  // a file-holder without org:sensitive sees masks and cannot reveal
  const clerkRole = await db.models.Role.create({ code: 'fileclerk', name: '档案员', permissions: ['org:files'] });
  const clerkId = await ta.createUser({ username: 'clerk', roles: ['fileclerk'] });
  t.truthy(clerkRole && clerkId);
  const clerk = await signIn(ta, 'clerk');
  t.is((await clerk.get(fileOf(s.zhang))).body.values.bankAccount, '************1111');
  t.is((await clerk.get(`${fileOf(s.zhang)}?reveal=true`)).status, 403);

  // lookup by ID number through the blind index, body not URL
  const found = await s.hr.post('/api/v1/org/person-files/lookup', { idNumber: ID_A.toLowerCase() });
  t.is(found.status, 200);
  t.is(found.body.userId, s.zhang);
  t.is((await s.hr.post('/api/v1/org/person-files/lookup', { idNumber: ID_B })).body.userId, null);
});

test('R12.2 a colleague reading another person\'s file gets 404, as for a person who does not exist', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { ethnicity: '汉族' } });
  for (const path of [fileOf(s.zhang), `${fileOf(s.zhang)}?reveal=true`, `${fileOf(s.zhang)}/history`, fileOf(999999)]) {
    const r = await s.other.get(path);
    t.is(r.status, 404, path);
    t.is(r.body.code, 'NOT_FOUND');
    t.is(r.body.detail, '人员档案不存在');
  }
  t.is((await s.hr.get(fileOf(999999))).status, 404);
  t.is((await s.other.send('PATCH', fileOf(s.zhang), { version: 1, values: { ethnicity: '满族' } })).status, 403);
  t.is((await s.me.send('PATCH', fileOf(s.zhang), { version: 1, values: { ethnicity: '满族' } })).status, 403, 'the person edits through HR (or an information change)');
  t.is((await s.other.get(FIELDS)).status, 403);
  t.is((await s.other.post('/api/v1/org/person-files/lookup', { idNumber: ID_A })).status, 403);
});

test('R12.2 a stale version is refused with 409; of two concurrent edits one wins; a duplicate ID number is refused with 409', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const first = await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { idNumber: ID_A } });
  t.is(first.status, 200);
  const again = await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { ethnicity: '汉族' } });
  t.is(again.status, 409, 'an edit based on the empty file is stale once the file exists');
  t.is(again.body.code, 'VERSION_CONFLICT');
  t.regex(again.body.detail, /已被他人修改/);
  t.is((await s.hr.send('PATCH', fileOf(s.zhang), { version: 7, values: { ethnicity: '汉族' } })).status, 409);

  // concurrent edits of the same version: exactly one wins
  const hr2 = await signIn(ta, 'hr');
  const results = await Promise.all([
    s.hr.send('PATCH', fileOf(s.zhang), { version: 1, values: { ethnicity: '汉族' } }),
    hr2.send('PATCH', fileOf(s.zhang), { version: 1, values: { ethnicity: '满族' } }),
  ]);
  t.deepEqual(results.map((r) => r.status).sort(), [200, 409], JSON.stringify(results.map((r) => r.body)));
  const winner = results.find((r) => r.status === 200)!;
  const now = await s.hr.get(fileOf(s.zhang));
  t.is(now.body.version, 2);
  t.is(now.body.values.ethnicity, winner.body.values.ethnicity);
  t.is(await ta.deps.db.models.PersonFileChange.count({ where: { field: 'ethnicity' } }), 1);

  // concurrent first saves of a new file: one wins
  const created = await Promise.all([
    s.hr.send('PATCH', fileOf(s.li), { version: 0, values: { ethnicity: '壮族' } }),
    hr2.send('PATCH', fileOf(s.li), { version: 0, values: { ethnicity: '苗族' } }),
  ]);
  t.deepEqual(created.map((r) => r.status).sort(), [200, 409]);

  // the same ID number on another file (typed differently) is refused, and nothing changes
  const lower = ID_A.replace(/X$/, 'x');
  const dup = await s.hr.send('PATCH', fileOf(s.li), { version: 1, values: { idNumber: ` ${lower.slice(0, 10)}－${lower.slice(10)}`.replace('－', '-'), ethnicity: '瑶族' } });
  t.is(dup.status, 409, JSON.stringify(dup.body));
  t.is(dup.body.code, 'ID_NUMBER_TAKEN');
  t.regex(dup.body.detail, /该身份证号已登记在其他人员的档案中/);
  const li = await s.hr.get(`${fileOf(s.li)}?reveal=true`);
  t.is(li.body.version, 1);
  t.is(li.body.values.idNumber, null);
  t.not(li.body.values.ethnicity, '瑶族');
  // a different one is fine; and the first person may clear theirs, freeing it
  t.is((await s.hr.send('PATCH', fileOf(s.li), { version: 1, values: { idNumber: ID_B } })).status, 200);
  t.is((await s.hr.send('PATCH', fileOf(s.zhang), { version: 2, values: { idNumber: null } })).status, 200);
  t.is((await s.hr.send('PATCH', fileOf(s.li), { version: 2, values: { idNumber: ID_A } })).status, 200);
});

test('R12.2 with R12.4: a person asks to change their own file; org:manage approves and the file changes with history (sensitive fields only through HR)', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  const org = await signIn(ta, 'org.admin');
  await field(s.hr, { key: 'shoeSize', label: '鞋码', type: 'number', options: { min: 30, max: 50 } });
  await field(s.hr, { key: 'diploma', label: '学历证书', type: 'attachment' });
  const base = await s.hr.send('PATCH', fileOf(s.zhang), { version: 0, values: { ethnicity: '汉族' } });
  t.is(base.status, 200);
  const REQ = '/api/v1/me/file/change-requests';

  const sensitive = await s.me.post(REQ, { values: { idNumber: ID_A } });
  t.is(sensitive.status, 400);
  t.is(sensitive.body.errors[0].path, 'values.idNumber');
  t.regex(sensitive.body.errors[0].message, /敏感信息，请联系人事部门修改/);
  const bad = await s.me.post(REQ, { custom: { shoeSize: 'x' } });
  t.is(bad.status, 400);
  t.is(bad.body.errors[0].path, 'custom.shoeSize');
  t.is((await s.me.post(REQ, {})).body.code, 'NOTHING_TO_CHANGE');
  const hrUpload = await s.hr.upload('/api/v1/files', { name: 'hr.pdf', bytes: '%PDF-1.4\n%h\n', type: 'application/pdf' });
  t.is((await s.me.post(REQ, { custom: { diploma: [hrUpload.body.id] } })).status, 400, 'only files the person uploaded');

  const up = await s.me.upload('/api/v1/files', { name: '学位证.pdf', bytes: '%PDF-1.4\n%d\n', type: 'application/pdf' });
  const req = await s.me.post(REQ, { values: { nativePlace: '广东广州', ethnicity: '满族' }, custom: { shoeSize: '４１', diploma: [up.body.id] }, reason: '更新籍贯' });
  t.is(req.status, 201, JSON.stringify(req.body));
  t.is((await s.hr.get(fileOf(s.zhang))).body.values.nativePlace, null, 'nothing changes before approval');
  const mine = await s.me.get('/api/v1/org/info-changes/mine');
  t.is(mine.body.total, 1);

  const ok = await org.post(`/api/v1/org/info-changes/${req.body.id}/approve`);
  t.is(ok.status, 200, JSON.stringify(ok.body));
  t.is(ok.body.status, 'approved');
  t.deepEqual(ok.body.priorValues.file, { ethnicity: '汉族', nativePlace: null, 'custom.shoeSize': null, 'custom.diploma': null });
  const after = await s.hr.get(fileOf(s.zhang));
  t.is(after.body.version, 2);
  t.is(after.body.values.nativePlace, '广东广州');
  t.is(after.body.values.ethnicity, '满族');
  t.deepEqual(after.body.custom, { shoeSize: 41, diploma: [up.body.id] });
  const h = await s.hr.get(`${fileOf(s.zhang)}/history?field=nativePlace`);
  t.is(h.body.items[0].source, 'info_change');
  t.is(h.body.items[0].changedBy.name, '组织管理员');
  t.is(h.body.items[0].reason, `信息变更申请 #${req.body.id}`);
  await ta.deps.dispatcher.dispatchDue();
  const inbox = await s.me.get('/api/v1/inbox');
  t.true(inbox.body.items.some((m: { body: string }) => /籍贯/.test(m.body) && /鞋码/.test(m.body)), JSON.stringify(inbox.body.items));
  t.is((await org.post(`/api/v1/org/info-changes/${req.body.id}/approve`)).status, 409);
});
