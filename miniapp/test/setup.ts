import { vi } from 'vitest';

// A minimal `uni` for modules that touch it at import or in handlers (no uni plugin in vitest).
const storage = new Map<string, string>();
const uniStub = {
  request: vi.fn((o: { fail?: (e: { errMsg: string }) => void }) => o.fail?.({ errMsg: 'request:fail no network in unit tests' })),
  showToast: vi.fn(),
  showModal: vi.fn(),
  reLaunch: vi.fn(),
  navigateTo: vi.fn(),
  redirectTo: vi.fn(),
  switchTab: vi.fn(),
  getStorageSync: (k: string) => storage.get(k) ?? '',
  setStorageSync: (k: string, v: string) => void storage.set(k, v),
  removeStorageSync: (k: string) => void storage.delete(k),
  getSystemInfoSync: () => ({ windowWidth: 390 }),
};
(globalThis as unknown as { uni: typeof uniStub }).uni = uniStub;
(globalThis as unknown as { getCurrentPages: () => unknown[] }).getCurrentPages = () => [{ route: 'pages/approval/task', options: { id: '12' } }];

// wot-design-uni components are stubbed (their templates need the uni plugin)
import { config } from '@vue/test-utils';
const WD = ['wd-input', 'wd-textarea', 'wd-calendar', 'wd-datetime-picker', 'wd-picker', 'wd-radio-group', 'wd-radio', 'wd-select-picker', 'wd-checkbox-group', 'wd-checkbox', 'wd-popup', 'wd-search', 'wd-icon', 'wd-button', 'wd-tag', 'wd-action-sheet', 'wd-loadmore', 'wd-cell', 'wd-cell-group'];
config.global.stubs = Object.fromEntries(WD.map((n) => [n, true]));
