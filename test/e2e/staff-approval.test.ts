/**
 * Staff client end to end (issue 7; R20.2, R3.5, R16.11) in a real Chromium against the real server
 * with the demo hospital, at a phone (390x844), a tablet (1280x800 at 2x) and a desktop (1440x900):
 *
 *  1. the initiator signs in and starts a leave request with an attachment (size limit shown first);
 *  2. the department head returns it to the initiator, who edits it and resubmits;
 *  3. two people act at once: the head approves while the initiator, on a page opened before,
 *     withdraws: the withdrawal gets the server's 409, shown in Chinese, and the page refreshes;
 *  4. HR files it (办理), and the initiator opens the deep link `/workflow/instances/<id>` (as in
 *     the notification) and sees it approved with every step done.
 *
 * Any request to a host other than the server fails the test. Screenshots of each step go to
 * test/artifacts/staff-<viewport>-*.png. Skipped, with the reason printed, without /usr/bin/chromium
 * or the H5 build (npm run build:h5 -w miniapp).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Page } from 'playwright-core';
import {
  apiGet,
  apiLogin,
  apiPost,
  ARTIFACTS,
  calendarParts,
  leavePairs,
  nextTwoWorkdays,
  openBrowser,
  shot,
  signIn,
  skipReason,
  startDemoServer,
  VIEWPORTS,
  type DemoServer,
  type Person,
} from './helpers-staff.ts';

const reason = skipReason();
if (reason) console.log(`staff-approval.test.ts: skipped: ${reason}`);
const e2e = reason ? test.skip : test.serial;

let server: DemoServer;
let tmp: string;
let pairs: { initiator: Person; head: Person }[] = [];
let hr: Person;

test.before(async () => {
  if (reason) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-staff-e2e-'));
  server = await startDemoServer(path.join(tmp, 'data'));
  const token = await apiLogin(server.base, '10001', server.staffPassword);
  pairs = await leavePairs(server.base, token, VIEWPORTS.length);
  // the leave process's last step (人力资源部备案) goes to the heads of 人力资源部
  const tree = await apiGet<{ campuses: { departments: { id: number; name: string; children: { id: number; name: string }[] }[] }[] }>(server.base, token, '/api/v1/org/address-book/tree');
  const hrDept = tree.campuses.flatMap((c) => c.departments.flatMap((d) => [d, ...d.children])).find((d) => d.name === '人力资源部');
  if (!hrDept) throw new Error('no 人力资源部 in the demo data');
  const people = await apiGet<{ items: Person[] }>(server.base, token, `/api/v1/org/address-book/directory?deptId=${hrDept.id}&includeSubtree=false&pageSize=100`);
  const head = people.items.find((p) => p.position?.name === '科长');
  if (!head) throw new Error('no head of 人力资源部 in the demo data');
  hr = head;
});

test.after.always(async () => {
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** uni.showModal's confirm button */
async function modalConfirm(page: Page, text?: RegExp): Promise<void> {
  const modal = page.locator('.uni-modal').last();
  await modal.waitFor();
  if (text) await modal.getByText(text).first().waitFor();
  await modal.locator('.uni-modal__btn_primary').click();
  await modal.waitFor({ state: 'hidden' });
}

async function openTodo(page: Page, base: string, title: string): Promise<void> {
  await page.goto(`${base}/pages/todo/index`);
  const item = page.locator('[data-testid^=box-item-]', { hasText: title }).first();
  await item.waitFor();
  await item.click();
  await page.waitForURL(/\/pages\/approval\/task\?id=\d+/);
  await page.getByTestId('action-bar').waitFor();
}

async function act(page: Page, action: string, comment?: string, pick?: () => Promise<void>): Promise<void> {
  const button = page.getByTestId(`action-${action}`);
  if (!(await button.isVisible())) {
    await page.getByTestId('action-more').click();
    await page.locator('.wd-action-sheet__action', { hasText: await labelOf(action) }).click();
  } else await button.click();
  const dialog = page.getByTestId('action-dialog');
  await dialog.waitFor();
  if (pick) await pick();
  if (comment !== undefined) await dialog.locator('textarea').fill(comment);
}

async function labelOf(action: string): Promise<string> {
  return ({ withdraw: '撤回', urge: '催办', transfer: '转签', addSign: '加签', suspend: '挂起', return: '退回' } as Record<string, string>)[action] ?? action;
}

async function confirmDialog(page: Page): Promise<void> {
  await page.getByTestId('action-confirm').click();
}

