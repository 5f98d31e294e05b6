import { createClient, type ApiError, type HttpRequest, type HttpResponse } from './http';
import { useSession } from '../stores/session';
import { currentUrl, goSignIn } from '../utils/nav';

/**
 * The one API client of the app (uni.request). H5 is served by our server, so its base is the same
 * origin; the mini-program needs the server's https address at build time (VITE_API_BASE).
 */
const BASE = (import.meta.env.VITE_API_BASE as string | undefined) ?? '';

function uniTransport(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    uni.request({
      url: req.url,
      method: req.method as 'GET',
      data: req.data as UniApp.RequestOptions['data'],
      header: req.header,
      // #ifdef H5
      withCredentials: true,
      // #endif
      success: (r) => resolve({ statusCode: r.statusCode, data: r.data, header: r.header as Record<string, string> }),
      fail: (e) => reject(new Error(e.errMsg)),
    });
  });
}

let redirecting = false;

export const api = createClient({
  baseUrl: BASE,
  transport: uniTransport,
  hooks: {
    csrfToken: () => useSession().csrfToken,
    bearerToken: () => useSession().token,
    onUnauthorized: () => {
      const s = useSession();
      // several calls may fail at once: the first one (made while signed in) leads to sign-in
      const wasSignedIn = s.signedIn;
      s.clear();
      const here = currentUrl();
      if (here.startsWith('/pages/login/') || (redirecting && !wasSignedIn)) return;
      redirecting = true;
      setTimeout(() => (redirecting = false), 1500);
      s.rememberReturn(here);
      uni.showToast({ title: '登录已过期，请重新登录', icon: 'none' });
      goSignIn();
    },
    onPasswordChangeRequired: () => {
      if (redirecting) return;
      redirecting = true;
      setTimeout(() => (redirecting = false), 1500);
      uni.reLaunch({ url: '/pages/login/password' });
    },
  },
});

/** Show a failed call as the server's Chinese message (problem+json `detail`). */
export function showError(err: unknown): void {
  const e = err as ApiError;
  if (e?.status === 401 || e?.code === 'PASSWORD_CHANGE_REQUIRED') return; // handled by the hooks
  const title = e?.detail ?? (err instanceof Error ? err.message : '操作失败，请重试');
  uni.showToast({ title, icon: 'none', duration: 3000 });
}

export { ApiError, clientKey } from './http';
