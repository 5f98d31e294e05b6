import { onMounted, ref, shallowRef, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { errorText } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import type { PageQuery } from '../api/endpoints.ts';

const PAGE_SIZES = [10, 20, 50, 100] as const;

function intOf(v: unknown, fallback: number, allowed?: readonly number[]): number {
  const n = Number(Array.isArray(v) ? v[0] : v);
  if (!Number.isInteger(n) || n < 1) return fallback;
  return allowed && !allowed.includes(n) ? fallback : n;
}

/**
 * A server-paged list whose page and page size live in the URL (`?page=&pageSize=`), so reloading
 * or going back shows the same page.
 */
export function usePagedList<T>(fetchPage: (q: PageQuery) => Promise<Page<T>>, opts: { syncUrl?: boolean; pageSize?: number } = {}) {
  const syncUrl = opts.syncUrl ?? true;
  const route = useRoute();
  const router = useRouter();
  const page = ref(syncUrl ? intOf(route.query.page, 1) : 1);
  const pageSize = ref(syncUrl ? intOf(route.query.pageSize, opts.pageSize ?? 20, PAGE_SIZES) : (opts.pageSize ?? 20));
  const items = shallowRef<T[]>([]);
  const total = ref(0);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let seq = 0;

  async function load(): Promise<void> {
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    try {
      const r = await fetchPage({ page: page.value, pageSize: pageSize.value });
      if (mine !== seq) return;
      items.value = r.items;
      total.value = r.total;
      // a page past the end (rows were deleted, or a stale link): go to the last page
      if (r.items.length === 0 && r.total > 0 && page.value > 1) page.value = Math.ceil(r.total / pageSize.value);
    } catch (err) {
      if (mine !== seq) return;
      error.value = errorText(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  watch([page, pageSize], ([p, s]) => {
    if (syncUrl) void router.replace({ query: { ...route.query, page: p > 1 ? String(p) : undefined, pageSize: s !== 20 ? String(s) : undefined } });
    void load();
  });

  onMounted(load);

  /** back to the first page (filters changed) and load */
  function restart(): void {
    if (page.value !== 1) page.value = 1; // the watcher loads
    else void load();
  }

  return { page, pageSize, pageSizes: [...PAGE_SIZES], items, total, loading, error, reload: load, restart };
}
