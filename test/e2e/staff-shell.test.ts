/**
 * Staff client shell end to end (issue 7 items 3, 6, 7) in a real Chromium against the real server
 * with the demo hospital, at the phone size (390x844) and the desktop size (1440x900):
 *
 *  - deep link while signed out: the server's notification link `/workflow/tasks/<id>` opens the
 *    sign-in page, and after signing in the person lands on that task (session expiry → sign-in →
 *    back to where they were);
 *  - the session ends on the server while a page is open: the next call sends the person to the
 *    sign-in page, and back to the same page afterwards;
 *  - forced password change (PASSWORD_CHANGE_REQUIRED) with the live policy shown;
 *  - address book (R20.7): pinyin-initial search, the card with tap-to-call;
 *  - inbox: the notification opens the task it links to; my personnel file with masked values.
 *
 * Any request to a host other than the server fails the test. Screenshots: test/artifacts/staff-shell-*.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { nameSearchKeys } from '@oa/db';
import { apiGet, apiLogin, apiPost, leavePairs, nextTwoWorkdays, openBrowser, shot, signIn, skipReason, startDemoServer, VIEWPORTS, type DemoServer, type Person } from './helpers-staff.ts';

const reason = skipReason();
if (reason) console.log(`staff-shell.test.ts: skipped: ${reason}`);
const e2e = reason ? test.skip : test.serial;

let server: DemoServer;
let tmp: string;
let pair: { initiator: Person; head: Person };

test.before(async () => {
  if (reason) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-staff-shell-'));
  server = await startDemoServer(path.join(tmp, 'data'));
  const token = await apiLogin(server.base, '10001', server.staffPassword);
  [pair] = await leavePairs(server.base, token, 1) as [{ initiator: Person; head: Person }];
});

test.after.always(async () => {
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** a leave request from the pair's initiator, waiting on the head: returns the head's task id */
async function pendingTask(title: string): Promise<number> {
  const { base, staffPassword } = server;
  const [start, end] = nextTwoWorkdays();
  const token = await apiLogin(base, pair.initiator.employeeNo!, staffPassword);
  const view = await apiPost<{ id: number; tasks: { id: number; status: string; assignee: { id: number } }[] }>(base, token, '/api/v1/workflow/instances', { processKey: 'leave', formData: { leaveType: 'personal', period: { start, end }, reason: '深度链接测试' }, title });
  const task = view.tasks.find((t) => t.status === 'pending' && t.assignee.id === pair.head.id);
  if (!task) throw new Error(`no pending task for the head: ${JSON.stringify(view.tasks)}`);
  return task.id;
}

