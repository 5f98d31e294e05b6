import { inUnitOfWork, auditStandalone, Op, type Actor, type Database, type LoginResult } from '@oa/db';
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

  /**
   * One password check against the lockout budget (IA-4). The attempt is reserved atomically
   * before the hash is verified, so a burst of parallel guesses gets at most `maxFailures`
   * verifications; the last wrong one locks the account.
   */
  private async attemptPassword(user: { id: number; passwordHash: string }, password: string, actor: Actor): Promise<'ok' | 'wrong' | 'locked'> {
    const { User } = this.db.models;
    const now = this.clock.now();
    const [reserved] = await User.update(
      { failedCount: this.db.sequelize.literal('failed_count + 1') as unknown as number },
      {
        where: {
          id: user.id,
          failedCount: { [Op.lt]: this.limits.maxFailures },
          [Op.or]: [{ lockedUntil: null }, { lockedUntil: { [Op.lte]: now } }],
        },
      },
    );
    if (reserved !== 1) {
      await burnVerifyTime(password);
      return 'locked';
    }
    if (await verifyPassword(user.passwordHash, password)) {
      await User.update({ failedCount: 0, lockedUntil: null }, { where: { id: user.id } });
      return 'ok';
    }
    const lockedUntil = new Date(now.getTime() + this.limits.lockMs);
    // Of several failures reaching the limit together, exactly one locks (and audits) it.
    const [locked] = await User.update(
      { failedCount: 0, lockedUntil },
      { where: { id: user.id, failedCount: { [Op.gte]: this.limits.maxFailures } } },
    );
    if (locked === 1) {
      await auditStandalone(
        this.db,
        { ...actor, actorId: user.id, action: 'auth.account_locked', objectType: 'user', objectId: user.id, detail: { failures: this.limits.maxFailures, lockedUntil: lockedUntil.toISOString() } },
        now,
      );
    }
    return 'wrong';
  }

  /** Password sign-in (S1, R18). Returns the new session's cookie token. */
  async login(rawUsername: string, password: string, meta: LoginMeta) {
    const username = normaliseUsername(rawUsername);
    // Every attempt is counted against the address first (undone on success): a parallel burst
    // cannot slip past the limit between a check and a count.
    const ipKey = `login-ip:${meta.ip}`;
    const ipCount = await this.limiter.hit(ipKey, this.limits.ipWindowMs);
    if (ipCount > this.limits.ipMaxFailures && !meta.knownAccounts.includes(username)) {
      await this.log(username, null, meta, 'rate_limited', `该网络地址 ${Math.round(this.limits.ipWindowMs / 60_000)} 分钟内已失败 ${ipCount - 1} 次`);
      const { resetAt } = await this.limiter.peek(ipKey, this.limits.ipWindowMs);
      const retry = Math.max(1, Math.ceil((resetAt.getTime() - this.clock.now().getTime()) / 1000));
      throw tooManyRequests('该网络地址登录失败次数过多，请稍后再试，或在曾经登录过的电脑上登录', retry);
    }
    const { User } = this.db.models;
    const user = await User.findOne({ where: { username } });
    const actor: Actor = { id: user?.id ?? null, name: username, ip: meta.ip, requestId: meta.requestId };
    const fail = async (userId: number | null, result: LoginResult, reason: string): Promise<never> => {
      await this.log(username, userId, meta, result, reason);
      throw loginFailed();
    };
    if (!user || !user.passwordHash || user.status !== 'active') {
      // Same work as for a real account (one counter write, one hash), so timing tells nothing.
      await this.limiter.hit(`login-unknown:${username}`, this.limits.lockMs);
      await burnVerifyTime(password);
      if (!user) return fail(null, 'failure', '用户名不存在');
      return user.status !== 'active' ? fail(user.id, 'disabled', '账号已停用') : fail(user.id, 'failure', '该账号未设置本地密码');
    }
    const outcome = await this.attemptPassword({ id: user.id, passwordHash: user.passwordHash }, password, actor);
    if (outcome === 'locked') {
      const fresh = await User.findByPk(user.id, { attributes: ['lockedUntil'], raw: true });
      const until = fresh?.lockedUntil ? `，至 ${formatBeijing(new Date(fresh.lockedUntil))} 解锁` : '';
      return fail(user.id, 'locked', `账号锁定中${until}`);
    }
    if (outcome === 'wrong') return fail(user.id, 'failure', '密码错误');
    await this.limiter.undo(ipKey);
    await inUnitOfWork(this.db, { ...actor, id: user.id }, this.clock.now(), async (uow) => {
      uow.audit({ action: 'auth.login', objectType: 'user', objectId: user.id });
    });
    await this.log(username, user.id, meta, 'success', null);
    const { token, record } = await this.sessions.create(user.id, { ip: meta.ip, userAgent: meta.userAgent });
    const principal = (await this.sessions.resolve(token))?.principal;
    return { token, record, principal, username };
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
    // The old password is checked against the same lockout budget as sign-in: a session must not
    // become an unlimited guessing oracle. Locking out from here also ends this person's sessions.
    const outcome = await this.attemptPassword({ id: user.id, passwordHash: user.passwordHash }, oldPassword, actor);
    if (outcome !== 'ok') {
      const now = await User.findByPk(userId, { attributes: ['lockedUntil'], raw: true });
      if (outcome === 'locked' || (now?.lockedUntil && new Date(now.lockedUntil) > this.clock.now())) {
        await this.sessions.revokeUser(userId);
        throw new AppError(401, 'ACCOUNT_LOCKED', '原密码连续输错次数过多，账号已被临时锁定，请稍后重新登录');
      }
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
