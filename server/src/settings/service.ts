import { z } from 'zod';
import { inUnitOfWork, type Actor, type Database } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { Bus } from '../system/bus.ts';

export const passwordPolicySchema = z.strictObject({
  minLength: z.number().int().min(8).max(64).describe('最小长度'),
  minClasses: z.number().int().min(1).max(4).describe('至少包含的字符类别数（大写、小写、数字、符号）'),
  historyCount: z.number().int().min(0).max(24).describe('不得与最近几次密码相同'),
  maxAgeDays: z.number().int().min(0).max(3650).describe('密码最长使用天数，0 表示不过期'),
  forceChangeOnFirstLogin: z.boolean().describe('初始密码或重置后的密码首次登录必须修改'),
});
export type PasswordPolicy = z.infer<typeof passwordPolicySchema>;

export const uploadSettingsSchema = z.strictObject({
  maxUploadMb: z.number().int().min(1).max(10_240).describe('单个文件上传上限（MB）'),
});

/** Typed settings: each key has a schema and a default; values are stored as JSON text. */
export const SETTINGS = {
  'security.passwordPolicy': passwordPolicySchema,
  'files.upload': uploadSettingsSchema,
} as const;
export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = z.infer<(typeof SETTINGS)[K]>;

export class SettingsService {
  private cache = new Map<string, unknown>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly bus: Bus,
    private readonly defaults: { [K in SettingKey]: SettingValue<K> },
  ) {
    bus.subscribe((m) => {
      if (m.type === 'settings') this.cache.delete(m.key);
    });
  }

  async get<K extends SettingKey>(key: K): Promise<SettingValue<K>> {
    if (this.cache.has(key)) return this.cache.get(key) as SettingValue<K>;
    const row = await this.db.models.Setting.findByPk(key);
    let value: SettingValue<K> = this.defaults[key];
    if (row) {
      // A stored value that no longer fits the schema (older version) falls back to the default.
      const parsed = SETTINGS[key].safeParse(row.value);
      if (parsed.success) value = parsed.data as SettingValue<K>;
    }
    this.cache.set(key, value);
    return value;
  }

  async set<K extends SettingKey>(key: K, value: SettingValue<K>, actor: Actor): Promise<void> {
    const before = await this.get(key);
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const { Setting } = this.db.models;
      const existing = await Setting.findByPk(key, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (existing) await existing.update({ value, updatedAt: uow.now, updatedBy: actor.id }, { transaction: uow.t });
      else await Setting.create({ key, value, updatedAt: uow.now, updatedBy: actor.id }, { transaction: uow.t });
      uow.audit({ action: 'settings.update', objectType: 'setting', objectId: key, detail: { before, after: value } });
    });
    await this.bus.publish({ type: 'settings', key });
  }
}
