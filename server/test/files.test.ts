import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient, Res } from './helpers/client.ts';

// BAR §2.6, §5 #1/#5, §6 item 3: uploads need a session, are limited while streaming, typed by
// content, stored under generated names, and downloaded only by people allowed to read them.

// a real 1x1 PNG
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const sha256 = (b: Uint8Array | string) => crypto.createHash('sha256').update(b).digest('hex');

/** every file below `dir`, relative paths */
function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => fs.statSync(path.join(dir, p)).isFile());
}

/** stored bytes: FILES_DIR/ab/cd/abcd…(32 hex) and nothing else besides an empty tmp/ */
function storedFiles(ta: TestApp): string[] {
  return walk(ta.deps.config.filesDir);
}

async function signedIn(ta: TestApp, username: string): Promise<HttpClient> {
  await ta.createUser({ username });
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return c;
}

function assertProblem(t: ExecutionContext, r: Res, status: number, code: string): void {
  t.is(r.status, status, r.text);
  t.regex(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  t.is((r.body as { code: string }).code, code);
  t.regex((r.body as { detail: string }).detail, /[\u4e00-\u9fff]/, 'detail is Chinese');
}

/** the filename*= value of a Content-Disposition header, decoded */
function utf8FileName(cd: string): string | null {
  const m = /filename\*=UTF-8''([^;\s]+)/.exec(cd);
  return m ? decodeURIComponent(m[1]!) : null;
}

test('a PNG with a Chinese name round-trips byte for byte for its uploader, and only for them', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  const li = await signedIn(ta, 'li.si');
  const admin = await ta.admin();
  const name = '检验报告（张三）2026-03.png';

  const up = await zhang.upload('/api/v1/files', { name, bytes: PNG, type: 'image/png' });
  t.is(up.status, 201, up.text);
  t.is(up.body.sha256, sha256(PNG));
  t.is(up.body.size, PNG.length);
  t.is(up.body.name, name);
  t.is(up.body.mime, 'image/png');
  t.is(up.body.ext, 'png');
  const id = up.body.id as number;

  const dl = await zhang.get(`/api/v1/files/${id}`);
  t.is(dl.status, 200);
  t.true(dl.bytes.equals(PNG), 'the same bytes come back');
  t.is(dl.headers.get('content-type'), 'image/png');
  t.is(dl.headers.get('content-length'), String(PNG.length));
  const cd = dl.headers.get('content-disposition') ?? '';
  t.regex(cd, /^attachment;/);
  t.is(utf8FileName(cd), name, 'the Chinese name survives (RFC 5987)');
  t.regex(cd, /filename="[\x20-\x7e]*"/, 'the plain filename= fallback is ASCII only');
  t.is(dl.headers.get('x-content-type-options'), 'nosniff');
  t.regex(dl.headers.get('content-security-policy') ?? '', /sandbox/);
  t.regex(dl.headers.get('cache-control') ?? '', /no-store/);
  t.is((await zhang.get(`/api/v1/files/${id}/meta`)).body.sha256, sha256(PNG));

  // another member of staff, and even the system administrator, cannot tell it exists
  const missing = await li.get(`/api/v1/files/${id + 1000}`);
  for (const c of [li, admin]) {
    for (const p of [`/api/v1/files/${id}`, `/api/v1/files/${id}/meta`]) {
      const r = await c.get(p);
      assertProblem(t, r, 404, 'NOT_FOUND');
      t.is(r.body.detail, missing.body.detail, 'forbidden and unknown look the same');
      t.false(r.bytes.includes(PNG.subarray(16, 40)), 'no file content in the answer');
    }
  }
  // no session at all
  const anon = ta.client();
  assertProblem(t, await anon.get(`/api/v1/files/${id}`), 401, 'UNAUTHENTICATED');
  assertProblem(t, await anon.get(`/api/v1/files/${id}/meta`), 401, 'UNAUTHENTICATED');

  // the upload is audited with its hash
  const audit = await ta.deps.db.models.AuditLog.findAll({ where: { action: 'file.upload' } });
  t.is(audit.length, 1);
  t.is(audit[0]!.objectId, String(id));
  t.true(JSON.stringify(audit[0]!.detail).includes(sha256(PNG)));
});

