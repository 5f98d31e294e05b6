import { DataTypes, type QueryInterface } from 'sequelize';

// A transfer whose effective-date move cannot be made (R12.3): status `failed` (a string status,
// no schema change) with the Chinese reason and the time it failed, so the list and the detail show
// it and an org admin can retry or cancel it. Frozen once published.
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addColumn('org_transfer', 'failure_reason', { type: DataTypes.STRING(500), allowNull: true });
  await qi.addColumn('org_transfer', 'failed_at', { type: DataTypes.DATE(3), allowNull: true });
  // the approval workflow instance when approval goes through a process (issue 3 item 5 wiring)
  await qi.addColumn('org_transfer', 'workflow_instance_id', { type: DataTypes.INTEGER, allowNull: true });
}
