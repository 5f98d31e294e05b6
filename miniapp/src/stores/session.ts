import { defineStore } from 'pinia';
import type { Me } from '../api/types';

/**
 * Who is signed in. H5 uses the server's cookie session and keeps only the CSRF token (from
 * sign-in or GET /api/v1/me); the mini-program has no cookie jar and keeps a Bearer token in
 * storage (login with mode=token).
 */
export interface KeyValueStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

const TOKEN_KEY = 'oa.token';
const RETURN_KEY = 'oa.returnTo';

let storage: KeyValueStorage = {
  get: () => null,
  set: () => undefined,
  remove: () => undefined,
};

/** App.vue installs uni storage; tests install a Map. */
export function useStorage(s: KeyValueStorage): void {
  storage = s;
}

export const useSession = defineStore('session', {
  state: () => ({
    me: null as Me | null,
    csrfToken: null as string | null,
    token: null as string | null,
    /** the launch probe (GET /me) has answered */
    ready: false,
  }),
  getters: {
    signedIn: (s) => !!s.me,
    mustChangePassword: (s) => !!s.me?.mustChangePassword,
  },
  actions: {
    restore() {
      this.token = storage.get(TOKEN_KEY);
    },
    signedInAs(me: Me) {
      this.me = me;
      if (me.csrfToken) this.csrfToken = me.csrfToken;
      if (me.token) {
        this.token = me.token;
        storage.set(TOKEN_KEY, me.token);
      }
      this.ready = true;
    },
    passwordChanged() {
      if (this.me) this.me = { ...this.me, mustChangePassword: false };
    },
    clear() {
      this.me = null;
      this.csrfToken = null;
      this.token = null;
      storage.remove(TOKEN_KEY);
    },
    /** where to go back to after signing in again (R20.x: session expiry returns the person to their page) */
    rememberReturn(url: string) {
      if (url && !url.startsWith('/pages/login/')) storage.set(RETURN_KEY, url);
    },
    takeReturn(): string | null {
      const v = storage.get(RETURN_KEY);
      storage.remove(RETURN_KEY);
      return v;
    },
  },
});
