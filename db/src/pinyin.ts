import { pinyin } from 'pinyin-pro';

/**
 * Search keys for a Chinese name (R3.17): full pinyin without spaces and the initials, surnames
 * read as surnames (单 shan, 曾 zeng, 解 xie, 区 ou, 仇 qiu). Latin names are kept lower-cased.
 */
export function nameSearchKeys(name: string): { pinyin: string; initials: string } {
  const n = name.normalize('NFKC').trim();
  const full = pinyin(n, { toneType: 'none', type: 'array', surname: 'head', nonZh: 'consecutive' })
    .join('')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  const initials = pinyin(n, { pattern: 'first', toneType: 'none', type: 'array', surname: 'head', nonZh: 'consecutive' })
    .join('')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  return { pinyin: full.slice(0, 200), initials: initials.slice(0, 100) };
}
