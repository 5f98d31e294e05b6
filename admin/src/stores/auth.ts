import { computed, ref } from 'vue';
import { defineStore } from 'pinia';
import { ApiError, errorText, setCsrfToken } from '../api/client.ts';
import { authApi } from '../api/endpoints.ts';
import type { Me } from '../api/types.ts';

/** Names of the built-in roles (GET /me returns only their codes). */
export const useAuthStore = defineStore('auth', () => {
  const user = ref<Me | null>(null);
  /** true once GET /me has answered (signed in or not) */
  const loaded = ref(false);
  /** why GET /me failed other than "not signed in" (server unreachable, 5xx); retried on next navigation */
  const loadError = ref<string | null>(null);
  let loading: Promise<void> | null = null;

  const signedIn = computed(() => user.value !== null);
  const mustChangePassword = computed(() => user.value?.mustChangePassword === true);
  const permissions = computed(() => new Set(user.value?.permissions ?? []));

  function can(permission: string): boolean {
    return permissions.value.has(permission);
  }

  function setUser(me: Me | null): void {
    user.value = me;
    setCsrfToken(me?.csrfToken ?? null);
  }

  /** Ask the server who is signed in (once per page load unless forced). */
  function load(force = false): Promise<void> {
    if (loaded.value && !force) return Promise.resolve();
    loading ??= authApi
      .me()
      .then((me) => {
        setUser(me);
        loadError.value = null;
        loaded.value = true;
      })
      .catch((err: unknown) => {
        setUser(null);
        if (err instanceof ApiError && err.status === 401) {
          loadError.value = null;
          loaded.value = true;
        } else {
          loadError.value = errorText(err);
        }
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  async function login(username: string, password: string): Promise<Me> {
    const me = await authApi.login(username, password);
    setUser(me);
    loaded.value = true;
    loadError.value = null;
    return me;
  }

  async function changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await authApi.changePassword(oldPassword, newPassword);
    // The session survives the change; /me now reports mustChangePassword: false.
    await load(true);
  }

  async function logout(): Promise<void> {
    try {
      await authApi.logout();
    } catch (err) {
      // An expired session is already signed out; anything else still ends the session locally.
      if (!(err instanceof ApiError)) throw err;
    } finally {
      clear();
    }
  }

  /** Forget the session locally (after a 401). */
  function clear(): void {
    setUser(null);
    loaded.value = true;
  }

  /** The server said the password must be changed before anything else. */
  function requirePasswordChange(): void {
    if (user.value) user.value = { ...user.value, mustChangePassword: true };
  }

  return { user, loaded, loadError, signedIn, mustChangePassword, can, load, login, changePassword, logout, clear, requirePasswordChange };
});
