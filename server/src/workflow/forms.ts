import type { Database, Transaction } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { FormService } from '../forms/service.ts';
import { filterForOutput, validateSubmission, type FieldPermissions, type FormUser } from '../forms/index.ts';

/**
 * Forms plugged into processes (issue 4 with issue 5, R3.4, R16.1, R16.5): a process names its
 * form by key; an instance pins the form version published when it starts and keeps it; every
 * write is validated on the server against that version with the acting node's field
 * permissions (read-only fields cannot change, hidden ones are stripped from what a person sees).
 */
export class WorkflowForms {
  private readonly forms: FormService;

  constructor(private readonly db: Database, clock: Clock) {
    this.forms = new FormService(db, clock);
  }

  /** the latest published version of the form `key` */
  async pin(key: string, t?: Transaction): Promise<number> {
    const def = await this.db.models.FormDef.findOne({ where: { key }, attributes: ['id', 'latestVersion'], transaction: t });
    if (!def) throw notFound(`流程绑定的表单 ${key} 不存在，请联系流程管理员`, 'FORM_NOT_FOUND');
    if (!def.latestVersion) throw conflict(`流程绑定的表单 ${key} 尚未发布`, 'FORM_NOT_PUBLISHED');
    const v = await this.db.models.FormVersion.findOne({ where: { formId: def.id, version: def.latestVersion }, attributes: ['id'], transaction: t });
    return v!.id;
  }

  async user(userId: number, t?: Transaction): Promise<FormUser> {
    const u = await this.db.models.User.findByPk(userId, { attributes: ['id', 'name', 'username', 'employeeNo', 'deptId'], raw: true, transaction: t });
    const dept = u?.deptId ? await this.db.models.Department.findByPk(u.deptId, { attributes: ['name'], raw: true, transaction: t }) : null;
    return { id: userId, name: u?.name ?? '', username: u?.username ?? '', employeeNo: u?.employeeNo ?? null, deptId: u?.deptId ?? null, deptName: dept?.name ?? null };
  }

  /** Validate a write; returns the normalised value to store, or throws 400 with every field error. */
  async validate(versionId: number, data: Record<string, unknown>, o: { userId: number; now: Date; previous: Record<string, unknown> | null; permissions?: FieldPermissions; t?: Transaction }): Promise<Record<string, unknown>> {
    const { schema } = await this.forms.version(versionId);
    const r = validateSubmission(schema, data, { now: o.now, user: await this.user(o.userId, o.t), previous: o.previous }, o.permissions ?? {});
    if (!r.ok) {
      throw badRequest(`表单填写有误：${r.errors[0]!.message}`, r.errors.map((e) => ({ path: e.path ? `formData.${e.path}` : 'formData', message: e.message })), 'FORM_INVALID');
    }
    return r.value;
  }

  async filter(versionId: number, data: Record<string, unknown>, permissions: FieldPermissions): Promise<Record<string, unknown>> {
    const { schema } = await this.forms.version(versionId);
    return filterForOutput(schema, data, permissions);
  }
}
