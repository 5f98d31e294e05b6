import { computed, ref, shallowRef } from 'vue';
import { defineStore } from 'pinia';
import { orgApi } from '../api/endpoints.ts';
import type { Department } from '../api/types.ts';

/** The department tree (R12.1), loaded once and shared by the tree view and every department picker. */
export const useOrgStore = defineStore('org', () => {
  const tree = shallowRef<Department[]>([]);
  const loaded = ref(false);
  let loading: Promise<void> | null = null;

  const byId = computed(() => {
    const m = new Map<number, Department>();
    const walk = (ds: Department[]) => ds.forEach((d) => (m.set(d.id, d), walk(d.children)));
    walk(tree.value);
    return m;
  });

  function load(force = false): Promise<void> {
    if (loaded.value && !force) return Promise.resolve();
    loading ??= orgApi
      .departments()
      .then((r) => {
        tree.value = r.items;
        loaded.value = true;
      })
      .finally(() => (loading = null));
    return loading;
  }

  function deptName(id: number | null | undefined): string {
    if (!id) return '';
    return byId.value.get(id)?.name ?? `#${id}`;
  }

  /** 口腔医院 / 医务部 / … for a department */
  function deptPath(id: number): string {
    const d = byId.value.get(id);
    if (!d) return `#${id}`;
    return d.path
      .split('/')
      .filter(Boolean)
      .map((x) => byId.value.get(Number(x))?.name ?? x)
      .join(' / ');
  }

  return { tree, loaded, byId, load, deptName, deptPath };
});
