import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { nextTick } from 'vue';
import { useSession, useStorage } from '../src/stores/session';
import { useCounts } from '../src/stores/counts';
import { usePagedList } from '../src/stores/list';
import { policyProblems, policyText } from '../src/stores/auth';
import { createClient, type HttpRequest } from '../src/api/http';
import { linkToPage } from '../src/utils/links';
import { stepsOf } from '../src/pages/approval/components/steps';
import type { Definition, HistoryEntry, Me } from '../src/api/types';

const me: Me = { id: 7, username: '10116', name: '蔡建静', deptId: 23, roles: ['staff'], roleNames: ['普通员工'], permissions: [], mustChangePassword: false, csrfToken: 'c1' };

beforeEach(() => {
  setActivePinia(createPinia());
  const m = new Map<string, string>();
  useStorage({ get: (k) => m.get(k) ?? null, set: (k, v) => void m.set(k, v), remove: (k) => void m.delete(k) });
});

describe('session store (sign-in, expiry and return, R20.x)', () => {
  it('keeps the CSRF token (H5) and the Bearer token (mini-program, persisted)', () => {
    const s = useSession();
    s.signedInAs({ ...me, token: 't1' });
    expect(s.signedIn).toBe(true);
    expect(s.csrfToken).toBe('c1');
    const again = (setActivePinia(createPinia()), useSession());
    again.restore();
    expect(again.token).toBe('t1');
    again.clear();
    again.restore();
    expect(again.token).toBeNull();
  });

  it('remembers where the person was when the session expired, never a sign-in page', () => {
    const s = useSession();
    s.rememberReturn('/pages/approval/task?id=12');
    expect(s.takeReturn()).toBe('/pages/approval/task?id=12');
    expect(s.takeReturn()).toBeNull();
    s.rememberReturn('/pages/login/password');
    expect(s.takeReturn()).toBeNull();
  });

  it('forced password change: the flag clears after the change', () => {
    const s = useSession();
    s.signedInAs({ ...me, mustChangePassword: true });
    expect(s.mustChangePassword).toBe(true);
    s.passwordChanged();
    expect(s.mustChangePassword).toBe(false);
  });

  it('checks a new password against the live policy and describes it in Chinese', () => {
    const policy = { minLength: 10, minClasses: 3, historyCount: 5, maxAgeDays: 90, forceChangeOnFirstLogin: true };
    expect(policyProblems(policy, 'abc')).toEqual(['密码长度至少 10 位', '至少包含大写字母、小写字母、数字、符号中的 3 类']);
    expect(policyProblems(policy, 'Qz7#mVt2!pLw')).toEqual([]);
    expect(policyText(policy)).toContain('不能与最近 5 次使用过的密码相同');
  });
});

describe('counts store (workbench, badges)', () => {
  it('R20.2 reads my counts and the unread inbox total', async () => {
    const urls: string[] = [];
    const client = createClient({
      baseUrl: '',
      transport: async (r: HttpRequest) => {
        urls.push(r.url);
        return r.url.startsWith('/api/v1/inbox') ? { statusCode: 200, data: { total: 4, items: [] } } : { statusCode: 200, data: { todo: 3, ccUnread: 1, drafts: 2, running: 5 } };
      },
      hooks: { csrfToken: () => null, bearerToken: () => null, onUnauthorized: () => undefined, onPasswordChangeRequired: () => undefined },
    });
    const c = useCounts();
    await c.refresh(client);
    expect([c.todo, c.ccUnread, c.drafts, c.running, c.unread]).toEqual([3, 1, 2, 5, 4]);
    expect(urls).toContain('/api/v1/inbox?unread=true&pageSize=1');
  });
});

