/**
 * Navigation helpers: the current page as a URL (to come back after signing in), deep links from
 * server notifications (`/workflow/tasks/<id>`, `/workflow/instances/<id>`) to pages.
 */

export const TAB_PAGES = ['/pages/workbench/index', '/pages/todo/index', '/pages/contacts/index', '/pages/me/index'];

export function currentUrl(): string {
  const pages = getCurrentPages();
  const page = pages[pages.length - 1] as unknown as { route?: string; options?: Record<string, string>; $page?: { fullPath?: string } } | undefined;
  if (!page?.route) return '';
  if (page.$page?.fullPath) return page.$page.fullPath;
  const q = Object.entries(page.options ?? {})
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return `/${page.route}${q ? `?${q}` : ''}`;
}

/** `/pages/x/y?a=1` from uni's launch options ({ path: 'pages/x/y', query: { a: '1' } }). */
export function launchUrl(o?: { path?: string; query?: Record<string, string> }): string {
  if (!o?.path) return '';
  const q = Object.entries(o.query ?? {})
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return `/${o.path.replace(/^\//, '')}${q ? `?${q}` : ''}`;
}

export function goSignIn(): void {
  uni.reLaunch({ url: '/pages/login/index' });
}

/** After signing in: back to where the person was, or the workbench. */
export function goAfterSignIn(returnTo: string | null): void {
  const url = returnTo && returnTo.startsWith('/pages/') && !returnTo.startsWith('/pages/login/') ? returnTo : '/pages/workbench/index';
  uni.reLaunch({ url });
}

export { linkToPage } from './links';

export function open(url: string): void {
  const path = url.split('?')[0]!;
  if (TAB_PAGES.includes(path)) uni.switchTab({ url: path });
  else uni.navigateTo({ url });
}