test('a module that owns a file decides who else may read it', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  const li = await signedIn(ta, 'li.si');
  const wang = await signedIn(ta, 'wang.wu');
  const up = await zhang.upload('/api/v1/files', { name: '请假证明.png', bytes: PNG });
  t.is(up.status, 201);
  const id = up.body.id as number;
  // attached to leave request 7, whose approver is li.si
  await ta.deps.db.models.StoredFile.update({ ownerType: 'leave', ownerId: '7' }, { where: { id } });
  t.is((await li.get(`/api/v1/files/${id}`)).status, 404, 'no rule registered yet: closed');
  ta.deps.files.registerAccessRule('leave', async (p, f) => p.username === 'li.si' && f.ownerId === '7');
  const dl = await li.get(`/api/v1/files/${id}`);
  t.is(dl.status, 200);
  t.true(dl.bytes.equals(PNG));
  t.is((await wang.get(`/api/v1/files/${id}`)).status, 404);
  t.is((await zhang.get(`/api/v1/files/${id}`)).status, 200, 'the uploader still can');
});

test('anonymous and cross-site uploads are refused and store nothing', async (t) => {
  const ta = await startTestApp(t);
  const anon = await ta.client().upload('/api/v1/files', { name: 'shell.png', bytes: PNG });
  assertProblem(t, anon, 401, 'UNAUTHENTICATED');
  const zhang = await signedIn(ta, 'zhang.san');
  zhang.csrfToken = null; // a form posted from another site carries the cookie but not the token
  assertProblem(t, await zhang.upload('/api/v1/files', { name: 'a.png', bytes: PNG }), 403, 'CSRF_FAILED');
  t.is(await ta.deps.db.models.StoredFile.count(), 0);
  t.deepEqual(storedFiles(ta), []);
});

