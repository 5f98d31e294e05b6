import { computed, reactive } from 'vue';
import type { Paged } from '../api/types';

/**
 * A paged list with refresh (pull-to-refresh), "load more" and search (R20.2 lists). The boxes of
 * /api/v1/workflow/my/* take no search term yet, so `match` filters the loaded rows on the client
 * and, while a search is active, the list loads further pages until it has found a screenful.
 */
export function usePagedList<T>(fetchPage: (page: number, pageSize: number) => Promise<Paged<T>>, match: (item: T, q: string) => boolean, pageSize = 20) {
  const state = reactive({ items: [] as T[], total: 0, page: 0, loading: false, error: '', q: '', seq: 0 });
  const finished = computed(() => state.page > 0 && state.items.length >= state.total);
  const visible = computed(() => {
    const q = state.q.trim().toLowerCase();
    return q ? (state.items as T[]).filter((i) => match(i, q)) : (state.items as T[]);
  });

  async function loadPage(page: number): Promise<void> {
    const seq = ++state.seq;
    state.loading = true;
    state.error = '';
    try {
      const r = await fetchPage(page, pageSize);
      if (seq !== state.seq) return; // a newer refresh won
      state.items = (page === 1 ? r.items : [...(state.items as T[]), ...r.items]) as never;
      state.total = r.total;
      state.page = page;
    } catch (e) {
      if (seq === state.seq) state.error = (e as { detail?: string }).detail ?? '加载失败';
      throw e;
    } finally {
      if (seq === state.seq) state.loading = false;
    }
  }

  async function refresh(): Promise<void> {
    await loadPage(1);
    await fillSearch();
  }

  async function more(): Promise<void> {
    if (state.loading || finished.value) return;
    await loadPage(state.page + 1);
  }

  async function fillSearch(): Promise<void> {
    let guard = 0;
    while (state.q.trim() && visible.value.length < pageSize && !finished.value && guard++ < 10) await loadPage(state.page + 1);
  }

  async function search(q: string): Promise<void> {
    state.q = q;
    await fillSearch();
  }

  return { state, visible, finished, refresh, more, search };
}
