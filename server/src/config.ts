import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'])
  .transform((v) => ['true', '1', 'on', 'yes'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable the server reads; `.env.example` documents the same list. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  PORT: int(1, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  FILES_DIR: z.string().min(1).optional(),
  DB_URL: z.string().min(1).optional(),
  DB_POOL_MAX: int(1, 500).default(20),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, '必须以 redis:// 或 rediss:// 开头').optional(),
  SECRET_KEY: z.string().min(32, 'SECRET_KEY 至少 32 个字符').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEMO_DATA: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: bool.default(false),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  SESSION_IDLE_MINUTES: int(1, 24 * 60).default(30),
  SESSION_ABSOLUTE_HOURS: int(1, 24 * 30).default(12),
  LOGIN_MAX_FAILURES: int(1, 100).default(5),
  LOGIN_LOCK_MINUTES: int(1, 24 * 60).default(15),
  LOGIN_IP_MAX_FAILURES: int(1, 100_000).default(100),
  LOGIN_IP_WINDOW_MINUTES: int(1, 24 * 60).default(15),
  UPLOAD_MAX_MB: int(1, 10_240).default(50),
  BODY_LIMIT_KB: int(1, 102_400).default(1024),
  SCHEDULER: z.enum(['on', 'off']).default('on'),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN 至少 16 个字符').optional(),
  // WeCom (企业微信, issue 6): all of the first five, or none (WeCom off: password sign-in only)
  WECOM_CORP_ID: z.string().regex(/^[A-Za-z0-9]{6,64}$/, '企业 ID 格式不正确').optional(),
  WECOM_AGENT_ID: z.coerce.number().int().positive('应用 AgentId 必须是正整数').optional(),
  WECOM_SECRET: z.string().min(8, '应用 Secret 太短').optional(),
  WECOM_TOKEN: z.string().regex(/^[A-Za-z0-9]{1,32}$/, '回调 Token 只能是 32 位以内的字母数字').optional(),
  WECOM_AES_KEY: z.string().regex(/^[A-Za-z0-9]{43}$/, '回调 EncodingAESKey 必须是 43 位字母数字').optional(),
  /** the contact-sync secret (通讯录同步), for full sync by userid list */
  WECOM_CONTACT_SECRET: z.string().min(8).optional(),
  WECOM_API_BASE: z.url('WECOM_API_BASE 必须是网址').optional(),
  /** demo mode: start the local fake WeCom server with `npm start` */
  WECOM_FAKE: z.enum(['on', 'off']).default('off'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  dataDir: string;
  filesDir: string;
  cookieSecure: boolean;
  /** master secret: from SECRET_KEY, else generated once into DATA_DIR/secret.key */
  secret: Buffer;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`配置错误（环境变量）：\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const filesDir = path.resolve(e.FILES_DIR ?? path.join(dataDir, 'files'));
  const wecomKeys = ['WECOM_CORP_ID', 'WECOM_AGENT_ID', 'WECOM_SECRET', 'WECOM_TOKEN', 'WECOM_AES_KEY'] as const;
  const wecomSet = wecomKeys.filter((k) => e[k] !== undefined);
  if (wecomSet.length && wecomSet.length !== wecomKeys.length) {
    throw new ConfigError(`配置错误（环境变量）：\n  企业微信配置不完整，缺少 ${wecomKeys.filter((k) => e[k] === undefined).join('、')}（要么全部设置，要么全部不设置）`);
  }
  const cookieSecure = e.COOKIE_SECURE === 'auto' ? (e.PUBLIC_URL?.startsWith('https:') ?? false) : e.COOKIE_SECURE === 'true';
  return { ...e, dataDir, filesDir, cookieSecure, secret: loadSecret(e.SECRET_KEY, dataDir) };
}

function loadSecret(fromEnv: string | undefined, dataDir: string): Buffer {
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  const file = path.join(dataDir, 'secret.key');
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = crypto.randomBytes(32);
  // wx: never overwrite a key another process wrote a moment ago.
  try {
    fs.writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  }
}

/** Derive a purpose-bound key so one secret never serves two uses. */
export function deriveKey(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), `oa:${purpose}`, 32));
}