for (const [i, vp] of VIEWPORTS.entries()) {
  e2e(`R20.2 R3.5 R16.11 leave request at ${vp.name} ${vp.width}x${vp.height}${vp.scale > 1 ? `@${vp.scale}x` : ''}: start with attachment, return and resubmit, 409, approved`, async (t) => {
    t.timeout(300_000);
    const { base, staffPassword } = server;
    const { initiator, head } = pairs[i]!;
    const title = `${initiator.name}的请假申请`;
    const browser = await openBrowser(base, vp, path.join(tmp, 'profiles'));
    t.teardown(() => browser.close());
    const name = (s: string) => `staff-${vp.name}-${s}`;
    const x = await browser.person('initiator');
    const pages: [string, Page][] = [['initiator', x]];
    try {
      // 1. The initiator signs in and fills in a leave request.
      await signIn(x, base, initiator.employeeNo!, staffPassword);
      await shot(x, name('01-workbench'));
      await x.getByTestId('shortcut-start').click();
      await x.waitForURL(/\/pages\/approval\/catalogue/);
      await x.getByTestId('process-leave').click();
      await x.waitForURL(/\/pages\/approval\/start\?process=leave/);
      await x.getByTestId('form-view').waitFor();

      // leave type: the picker's first option (事假)
      await x.locator('[data-testid=input-leaveType] .wd-picker__cell, [data-testid=input-leaveType] .wd-cell').first().click();
      await x.locator('.wd-picker__action:not(.wd-picker__action--cancel)').last().click();
      await x.locator('[data-testid=input-leaveType]', { hasText: '事假' }).waitFor();

      // period: two working days in the calendar
      const [from, to] = nextTwoWorkdays();
      await x.locator('[data-testid=input-period] .wd-cell, [data-testid=input-period] .wd-calendar__cell').first().click();
      for (const d of [from, to]) {
        const { month, day } = calendarParts(d);
        const m = x.locator('.wd-month', { has: x.locator('.wd-month__title', { hasText: month }) });
        // the sticky month title may cover a day cell: dispatch the tap on the cell itself
        await m.locator('.wd-month__day:not(.is-disabled)', { has: x.locator('.wd-month__day-text', { hasText: new RegExp(`^\\s*${day}\\s*$`) }) }).first().dispatchEvent('click');
        await x.waitForTimeout(150);
      }
      await x.locator('.wd-calendar__confirm button, .wd-calendar__confirm .wd-button').first().click();
      await x.locator('[data-testid=input-period]', { hasText: '至' }).waitFor().catch(async () => {
        // wd-calendar shows a range as "start 至 end" or "start - end" depending on the version
        await x.locator('[data-testid=input-period]', { hasText: String(Number(to.slice(8))) }).waitFor();
      });

      await x.locator('[data-testid=input-reason] textarea').fill('家中有事，需请假两天。');

      // attachment: the size limit is shown before choosing a file
      const limit = x.getByTestId('upload-limit-proof');
      await limit.scrollIntoViewIfNeeded();
      t.regex(await limit.innerText(), /单个文件不超过 \d+ MB/);
      const chooser = x.waitForEvent('filechooser');
      await x.getByTestId('upload-proof').click();
      await (await chooser).setFiles({ name: '情况说明.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% leave proof\n%%EOF\n') });
      await x.getByTestId('files-proof').getByText('情况说明.pdf').waitFor();
      await shot(x, name('02-leave-form'));

      await x.getByTestId('submit').click();
      await modalConfirm(x, /提交/);
      await x.waitForURL(/\/pages\/approval\/instance\?id=\d+/);
      const instanceId = Number(new URL(x.url()).searchParams.get('id'));
      await x.getByTestId('detail-status').getByText('审批中').waitFor();
      await x.getByTestId('step-head').and(x.locator('[data-state=active]')).waitFor();
      await shot(x, name('03-submitted'));

      // 2. The head returns it to the initiator.
      const h = await browser.person('head');
      pages.push(['head', h]);
      await signIn(h, base, head.employeeNo!, staffPassword);
      await openTodo(h, base, title);
      // the head sees that an attachment is there (reading it needs the server to grant instance
      // viewers access to instance files: see the report of issue 7)
      await h.getByTestId('files-proof').locator('.file').first().waitFor();
      await shot(h, name('04-head-task'));
      await act(h, 'return', '请补充请假期间的工作交接安排。', async () => {
        await h.getByTestId('return-to-start').click();
      });
      await shot(h, name('05-return-dialog'));
      await confirmDialog(h);
      await h.getByTestId('action-dialog').waitFor({ state: 'hidden' });
      await h.getByTestId('timeline').getByText('退回').first().waitFor();

      // the initiator finds it in 待办, edits and resubmits
      await openTodo(x, base, title);
      await x.getByTestId('timeline').getByText('请补充请假期间的工作交接安排。').waitFor();
      await x.locator('[data-testid=input-reason] textarea').fill('家中有事，需请假两天；工作已交接给同组医生。');
      await shot(x, name('06-resubmit'));
      await act(x, 'resubmit', '已补充交接安排');
      await confirmDialog(x);
      await x.getByTestId('action-dialog').waitFor({ state: 'hidden' });
      await x.getByTestId('action-withdraw').or(x.getByTestId('action-more')).first().waitFor();
      t.regex(await x.getByTestId('timeline').innerText(), /重新提交/);

      // 3. Two people at once: the head approves; the initiator's open page still offers 撤回.
      await openTodo(h, base, title);
      await act(h, 'approve', '同意。');
      await confirmDialog(h);
      await h.getByTestId('action-dialog').waitFor({ state: 'hidden' });
      await act(x, 'withdraw', '不请了');
      await confirmDialog(x);
      const modal = x.locator('.uni-modal').last();
      await modal.getByText(/已有人处理，不能撤回/).waitFor();
      await shot(x, name('07-conflict-409'));
      await modal.locator('.uni-modal__btn_primary').click();
      // the page has refreshed: the head's approval is in the timeline, 人力资源部备案 is current
      await x.getByTestId('timeline').getByText('同意。').waitFor();
      await x.getByTestId('step-hr').and(x.locator('[data-state=active]')).waitFor();

      // 4. HR files it; the initiator opens the notification's deep link and sees it approved.
      const r = await browser.person('hr');
      pages.push(['hr', r]);
      await signIn(r, base, hr.employeeNo!, staffPassword);
      await openTodo(r, base, title);
      await act(r, 'approve');
      await confirmDialog(r);
      await r.getByTestId('detail-status').getByText('已通过').waitFor();

      await x.goto(`${base}/workflow/instances/${instanceId}`);
      await x.waitForURL(new RegExp(`/pages/approval/instance\\?id=${instanceId}$`));
      await x.getByTestId('detail-status').getByText('已通过').waitFor();
      for (const s of ['start', 'head', 'hr', 'end']) t.is(await x.getByTestId(`step-${s}`).getAttribute('data-state'), 'done', `step ${s} done`);
      await shot(x, name('08-approved'));
      // the started box shows it approved too
      await x.goto(`${base}/pages/todo/index`);
      await x.getByTestId('box-started').click();
      await x.locator('[data-testid^=box-item-]', { hasText: title }).getByText('已通过').first().waitFor();
      await shot(x, name('09-started-box'));

      t.deepEqual(browser.problems, [], 'no script errors');
      t.deepEqual(browser.foreign, [], 'no requests outside the server');
    } catch (err) {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      for (const [label, p] of pages) await p.screenshot({ path: path.join(ARTIFACTS, `${name('failure')}-${label}.png`), fullPage: true }).catch(() => undefined);
      t.log(`problems: ${JSON.stringify(browser.problems)}; foreign: ${JSON.stringify(browser.foreign)}`);
      t.log(server.output().slice(-4000));
      throw err;
    }
  });
}

