import fs from 'node:fs';
import { fileTypeFromFile } from 'file-type';

/** Types a hospital OA needs, decided by content, not by the name (BAR §6 item 3). */
const ALLOWED: Record<string, string> = {
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  heic: 'image/heic',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  // legacy .doc/.xls/.ppt and WPS files are OLE compound files
  cfb: 'application/x-cfb',
  zip: 'application/zip',
  rar: 'application/vnd.rar',
  '7z': 'application/x-7z-compressed',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  amr: 'audio/amr',
};
const LEGACY_OFFICE: Record<string, string> = {
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  wps: 'application/octet-stream',
  et: 'application/octet-stream',
  dps: 'application/octet-stream',
};
const TEXT_EXTS: Record<string, string> = { txt: 'text/plain; charset=utf-8', csv: 'text/csv; charset=utf-8' };

export interface DetectedType {
  ext: string;
  mime: string;
}

function extOf(name: string): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name);
  return m ? m[1]!.toLowerCase() : '';
}

function looksLikeUtf8Text(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(8192);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const sample = buf.subarray(0, n);
    if (sample.includes(0)) return false;
    // a multi-byte character cut at the sample's end is fine (stream: it waits for the rest);
    // anything else must decode
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: n === buf.length });
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** The file's real type if allowed, else null. Text files are accepted only as .txt/.csv UTF-8. */
export async function detectAllowedType(file: string, originalName: string): Promise<DetectedType | null> {
  const detected = await fileTypeFromFile(file);
  const claimed = extOf(originalName);
  if (detected) {
    const mime = ALLOWED[detected.ext];
    if (!mime) return null;
    if (detected.ext === 'cfb') {
      const legacy = LEGACY_OFFICE[claimed];
      return legacy ? { ext: claimed, mime: legacy } : null;
    }
    return { ext: detected.ext, mime };
  }
  const text = TEXT_EXTS[claimed];
  if (text && looksLikeUtf8Text(file)) return { ext: claimed, mime: text };
  return null;
}
