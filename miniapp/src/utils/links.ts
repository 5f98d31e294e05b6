/**
 * Deep links (issue 7 item 7): notification links as the server writes them
 * (server/src/workflow/engine.ts: `/workflow/tasks/<id>`, `/workflow/instances/<id>`) mapped to
 * the pages that show them, for H5 URLs and mini-program paths alike. Pure (vitest).
 */
export function linkToPage(link: string | null | undefined): string | null {
  if (!link) return null;
  const path = link.split(/[?#]/)[0]!.replace(/\/+$/, '');
  let m = /^\/workflow\/tasks\/(\d+)$/.exec(path);
  if (m) return `/pages/approval/task?id=${m[1]}`;
  m = /^\/workflow\/instances\/(\d+)$/.exec(path);
  if (m) return `/pages/approval/instance?id=${m[1]}`;
  if (path === '/workflow/delegations') return '/pages/me/index';
  if (/^\/pages\/[a-z0-9/_-]+$/i.test(path)) return link;
  return null;
}
