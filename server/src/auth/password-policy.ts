import type { PasswordPolicy } from '../settings/service.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: 8,
  minClasses: 3,
  historyCount: 5,
  maxAgeDays: 90,
  forceChangeOnFirstLogin: true,
};

/** Longest accepted password: long passphrases are allowed (IA-2), argon2 hashes all of it. */
export const MAX_PASSWORD_LENGTH = 128;

function classesOf(pw: string): number {
  let n = 0;
  if (/[A-Z]/.test(pw)) n++;
  if (/[a-z]/.test(pw)) n++;
  if (/[0-9]/.test(pw)) n++;
  if (/[^A-Za-z0-9]/.test(pw)) n++;
  return n;
}

/**
 * Check a new password against the policy (等保 身份鉴别 a; BAR IA-2). Returns Chinese reasons,
 * empty when acceptable. History is checked separately (it needs the stored hashes).
 */
export function checkPasswordPolicy(pw: string, policy: PasswordPolicy, ctx: { username: string; name?: string }): string[] {
  const problems: string[] = [];
  const chars = [...pw].length;
  if (chars < policy.minLength) problems.push(`密码长度至少 ${policy.minLength} 位`);
  if (chars > MAX_PASSWORD_LENGTH) problems.push(`密码长度不能超过 ${MAX_PASSWORD_LENGTH} 位`);
  if (classesOf(pw) < policy.minClasses) problems.push(`密码须至少包含大写字母、小写字母、数字、符号中的 ${policy.minClasses} 类`);
  const lower = pw.toLowerCase();
  const user = ctx.username.toLowerCase();
  if (user.length >= 3 && lower.includes(user)) problems.push('密码不能包含用户名');
  const normalised = lower.replace(/[^a-z0-9]/g, '');
  if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(normalised) || COMMON_PASSWORDS.has(normalised.replace(/\d+$/, ''))) {
    problems.push('密码过于常见，容易被猜中');
  }
  return problems;
}

/** Whether the password has outlived the policy's maximum age (IA-3). */
export function passwordExpired(changedAt: Date | null, policy: PasswordPolicy, now: Date): boolean {
  if (!policy.maxAgeDays) return false;
  if (!changedAt) return true;
  return now.getTime() - changedAt.getTime() > policy.maxAgeDays * 86_400_000;
}
