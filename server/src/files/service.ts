import fs from 'node:fs';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { inUnitOfWork, type Actor, type Database, type StoredFile } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../http/errors.ts';
import type { Principal } from '../access/principal.ts';
import { detectAllowedType } from './content-type.ts';
import { LocalDiskStorage } from './storage.ts';

class TooLarge extends Error {}

/** Decides whether a person may read a file attached to a module object (`ownerType`). */
export type FileAccessRule = (p: Principal, file: StoredFile) => Promise<boolean>;

export interface FileMeta {
  id: number;
  name: string;
  mime: string;
  ext: string;
  size: number;
  sha256: string;
  createdAt: Date;
}

export const toMeta = (f: StoredFile): FileMeta => ({
  id: f.id,
  name: f.originalName,
  mime: f.mime,
  ext: f.ext,
  size: Number(f.size),
  sha256: f.sha256,
  createdAt: f.createdAt,
});

/** Keep the name for display only: no path parts, no control characters, bounded length. */
export function cleanFileName(name: string): string {
  const base = name.replace(/\\/g, '/').split('/').pop() ?? '';
  // bidi controls (U+202E "invoice\u202Efdp.exe" shows as "invoiceexe.pdf") are dropped
  // eslint-disable-next-line no-control-regex
  const cleaned = base.normalize('NFC').replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_').trim();
  // by code point, so a cut never leaves half a surrogate pair (unencodable in the download header)
  return Array.from(cleaned || '未命名文件').slice(-200).join('');
}

export class FileService {
  private rules = new Map<string, FileAccessRule>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    readonly storage: LocalDiskStorage,
  ) {}

  /** Modules register who may read files attached to their objects. */
  registerAccessRule(ownerType: string, rule: FileAccessRule): void {
    this.rules.set(ownerType, rule);
  }

  /**
   * Stream a multipart upload (one part named `file`) to disk, hashing as it goes. Stops at
   * `maxBytes` with 413; the type is then decided from the content.
   */
  async upload(req: IncomingMessage, headers: Record<string, string | string[] | undefined>, maxBytes: number, actor: Actor & { id: number }): Promise<FileMeta> {
    const declared = Number(headers['content-length'] ?? 0);
    if (declared > maxBytes + 64 * 1024) throw payloadTooLarge(`文件超过 ${Math.round(maxBytes / 1048576)} MB 上限`);
    const tmp = this.storage.tempPath();
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: headers as busboy.BusboyConfig['headers'], defParamCharset: 'utf8', limits: { files: 1, fileSize: maxBytes + 1, fields: 10, parts: 12, fieldSize: 1024 } });
    } catch {
      throw badRequest('上传请求格式不正确（需要 multipart/form-data）');
    }
    let got: { name: string; size: number; sha256: string } | null = null;
    let current: NodeJS.ReadableStream & { destroy(err?: Error): void } | null = null;
    const done = new Promise<void>((resolve, reject) => {
      let pending: Promise<void> | null = null;
      bb.on('file', (field, stream, info) => {
        if (field !== 'file' || got || pending) {
          stream.resume();
          return;
        }
        const hash = crypto.createHash('sha256');
        let size = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            size += chunk.length;
            hash.update(chunk);
            cb(null, chunk);
          },
        });
        // busboy signals 'limit' on reaching fileSize, so it is one byte over the allowed size
        current = stream;
        stream.on('limit', () => stream.destroy(new TooLarge()));
        pending = pipeline(stream, counter, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 })).then(() => {
          got = { name: cleanFileName(info.filename ?? ''), size, sha256: hash.digest('hex') };
        });
        pending.catch(reject);
      });
      bb.on('error', (err: Error) => reject(err));
      bb.on('close', () => {
        if (pending) pending.then(resolve, reject);
        else resolve();
      });
    });
    // A client that disconnects mid-body must not leave a half-written file and a handler that
    // never finishes: tear the parser (and with it the file stream) down.
    const aborted = new Promise<never>((_, reject) => {
      req.once('close', () => {
        if (!req.complete) {
          const err = new Error('upload aborted by the client');
          current?.destroy(err); // closes the half-written file through the pipeline
          bb.destroy(err);
          reject(err);
        }
      });
    });
    aborted.catch(() => undefined);
    req.pipe(bb);
    try {
      await Promise.race([done, aborted]);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      req.unpipe(bb);
      req.resume();
      if (err instanceof TooLarge) throw payloadTooLarge(`文件超过 ${Math.round(maxBytes / 1048576)} MB 上限`);
      throw badRequest('上传中断或格式不正确，请重试');
    }
    const file = got as { name: string; size: number; sha256: string } | null;
    if (!file) throw badRequest('请选择要上传的文件（表单字段 file）', [{ path: 'file', message: '缺少文件' }]);
    try {
      if (file.size === 0) throw badRequest('文件为空', [{ path: 'file', message: '文件为空' }]);
      const type = await detectAllowedType(tmp, file.name);
      if (!type) throw unsupportedMediaType('不支持的文件类型：仅允许 PDF、图片、Office/WPS 文档、压缩包、音视频及 UTF-8 文本');
      const storageName = LocalDiskStorage.newName();
      await this.storage.commit(tmp, storageName);
      const row = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
        const created = await this.db.models.StoredFile.create(
          {
            storageName,
            originalName: file.name,
            mime: type.mime,
            ext: type.ext,
            size: file.size,
            sha256: file.sha256,
            uploaderId: actor.id,
            ownerType: null,
            ownerId: null,
            createdAt: uow.now,
          },
          { transaction: uow.t },
        );
        uow.audit({ action: 'file.upload', objectType: 'file', objectId: created.id, detail: { name: file.name, size: file.size, sha256: file.sha256, mime: type.mime } });
        return created;
      });
      return toMeta(row);
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** The file if this person may read it. Unknown and forbidden look the same (no enumeration). */
  async readable(p: Principal, id: number): Promise<StoredFile | null> {
    const f = await this.db.models.StoredFile.findByPk(id);
    if (!f) return null;
    if (f.uploaderId === p.userId) return f;
    const rule = f.ownerType ? this.rules.get(f.ownerType) : undefined;
    if (rule && (await rule(p, f))) return f;
    return null;
  }
}

/** `attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
