import { inUnitOfWork, auditStandalone, type Actor, type Database, type LoginResult } from '@oa/db';
import type { Clock } from '../clock.ts';
import { AppError, badRequest, tooManyRequests } from '../http/errors.ts';
import type { SettingsService } from '../settings/service.ts';
import type { RateLimiter } from '../system/rate-limit.ts';
import { checkPasswordPolicy } from './password-policy.ts';
import { formatBeijing } from '../time.ts';
import { burnVerifyTime, hashPassword, normaliseUsername, verifyPassword } from './passwords.ts';
import type { SessionManager } from './sessions.ts';

export interface LoginLimits {
  maxFailures: number;
  lockMs: number;
  ipMaxFailures: number;
  ipWindowMs: number;
}

export interface LoginMeta {
  ip: string;
  userAgent: string | null;
  requestId: string;
  /** accounts this browser signed in to before (device cookie) */
  knownAccounts: string[];
}

// One message for unknown user, wrong password, locked and disabled accounts (BAR IA-4).
const GENERIC_FAILURE = '用户名或密码错误。连续输错多次后账号将被临时锁定，如需帮助请联系信息科。';
const loginFailed = () => new AppError(401, 'LOGIN_FAILED', GENERIC_FAILURE);

export class AuthService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly sessions: SessionManager,
    private readonly settings: SettingsService,
    private readonly limiter: RateLimiter,
    private readonly limits: LoginLimits,
  ) {}

  private async log(username: string, userId: number | null, meta: LoginMeta, result: LoginResult, reason: string | null): Promise<void> {
    await this.db.models.LoginLog.create({
      at: this.clock.now(),
      username: username.slice(0, 64),
      userId,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 255) ?? null,
      result,
      reason,
    });
  }

  private async failed(username: string, userId: number | null, meta: LoginMeta, result: LoginResult, reason: string): Promise<never> {
    await this.limiter.hit(`login-ip:${meta.ip}`, this.limits.ipWindowMs);
    await this.log(username, userId, meta, result, reason);
    throw loginFailed();
  }

  /** Password sign-in (S1, R18). Returns the new session's cookie token. */
  async login(rawUsername: string, password: string, meta: LoginMeta) {
    const username = normaliseUsername(rawUsername);
    const ipKey = `login-ip:${meta.ip}`;
    const ip = await this.limiter.peek(ipKey, this.limits.ipWindowMs);
    if (ip.count >= this.limits.ipMaxFailures && !meta.knownAccounts.includes(username)) {
      await this.log(username, null, meta, 'rate_limited', `该网络地址 ${Math.round(this.limits.ipWindowMs / 60_000)} 分钟内已失败 ${ip.count} 次`);
      const retry = Math.max(1, Math.ceil((ip.resetAt.getTime() - this.clock.now().getTime()) / 1000));
      throw tooManyRequests('该网络地址登录失败次数过多，请稍后再试，或在曾经登录过的电脑上登录', retry);
    }
    const { User } = this.db.models;
    const user = await User.findOne({ where: { username } });
    const now = this.clock.now();
    if (!user || !user.passwordHash) {
      await burnVerifyTime(password);
      return this.failed(username, null, meta, 'failure', user ? '该账号未设置本地密码' : '用户名不存在');
    }
    if (user.status !== 'active') {
      await burnVerifyTime(password);
      return this.failed(username, user.id, meta, 'disabled', '账号已停用');
    }
    if (user.lockedUntil && new Date(user.lockedUntil) > now) {
      await burnVerifyTime(password);
      return this.failed(username, user.id, meta, 'locked', `账号锁定中，至 ${formatBeijing(new Date(user.lockedUntil))} 解锁`);
    }
    if (!(await verifyPassword(user.passwordHash, password))) {
      await this.recordBadPassword(user.id, meta);
      return this.failed(username, user.id, meta, 'failure', '密码错误');
    }
    const actor: Actor = { id: user.id, name: user.username, ip: meta.ip, requestId: meta.requestId };
    await inUnitOfWork(this.db, actor, now, async (uow) => {
      await User.update({ failedCount: 0, lockedUntil: null }, { where: { id: user.id }, transaction: uow.t });
      uow.audit({ action: 'auth.login', objectType: 'user', objectId: user.id });
    });
    await this.log(username, user.id, meta, 'success', null);
    const { token, record } = await this.sessions.create(user.id, { ip: meta.ip, userAgent: meta.userAgent });
    const principal = (await this.sessions.resolve(token))?.principal;
    return { token, record, principal, username };
  }

  /** Count a wrong password; the Nth in a row locks the account for a while (IA-4). */
  private async recordBadPassword(userId: number, meta: LoginMeta): Promise<void> {
    const actor: Actor = { id: userId, name: null, ip: meta.ip, requestId: meta.requestId };
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const u = await this.db.models.User.findByPk(userId, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!u) return;
      const failed = u.failedCount + 1;
      if (failed >= this.limits.maxFailures) {
        const lockedUntil = new Date(uow.now.getTime() + this.limits.lockMs);
        await u.update({ failedCount: 0, lockedUntil }, { transaction: uow.t });
        uow.audit({ action: 'auth.account_locked', objectType: 'user', objectId: userId, detail: { failures: failed, lockedUntil: lockedUntil.toISOString() } });
      } else {
        await u.update({ failedCount: failed }, { transaction: uow.t });
      }
    });
  }

  async logout(sessionId: string, actor: Actor & { id: number; name: string }, meta: LoginMeta): Promise<void> {
    await this.sessions.revoke(sessionId);
    await auditStandalone(this.db, { ...actor, actorId: actor.id, actorName: actor.name, action: 'auth.logout', objectType: 'user', objectId: actor.id }, this.clock.now());
    await this.log(actor.name, actor.id, meta, 'logout', null);
  }

  /** Change one's own password: old one required, policy and history enforced (IA-2, IA-3). */
  async changePassword(userId: number, oldPassword: string, newPassword: string, actor: Actor, keepSessionId: string | undefined): Promise<void> {
    const { User, PasswordHistory } = this.db.models;
    const user = await User.findByPk(userId);
    if (!user || !user.passwordHash) throw badRequest('该账号未设置本地密码');
    if (!(await verifyPassword(user.passwordHash, oldPassword))) {
      await this.recordBadPassword(userId, { ip: actor.ip ?? '', userAgent: null, requestId: actor.requestId ?? '', knownAccounts: [] });
      throw badRequest('原密码不正确', [{ path: 'oldPassword', message: '原密码不正确' }], 'WRONG_PASSWORD');
    }
    const policy = await this.settings.get('security.passwordPolicy');
    const problems = checkPasswordPolicy(newPassword, policy, { username: user.username, name: user.name });
    if (problems.length) {
      throw badRequest(`新密码不符合要求：${problems.join('；')}`, problems.map((m) => ({ path: 'newPassword', message: m })), 'PASSWORD_POLICY');
    }
    if (policy.historyCount > 0) {
      const history = await PasswordHistory.findAll({ where: { userId }, order: [['id', 'DESC']], limit: policy.historyCount, raw: true });
      const previous = [user.passwordHash, ...history.map((h) => h.hash)].slice(0, policy.historyCount);
      for (const h of previous) {
        if (await verifyPassword(h, newPassword)) {
          const msg = `新密码不能与最近 ${policy.historyCount} 次使用过的密码相同`;
          throw badRequest(msg, [{ path: 'newPassword', message: msg }], 'PASSWORD_REUSED');
        }
      }
    }
    const hash = await hashPassword(newPassword);
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const fresh = await User.findByPk(userId, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!fresh) throw badRequest('账号不存在');
      await PasswordHistory.create({ userId, hash: fresh.passwordHash!, createdAt: uow.now }, { transaction: uow.t });
      await fresh.update({ passwordHash: hash, passwordChangedAt: uow.now, mustChangePassword: false, failedCount: 0 }, { transaction: uow.t });
      uow.audit({ action: 'auth.password_change', objectType: 'user', objectId: userId });
    });
    // Other sessions of this person end: a changed password must lock out whoever else had it.
    await this.sessions.revokeUser(userId, keepSessionId);
    await this.sessions.invalidateUser(userId);
  }

  /** Security administrator lifts a lockout (audited). */
  async unlock(userId: number, actor: Actor): Promise<boolean> {
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const u = await this.db.models.User.findByPk(userId, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!u) return false;
      await u.update({ failedCount: 0, lockedUntil: null }, { transaction: uow.t });
      uow.audit({ action: 'auth.unlock', objectType: 'user', objectId: userId });
      return true;
    });
  }
}