e2e('issue 7 item 7: a notification link opened while signed out goes through sign-in to the task (phone)', async (t) => {
  t.timeout(120_000);
  const { base, staffPassword } = server;
  const taskId = await pendingTask('深度链接测试的请假申请');
  const browser = await openBrowser(base, VIEWPORTS[0]!, path.join(tmp, 'p1'));
  t.teardown(() => browser.close());
  const page = await browser.person('head');
  await page.goto(`${base}/workflow/tasks/${taskId}`);
  await page.getByTestId('login-submit').waitFor();
  await shot(page, 'staff-shell-phone-01-login');
  await page.locator('[data-testid=login-username] input').fill(pair.head.employeeNo!);
  await page.locator('[data-testid=login-password] input').fill(staffPassword);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(new RegExp(`/pages/approval/task\\?id=${taskId}`));
  await page.getByTestId('detail-title').getByText('深度链接测试的请假申请').waitFor();
  await page.getByTestId('action-approve').waitFor();
  await shot(page, 'staff-shell-phone-02-task-after-login');

  // the session is revoked elsewhere (signing out on the server): the next call returns to sign-in,
  // and after signing in again the person is back on the same task
  const csrf = (await (await page.context().request.get(`${base}/api/v1/me`)).json()) as { csrfToken: string };
  t.is((await page.context().request.post(`${base}/api/v1/auth/logout`, { headers: { 'X-CSRF-Token': csrf.csrfToken } })).status(), 204);
  await page.getByTestId('action-approve').click();
  await page.getByTestId('action-confirm').click();
  await page.getByTestId('login-submit').waitFor();
  await page.locator('[data-testid=login-username] input').fill(pair.head.employeeNo!);
  await page.locator('[data-testid=login-password] input').fill(staffPassword);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(new RegExp(`/pages/approval/task\\?id=${taskId}`));
  await page.getByTestId('action-approve').waitFor();

  // the inbox lists the notification of this task (delivered by the outbox dispatcher, which may
  // take a while on a busy machine), and it opens the task
  const headToken = await apiLogin(base, pair.head.employeeNo!, staffPassword);
  for (let i = 0; i < 120; i++) {
    const inbox = await apiGet<{ items: { title: string; link: string | null }[] }>(base, headToken, '/api/v1/inbox?pageSize=50');
    if (inbox.items.some((m) => m.title.includes('深度链接测试的请假申请'))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await page.goto(`${base}/pages/inbox/index`);
  const msg = page.locator('[data-testid^=msg-]', { hasText: '深度链接测试的请假申请' }).first();
  await msg.waitFor();
  await shot(page, 'staff-shell-phone-03-inbox');
  await msg.click();
  await page.waitForURL(new RegExp(`/pages/approval/task\\?id=${taskId}`));
  await page.getByTestId('detail-title').waitFor();
  t.deepEqual(browser.problems, []);
  t.deepEqual(browser.foreign, [], 'no requests outside the server');
});

e2e('issue 7 item 3: forced password change with the live policy (desktop)', async (t) => {
  t.timeout(120_000);
  const { base, adminPassword } = server;
  const browser = await openBrowser(base, VIEWPORTS[2]!, path.join(tmp, 'p2'));
  t.teardown(() => browser.close());
  const page = await browser.person('admin');
  await page.goto(`${base}/pages/login/index`);
  await page.locator('[data-testid=login-username] input').fill('admin');
  await page.locator('[data-testid=login-password] input').fill(adminPassword);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/\/pages\/login\/password/);
  await page.getByTestId('password-notice').getByText('请先修改密码').waitFor();
  await page.getByText(/密码要求：至少 \d+ 位/).waitFor();
  await page.locator('[data-testid=pw-old] input').fill(adminPassword);
  await page.locator('[data-testid=pw-new] input').fill('abc123');
  await page.locator('[data-testid=pw-confirm] input').fill('abc123');
  await page.getByTestId('pw-submit').click();
  await page.getByTestId('pw-error').first().waitFor();
  t.regex(await page.getByTestId('pw-error').first().innerText(), /密码长度至少/);
  await shot(page, 'staff-shell-desktop-01-password');
  const strong = 'Qz7#mVt2!pLw';
  await page.locator('[data-testid=pw-new] input').fill(strong);
  await page.locator('[data-testid=pw-confirm] input').fill(strong);
  await page.getByTestId('pw-submit').click();
  await page.getByTestId('hello').waitFor();
  t.is(await page.getByTestId('top-user').innerText(), (await apiGet<{ name: string }>(base, await apiLogin(base, 'admin', strong), '/api/v1/me')).name);
  t.deepEqual(browser.problems, []);
  t.deepEqual(browser.foreign, [], 'no requests outside the server');
});

e2e('R20.7 address book: pinyin search, card with call and text; my file masked (phone and desktop)', async (t) => {
  t.timeout(120_000);
  const { base, staffPassword } = server;
  for (const vp of [VIEWPORTS[0]!, VIEWPORTS[2]!]) {
    const browser = await openBrowser(base, vp, path.join(tmp, `p3-${vp.name}`));
    t.teardown(() => browser.close());
    const page = await browser.person('staff');
    await signIn(page, base, pair.initiator.employeeNo!, staffPassword);
    await page.goto(`${base}/pages/contacts/index`);
    await page.locator('[data-testid^=contact-]').first().waitFor();
    // search by the head's full pinyin (e.g. 卢杰 → lujie), as people type on a phone
    const { pinyin } = nameSearchKeys(pair.head.name);
    await page.locator('[data-testid=contacts-search] input').fill(pinyin);
    const card = page.getByTestId(`contact-${pair.head.employeeNo}`);
    await card.waitFor();
    await shot(page, `staff-shell-${vp.name}-02-contacts`);
    await card.click();
    await page.waitForURL(/\/pages\/profile\/card\?id=\d+/);
    await page.getByTestId('card-name').getByText(pair.head.name).waitFor();
    await shot(page, `staff-shell-${vp.name}-03-card`);
    await page.goto(`${base}/pages/profile/file`);
    await page.getByTestId('file-name').getByText(pair.initiator.name).waitFor();
    await shot(page, `staff-shell-${vp.name}-04-file`);
    t.deepEqual(browser.problems, []);
    t.deepEqual(browser.foreign, [], 'no requests outside the server');
  }
});