/** multipart body built by hand, so it can be streamed without a Content-Length */
function multipart(name: string, bytes: Buffer): { body: Buffer; type: string } {
  const boundary = `----oa${crypto.randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), type: `multipart/form-data; boundary=${boundary}` };
}

async function uploadChunked(ta: TestApp, c: HttpClient, name: string, bytes: Buffer): Promise<{ status: number; body: any }> {
  const { body, type } = multipart(name, bytes);
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (offset >= body.length) return ctrl.close();
      ctrl.enqueue(body.subarray(offset, offset + 64 * 1024));
      offset += 64 * 1024;
    },
  });
  const res = await fetch(`${ta.url}/api/v1/files`, {
    method: 'POST',
    headers: { 'content-type': type, cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': c.csrfToken! },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, body: await res.json() };
}

test('the administrator sets the upload limit; a larger file is refused with 413 and leaves nothing behind', async (t) => {
  const ta = await startTestApp(t);
  const admin = await ta.admin();
  const zhang = await signedIn(ta, 'zhang.san');
  // staff cannot change the limit
  t.is((await zhang.put('/api/v1/system/settings/upload', { maxUploadMb: 1024 })).status, 403);
  const set = await admin.put('/api/v1/system/settings/upload', { maxUploadMb: 1 });
  t.is(set.status, 200);
  t.deepEqual((await admin.get('/api/v1/system/settings/upload')).body, { maxUploadMb: 1 });

  const big = Buffer.alloc(Math.round(1.2 * 1024 * 1024), 'a');
  // with a Content-Length: refused before the body is read
  const r1 = await zhang.upload('/api/v1/files', { name: '大文件.txt', bytes: big });
  assertProblem(t, r1, 413, 'PAYLOAD_TOO_LARGE');
  t.regex(r1.body.detail, /1 MB/);
  // streamed without a length: cut off at the limit while streaming
  const r2 = await uploadChunked(ta, zhang, 'big.txt', big);
  t.is(r2.status, 413);
  t.is(r2.body.code, 'PAYLOAD_TOO_LARGE');
  t.is(await ta.deps.db.models.StoredFile.count(), 0, 'no row');
  t.deepEqual(fs.readdirSync(path.join(ta.deps.config.filesDir, 'tmp')), [], 'no partial file in FILES_DIR/tmp');
  t.deepEqual(storedFiles(ta), [], 'no file anywhere under FILES_DIR');

  // exactly at the limit is fine, both ways
  const atLimit = Buffer.alloc(1024 * 1024, 'b');
  const ok1 = await zhang.upload('/api/v1/files', { name: 'exact.txt', bytes: atLimit });
  t.is(ok1.status, 201, ok1.text);
  const ok2 = await uploadChunked(ta, zhang, 'exact2.txt', atLimit);
  t.is(ok2.status, 201, JSON.stringify(ok2.body));
  t.is(ok2.body.sha256, sha256(atLimit));
  t.is(storedFiles(ta).length, 2);

  // raising the limit takes effect at once
  t.is((await admin.put('/api/v1/system/settings/upload', { maxUploadMb: 2 })).status, 200);
  t.is((await zhang.upload('/api/v1/files', { name: '大文件.txt', bytes: big })).status, 201);
});

test('the type is decided by content: executables, HTML and SVG are refused whatever the name', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62), Buffer.from('This program cannot be run in DOS mode.')]);
  const refused: Array<[string, Buffer | string]> = [
    ['report.pdf', exe],
    ['报告.docx', exe],
    ['a.html', '<!doctype html><script>alert(document.cookie)</script>'],
    ['a.htm', '<html><body>hi</body></html>'],
    ['logo.svg', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'],
    ['photo.png', '<html><script>alert(1)</script></html>'], // HTML renamed .png
    ['shell.php', '<?php system($_GET["c"]); ?>'],
    ['shell.jsp', '<% Runtime.getRuntime().exec(request.getParameter("c")); %>'],
    ['.user.ini', 'auto_prepend_file=shell.png'],
    ['.htaccess', 'AddType application/x-httpd-php .png'],
  ];
  for (const [name, bytes] of refused) {
    const r = await zhang.upload('/api/v1/files', { name, bytes });
    assertProblem(t, r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  }
  t.is(await ta.deps.db.models.StoredFile.count(), 0);
  t.deepEqual(storedFiles(ta), []);

  // the same HTML as a .txt is plain UTF-8 text: accepted, and served as inert text
  const html = '<!doctype html><script>alert(document.cookie)</script>';
  const txt = await zhang.upload('/api/v1/files', { name: 'a.txt', bytes: html, type: 'text/html' });
  t.is(txt.status, 201, txt.text);
  t.is(txt.body.mime, 'text/plain; charset=utf-8');
  const dl = await zhang.get(`/api/v1/files/${txt.body.id}`);
  t.is(dl.status, 200);
  t.is(dl.text, html);
  t.regex(dl.headers.get('content-type') ?? '', /^text\/plain/);
  t.regex(dl.headers.get('content-disposition') ?? '', /^attachment/);
  t.is(dl.headers.get('x-content-type-options'), 'nosniff');
  t.regex(dl.headers.get('content-security-policy') ?? '', /default-src 'none'; sandbox/);

  // a real PDF is recognised whatever the case of its extension
  const pdf = await zhang.upload('/api/v1/files', { name: 'SCAN.PDF', bytes: '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n' });
  t.is(pdf.status, 201, pdf.text);
  t.is(pdf.body.mime, 'application/pdf');
});

test('text and CSV must be UTF-8: Chinese text of any length passes, GBK is refused with a hint', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  // longer than the 8 KB sample the check reads; with 0, 1 and 2 ASCII bytes in front of the
  // 3-byte characters, every way a character can straddle the end of the sample is covered
  for (const prefix of ['', 'a', 'ab']) {
    const chinese = prefix + '患者知情同意书'.repeat(500);
    t.true(Buffer.byteLength(chinese) > 8192);
    const txt = await zhang.upload('/api/v1/files', { name: `同意书${prefix}.txt`, bytes: chinese });
    t.is(txt.status, 201, `prefix ${JSON.stringify(prefix)}: ${txt.text}`);
    t.is(txt.body.sha256, sha256(chinese));
  }
  const table = '姓名,科室,工号\n' + '张三,心内科,一二三四五\n'.repeat(800);
  const csv = await zhang.upload('/api/v1/files', { name: '排班表.csv', bytes: table });
  t.is(csv.status, 201, csv.text);
  t.is(csv.body.mime, 'text/csv; charset=utf-8');
  t.is(csv.body.sha256, sha256(table));
  // the same table as Excel exports it on Chinese Windows (GBK): "姓名,科室" in GBK
  const gbk = Buffer.from([0xd0, 0xd5, 0xc3, 0xfb, 0x2c, 0xbf, 0xc6, 0xca, 0xd2, 0x0a]);
  const r = await zhang.upload('/api/v1/files', { name: '排班表.csv', bytes: gbk });
  assertProblem(t, r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  t.regex(r.body.detail, /UTF-8/, 'the user is told which encoding is needed');
  // UTF-16 text (NUL bytes) is not text for us either
  assertProblem(t, await zhang.upload('/api/v1/files', { name: 'a.txt', bytes: Buffer.from('\ufeffhello', 'utf16le') }), 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('file names never choose where bytes land; they are kept, cleaned, for display only', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  // 257 characters, 507 UTF-16 units: the kept tail must not start with half an emoji
  const long = '😀'.repeat(250) + '住院单.txt';
  const cases: Array<[string, (n: string) => boolean, Buffer?]> = [
    ['../../etc/passwd.txt', (n) => n === 'passwd.txt'],
    ['..\\..\\windows\\win.ini.txt', (n) => n === 'win.ini.txt'],
    ['/abs/path/x.txt', (n) => n === 'x.txt'],
    ['C:\\Users\\a\\报告.txt', (n) => n === '报告.txt'],
    ['a\tb|c?.txt', (n) => n === 'a_b_c_.txt'],
    ['invoice\u202Efdp.txt', (n) => !/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(n) && n.endsWith('.txt')],
    ['<img src=x onerror=alert(1)>.txt', (n) => !n.includes('<') && !n.includes('>')],
    ['a;b"c.txt', (n) => n.startsWith('a;b') && n.endsWith('c.txt')],
    ['..', (n) => n === '未命名文件', PNG], // nothing left of the name: the type comes from the content
    [long, (n) => n.endsWith('住院单.txt') && [...n].length <= 200 && !/\p{Cs}/u.test(n)],
  ];
  for (const [name, ok, content] of cases) {
    const bytes = content ?? Buffer.from(`内容 ${name}\n`);
    const r = await zhang.upload('/api/v1/files', { name, bytes });
    t.is(r.status, 201, `${name}: ${r.text}`);
    t.true(ok(r.body.name), `${JSON.stringify(name)} shown as ${JSON.stringify(r.body.name)}`);
    t.false(/[\\/]/.test(r.body.name), 'no path parts');
    const row = await ta.deps.db.models.StoredFile.findByPk(r.body.id);
    t.regex(row!.storageName, /^[0-9a-f]{32}$/, 'generated storage name');
    const onDisk = path.join(ta.deps.config.filesDir, row!.storageName.slice(0, 2), row!.storageName.slice(2, 4), row!.storageName);
    t.is(sha256(fs.readFileSync(onDisk)), sha256(bytes));
    // and it downloads, with a header that is not split and names the file
    const dl = await zhang.get(`/api/v1/files/${r.body.id}`);
    t.is(dl.status, 200, `${name}: download ${dl.text}`);
    t.true(dl.bytes.equals(bytes));
    const cd = dl.headers.get('content-disposition') ?? '';
    t.is(utf8FileName(cd), r.body.name);
    t.false(/[\r\n]/.test(cd));
  }
  // everything written lies under FILES_DIR with a generated name, nothing anywhere else
  const files = storedFiles(ta);
  t.is(files.length, cases.length);
  for (const f of files) t.regex(f, /^[0-9a-f]{2}[\\/][0-9a-f]{2}[\\/][0-9a-f]{32}$/);
  const outside = walk(ta.deps.config.dataDir).filter((f) => !path.join(ta.deps.config.dataDir, f).startsWith(ta.deps.config.filesDir + path.sep));
  t.true(
    outside.every((f) => /^(oa\.sqlite(-wal|-shm|-journal)?|secret\.key)$/.test(f)),
    `only the database and key outside FILES_DIR: ${outside.join(', ')}`,
  );
  t.false(fs.existsSync(path.resolve(ta.deps.config.filesDir, '../../etc/passwd.txt')));
});

test('malformed upload requests get a clear 4xx, never a stored file', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  // JSON to the upload endpoint
  const json = await zhang.post('/api/v1/files', { file: 'aGVsbG8=' });
  assertProblem(t, json, 415, 'UNSUPPORTED_MEDIA_TYPE');
  t.regex(json.body.detail, /multipart\/form-data/);
  // a form without a `file` part, or with the file under another name
  for (const r of [
    await zhang.upload('/api/v1/files', null, { title: '没有附件' }),
    await zhang.upload('/api/v1/files', { name: 'a.png', bytes: PNG, field: 'attachment' }),
  ]) {
    assertProblem(t, r, 400, 'BAD_REQUEST');
    t.deepEqual(
      r.body.errors.map((e: { path: string }) => e.path),
      ['file'],
    );
  }
  // an empty file
  const empty = await zhang.upload('/api/v1/files', { name: 'empty.txt', bytes: '' });
  assertProblem(t, empty, 400, 'BAD_REQUEST');
  t.deepEqual(empty.body.errors.map((e: { path: string }) => e.path), ['file']);
  // a multipart body cut short
  const { body, type } = multipart('cut.txt', Buffer.from('hello'));
  const cut = await zhang.raw('POST', '/api/v1/files', { body: new Uint8Array(body.subarray(0, body.length - 20)), headers: { 'content-type': type } });
  assertProblem(t, cut, 400, 'BAD_REQUEST');
  // a multipart content type without a boundary
  assertProblem(t, await zhang.raw('POST', '/api/v1/files', { body: 'x', headers: { 'content-type': 'multipart/form-data' } }), 400, 'BAD_REQUEST');
  // ids that are not ids
  assertProblem(t, await zhang.get('/api/v1/files/abc'), 400, 'VALIDATION_FAILED');
  assertProblem(t, await zhang.get('/api/v1/files/0/meta'), 400, 'VALIDATION_FAILED');
  t.is(await ta.deps.db.models.StoredFile.count(), 0);
  t.deepEqual(storedFiles(ta), []);
});

test('a file whose bytes are gone from disk gives a problem answer, not a broken download', async (t) => {
  const ta = await startTestApp(t);
  const zhang = await signedIn(ta, 'zhang.san');
  const up = await zhang.upload('/api/v1/files', { name: '丢失.png', bytes: PNG });
  t.is(up.status, 201);
  const row = await ta.deps.db.models.StoredFile.findByPk(up.body.id);
  await ta.deps.files.storage.remove(row!.storageName);
  const r = await zhang.get(`/api/v1/files/${up.body.id}`);
  // the database and the disk disagree: a server fault, answered and logged as one
  assertProblem(t, r, 500, 'INTERNAL');
  t.is(r.headers.get('x-content-type-options'), 'nosniff');
  t.false(r.text.includes(ta.deps.config.filesDir), 'no server path in the answer');
  t.false(/ENOENT|at .*\.ts:\d+/.test(r.text), 'no error internals in the answer');
  t.regex(r.body.detail, /[\u4e00-\u9fff]/);
});
