import type { QueryInterface } from 'sequelize';

// Address book: personal and shared contact books (issue 3 item 9). Frozen once published.
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  void qi;
}
