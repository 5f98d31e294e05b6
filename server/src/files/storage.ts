import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * Local disk under FILES_DIR. Names are generated (32 hex chars), never taken from the user, and
 * live outside any served path, so an upload can neither choose where it lands nor be executed.
 */
export class LocalDiskStorage {
  constructor(readonly root: string) {
    fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  }

  /** Remove upload leftovers older than `olderThanMs` (a crash mid-upload). */
  async sweepTemp(now: Date, olderThanMs = 3_600_000): Promise<number> {
    const dir = path.join(this.root, 'tmp');
    let removed = 0;
    for (const name of await fs.promises.readdir(dir)) {
      if (!name.endsWith('.part')) continue;
      const file = path.join(dir, name);
      const st = await fs.promises.stat(file).catch(() => null);
      if (st && now.getTime() - st.mtimeMs > olderThanMs) {
        await fs.promises.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  static newName(): string {
    return crypto.randomBytes(16).toString('hex');
  }

  private pathOf(storageName: string): string {
    if (!/^[0-9a-f]{32}$/.test(storageName)) throw new Error('invalid storage name');
    return path.join(this.root, storageName.slice(0, 2), storageName.slice(2, 4), storageName);
  }

  tempPath(): string {
    return path.join(this.root, 'tmp', `${LocalDiskStorage.newName()}.part`);
  }

  /** Move a finished temp file into place (same filesystem: an atomic rename). */
  async commit(tempFile: string, storageName: string): Promise<void> {
    const dest = this.pathOf(storageName);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    await fs.promises.rename(tempFile, dest);
  }

  /** Opened before the response starts: a missing file fails here, not in the middle of a reply. */
  async open(storageName: string): Promise<fs.ReadStream> {
    const handle = await fs.promises.open(this.pathOf(storageName), 'r');
    return handle.createReadStream();
  }

  async remove(storageName: string): Promise<void> {
    await fs.promises.rm(this.pathOf(storageName), { force: true });
  }
}
