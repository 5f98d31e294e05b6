import { defineStore } from 'pinia';
import type { ApiClient } from '../api/http';
import type { CampusNode, DeptNode, DirectoryCard, FileMeta } from '../api/types';

/** Names for ids shown in forms (person, department, file), fetched once and cached. */
export const useNames = defineStore('names', {
  state: () => ({
    people: {} as Record<number, string>,
    depts: {} as Record<number, string>,
    deptList: [] as { id: number; name: string; path: string }[],
    files: {} as Record<number, FileMeta>,
  }),
  actions: {
    async loadDepartments(client: ApiClient) {
      if (this.deptList.length) return;
      const tree = await client.get<{ campuses: CampusNode[] }>('/api/v1/org/address-book/tree');
      const out: { id: number; name: string; path: string }[] = [];
      const walk = (n: DeptNode, above: string) => {
        const path = above ? `${above} / ${n.name}` : n.name;
        out.push({ id: n.id, name: n.name, path });
        this.depts[n.id] = n.name;
        for (const c of n.children) walk(c, path);
      };
      for (const c of tree.campuses) for (const d of c.departments) walk(d, tree.campuses.length > 1 && c.id !== null ? c.name : '');
      this.deptList = out;
    },
    async loadPeople(client: ApiClient, ids: number[]) {
      const missing = [...new Set(ids)].filter((id) => !(id in this.people));
      await Promise.all(
        missing.map(async (id) => {
          try {
            const c = await client.get<DirectoryCard>(`/api/v1/org/address-book/people/${id}`);
            this.people[id] = c.name;
          } catch {
            this.people[id] = `#${id}`;
          }
        }),
      );
    },
    async loadFiles(client: ApiClient, ids: number[]) {
      const missing = [...new Set(ids)].filter((id) => !(id in this.files));
      await Promise.all(
        missing.map(async (id) => {
          try {
            this.files[id] = await client.get<FileMeta>(`/api/v1/files/${id}/meta`);
          } catch {
            // not readable (any more): shown as a number
          }
        }),
      );
    },
    remember(kind: 'person' | 'department', id: number, name: string) {
      if (kind === 'person') this.people[id] = name;
      else this.depts[id] = name;
    },
  },
  getters: {
    /** the `names` map of displayValue(): `person:<id>` / `department:<id>` → name */
    lookup: (s) => {
      const out: Record<string, string> = {};
      for (const [id, n] of Object.entries(s.people)) out[`person:${id}`] = n;
      for (const [id, n] of Object.entries(s.depts)) out[`department:${id}`] = n;
      return out;
    },
  },
});