describe('paged list (R20.2 boxes: refresh, load more, search)', () => {
  const rows = Array.from({ length: 45 }, (_, i) => ({ id: i + 1, title: i % 10 === 0 ? `采购申请 ${i}` : `请假申请 ${i}` }));
  const fetchPage = async (page: number, size: number) => ({ total: rows.length, items: rows.slice((page - 1) * size, page * size) });

  it('refreshes, loads more until finished', async () => {
    const l = usePagedList(fetchPage, (r, q) => r.title.includes(q), 20);
    await l.refresh();
    expect(l.visible.value).toHaveLength(20);
    await l.more();
    await l.more();
    expect(l.visible.value).toHaveLength(45);
    expect(l.finished.value).toBe(true);
    await l.more();
    expect(l.state.page).toBe(3);
  });

  it('search filters loaded rows and loads further pages to find more', async () => {
    const l = usePagedList(fetchPage, (r, q) => r.title.includes(q), 20);
    await l.refresh();
    await l.search('采购');
    await nextTick();
    expect(l.visible.value.map((r) => r.id)).toEqual([1, 11, 21, 31, 41]);
    expect(l.state.page).toBe(3);
  });

  it('a slower earlier refresh does not overwrite a newer one', async () => {
    let calls = 0;
    const l = usePagedList(
      async () => {
        const n = ++calls;
        await new Promise((r) => setTimeout(r, n === 1 ? 30 : 1));
        return { total: 1, items: [{ id: n, title: `第 ${n} 次` }] };
      },
      () => true,
    );
    await Promise.all([l.refresh(), l.refresh()]);
    expect(l.visible.value.map((r) => r.id)).toEqual([2]);
  });
});

describe('deep links (issue 7 item 7)', () => {
  it('maps the server notification links to pages', () => {
    expect(linkToPage('/workflow/tasks/12')).toBe('/pages/approval/task?id=12');
    expect(linkToPage('/workflow/instances/34/')).toBe('/pages/approval/instance?id=34');
    expect(linkToPage('/workflow/delegations')).toBe('/pages/me/index');
    expect(linkToPage('/pages/inbox/index')).toBe('/pages/inbox/index');
    expect(linkToPage('https://evil.example/x')).toBeNull();
    expect(linkToPage(null)).toBeNull();
  });
});

describe('R3.5 process steps with current nodes highlighted', () => {
  const def: Definition = {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      { id: 'head', name: '科主任审批', type: 'approval' },
      { id: 'split', name: '会审', type: 'parallel' },
      { id: 'equip', name: '设备科审核', type: 'approval' },
      { id: 'fin', name: '财务部审核', type: 'approval' },
      { id: 'join', name: '会审完成', type: 'parallel' },
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'head' },
      { id: 'e2', from: 'head', to: 'split' },
      { id: 'b1', from: 'split', to: 'equip' },
      { id: 'b2', from: 'split', to: 'fin' },
      { id: 'e3', from: 'equip', to: 'join' },
      { id: 'e4', from: 'fin', to: 'join' },
      { id: 'e5', from: 'join', to: 'end' },
    ],
  };
  const h = (action: string, node: string): HistoryEntry => ({ id: 1, at: '', actor: null, onBehalfOf: null, node: { id: node, name: node }, taskId: null, action, comment: null, detail: null });

  it('orders steps along the flow, drops gateways, marks done / active / parallel', () => {
    const s = stepsOf(def, ['equip', 'fin'], [h('submit', 'start'), h('approve', 'head')], 'running');
    expect(s.map((x) => `${x.id}:${x.state}${x.parallel ? ':parallel' : ''}`)).toEqual(['start:done', 'head:done', 'equip:active:parallel', 'fin:active:parallel', 'end:todo']);
  });

  it('a finished instance shows steps it never passed as skipped', () => {
    const s = stepsOf(def, [], [h('submit', 'start'), h('reject', 'head')], 'rejected');
    expect(s.find((x) => x.id === 'equip')!.state).toBe('skipped');
    expect(s.find((x) => x.id === 'end')!.state).toBe('skipped');
  });
});
