import type { ApiClient } from '../api/http';
import type { Me, PasswordPolicy } from '../api/types';
import { useSession } from './session';

/** Password sign-in (cookie on H5, token in the mini-program). WeCom silent sign-in: later issue. */
export async function signIn(client: ApiClient, username: string, password: string, mode: 'cookie' | 'token'): Promise<Me> {
  const me = await client.post<Me>('/api/v1/auth/login', { username, password, mode }, { quiet: true });
  useSession().signedInAs(me);
  return me;
}

export async function changePassword(client: ApiClient, oldPassword: string, newPassword: string): Promise<void> {
  await client.post('/api/v1/me/password', { oldPassword, newPassword });
  useSession().passwordChanged();
}

/** Local check against the live policy (GET /api/v1/me/password-policy); the server checks again. */
export function policyProblems(p: PasswordPolicy | null, pw: string): string[] {
  if (!p) return [];
  const out: string[] = [];
  if (pw.length < p.minLength) out.push(`密码长度至少 ${p.minLength} 位`);
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(pw)).length;
  if (classes < p.minClasses) out.push(`至少包含大写字母、小写字母、数字、符号中的 ${p.minClasses} 类`);
  return out;
}

export function policyText(p: PasswordPolicy | null): string {
  if (!p) return '';
  const parts = [`至少 ${p.minLength} 位`, `包含大写字母、小写字母、数字、符号中的至少 ${p.minClasses} 类`];
  if (p.historyCount > 0) parts.push(`不能与最近 ${p.historyCount} 次使用过的密码相同`);
  return parts.join('；');
}

export async function signOut(client: ApiClient): Promise<void> {
  try {
    await client.post('/api/v1/auth/logout', undefined, { quiet: true });
  } catch {
    // already signed out on the server: nothing to undo
  }
  useSession().clear();
  uni.reLaunch({ url: '/pages/login/index' });
}
