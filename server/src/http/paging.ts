import { z } from 'zod';

/** Query fields of every paged list: `?page=1&pageSize=20` (at most 200 rows a page). */
export const pageQuery = {
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
};

/** offset/limit for a page request. */
export function pageWindow(q: { page: number; pageSize: number }): { offset: number; limit: number } {
  return { offset: (q.page - 1) * q.pageSize, limit: q.pageSize };
}
