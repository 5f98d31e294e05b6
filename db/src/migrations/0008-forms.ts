import type { QueryInterface } from 'sequelize';

// Custom forms (issue 5). Frozen once published.
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  void qi;
}
