import type { QueryInterface } from 'sequelize';

// Workflow engine (issue 4). Frozen once published.
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  void qi;
}
