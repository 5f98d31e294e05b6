import type { Principal } from '../access/principal.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppDeps } from '../deps.ts';
import { FormRefs, SUBMISSION_OWNER } from './refs.ts';
import { FormService } from './service.ts';
import { DataSourceRegistry, SOURCE_RESOURCE } from './sources.ts';
import type { FormUser } from './validate.ts';

/**
 * One forms module per app (issue 5): the service with its database checks, the data source
 * registry (R16.7), the `form_source` resource type for source grants, and the file rule that lets
 * whoever may read a submission read its attachments. The workflow engine gets the same objects
 * through `formsOf(deps)`.
 */
export interface Forms {
  service: FormService;
  sources: DataSourceRegistry;
  refs: FormRefs;
}

const modules = new WeakMap<AppDeps, Forms>();

export function formsOf(deps: AppDeps): Forms {
  let m = modules.get(deps);
  if (m) return m;
  const sources = new DataSourceRegistry(deps.db, deps.clock, deps.access);
  const refs = new FormRefs(deps.db, deps.files, sources);
  const service = new FormService(deps.db, deps.clock, refs);
  deps.access.registerResourceType({
    type: SOURCE_RESOURCE,
    name: '表单数据源',
    actions: ['view'],
    exists: async (id, t) => !!(await sources.find(id)) || !!(await deps.db.models.FormDataSource.findOne({ where: { key: id }, attributes: ['id'], transaction: t })),
  });
  deps.files.registerAccessRule(SUBMISSION_OWNER, async (p, f) => {
    if (hasPermission(p, 'forms:data')) return true;
    const s = await deps.db.models.FormSubmission.findByPk(Number(f.ownerId), { attributes: ['submitterId'], raw: true });
    return !!s && s.submitterId === p.userId;
  });
  m = { service, sources, refs };
  modules.set(deps, m);
  return m;
}

/** The signed-in person as formulas see them (`$user`, `$dept`; R16.8). */
export async function formUserOf(deps: AppDeps, p: Principal): Promise<FormUser> {
  const u = await deps.db.models.User.findByPk(p.userId, { attributes: ['id', 'name', 'username', 'employeeNo', 'deptId'], raw: true });
  const deptId = u?.deptId ?? p.deptId ?? null;
  const dept = deptId ? await deps.db.models.Department.findByPk(deptId, { attributes: ['name'], raw: true }) : null;
  return { id: p.userId, name: u?.name ?? p.name, username: u?.username ?? p.username, employeeNo: u?.employeeNo ?? null, deptId, deptName: dept?.name ?? null };
}
