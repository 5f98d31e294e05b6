import { defineStore } from 'pinia';
import type { ApiClient } from '../api/http';
import type { Counts, InboxMessage, Paged } from '../api/types';

/** My counts (R20.2 workbench, tab badges): to-do, unread cc, drafts, running, unread messages. */
export const useCounts = defineStore('counts', {
  state: () => ({ todo: 0, ccUnread: 0, drafts: 0, running: 0, unread: 0, loadedAt: 0 }),
  actions: {
    async refresh(client: ApiClient) {
      const [c, inbox] = await Promise.all([
        client.get<Counts>('/api/v1/workflow/my/counts'),
        client.get<Paged<InboxMessage>>('/api/v1/inbox', { unread: 'true', pageSize: 1 }),
      ]);
      this.todo = c.todo;
      this.ccUnread = c.ccUnread;
      this.drafts = c.drafts;
      this.running = c.running;
      this.unread = inbox.total;
      this.loadedAt = Date.now();
    },
  },
});
