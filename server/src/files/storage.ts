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
