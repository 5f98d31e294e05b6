import { api } from '../../api';
import { useSession } from '../../stores/session';

/** The server's default single-file limit (UPLOAD_MAX_MB). */
export const DEFAULT_UPLOAD_MB = 50;

/**
 * The single-file upload limit in MB, shown before uploading. The server keeps it in the
 * `files.upload` setting, readable only with system:settings (GET /api/v1/system/settings/upload;
 * asking without the permission would write an access-denied audit row), so other staff see the
 * server's default until an endpoint for everyone exists. The server refuses larger files anyway
 * (413, shown with its Chinese message).
 */
let cached: Promise<number> | null = null;
export function uploadLimitMb(): Promise<number> {
  if (!useSession().me?.permissions.includes('system:settings')) return Promise.resolve(DEFAULT_UPLOAD_MB);
  cached ??= api
    .get<{ maxUploadMb: number }>('/api/v1/system/settings/upload', undefined, { quiet: true })
    .then((r) => r.maxUploadMb)
    .catch(() => DEFAULT_UPLOAD_MB);
  return cached;
}