e2e('issue 7 budget: the to-do list renders its first item within 1.5 s on a cold cache (phone, H5 build)', async (t) => {
  t.timeout(120_000);
  const { base, staffPassword } = server;
  const { initiator, head } = pairs[0]!;
  const [start, end] = nextTwoWorkdays();
  const token = await apiLogin(base, initiator.employeeNo!, staffPassword);
  await apiPost(base, token, '/api/v1/workflow/instances', { processKey: 'leave', formData: { leaveType: 'personal', period: { start, end }, reason: '首屏测试' }, title: '首屏测试的请假申请' });
  const browser = await openBrowser(base, VIEWPORTS[0]!, path.join(tmp, 'profiles-cold'));
  t.teardown(() => browser.close());
  const page = await browser.person('cold');
  // sign in through the context's cookie jar: the browser's cache stays empty
  const login = await page.context().request.post(`${base}/api/v1/auth/login`, { data: { username: head.employeeNo, password: staffPassword } });
  t.is(login.status(), 200);
  const started = Date.now();
  await page.goto(`${base}/pages/todo/index`);
  await page.locator('[data-testid^=box-item-]', { hasText: '首屏测试的请假申请' }).waitFor();
  const ms = Date.now() - started;
  t.log(`to-do list first render: ${ms} ms (cold cache)`);
  await shot(page, 'staff-phone-10-todo-cold');
  t.true(ms < 1500, `to-do list took ${ms} ms`);
  t.deepEqual(browser.foreign, [], 'no requests outside the server');
});
