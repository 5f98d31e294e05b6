import { api, type Query } from './client.ts';
import type {
  AuditItem,
  Category,
  CustomFieldDef,
  Department,
  FileFieldDef,
  FileHistoryItem,
  FileMeta,
  FormFull,
  FormSummary,
  FormVersion,
  ImportJob,
  InfoChange,
  InstanceDetail,
  JobRow,
  LoginLogItem,
  Me,
  Monitor,
  NodeStats,
  OutboxRow,
  OutcomeCounts,
  Page,
  PasswordPolicy,
  Person,
  PersonDetail,
  PersonFile,
  PersonHit,
  ProcessFull,
  ProcessSummary,
  ProcessVersion,
  SchemaIssue,
  Transfer,
  ValidationIssue,
} from './types.ts';
import type { ProcessDefinition } from '../workflow/definition.ts';
import type { FormSchema } from '../forms/schema.ts';

export const authApi = {
  login: (username: string, password: string) => api.post<Me>('/auth/login', { username, password }, { silentAuth: true }),
  me: () => api.get<Me>('/me', undefined, { silentAuth: true }),
  logout: () => api.post('/auth/logout', undefined, { silentAuth: true }),
  changePassword: (oldPassword: string, newPassword: string) => api.post('/me/password', { oldPassword, newPassword }),
  passwordPolicy: () => api.get<PasswordPolicy>('/me/password-policy'),
};

export interface PageQuery {
  page: number;
  pageSize: number;
}

export const auditApi = {
  list: (q: PageQuery & Query) => api.get<Page<AuditItem>>('/audit', { ...q }),
  verify: () => api.post<{ ok: boolean; checked: number; firstBad?: unknown; detail?: string; [k: string]: unknown }>('/audit/verify'),
};

export const securityApi = {
  loginLog: (q: PageQuery & Query) => api.get<Page<LoginLogItem>>('/security/login-log', { ...q }),
  policy: () => api.get<PasswordPolicy>('/security/password-policy'),
  setPolicy: (p: PasswordPolicy) => api.put<PasswordPolicy>('/security/password-policy', p),
  unlock: (userId: number) => api.post(`/security/users/${userId}/unlock`),
};

export const systemApi = {
  upload: () => api.get<{ maxUploadMb: number }>('/system/settings/upload'),
  setUpload: (maxUploadMb: number) => api.put<{ maxUploadMb: number }>('/system/settings/upload', { maxUploadMb }),
  jobs: (q: PageQuery & Query) => api.get<Page<JobRow>>('/system/jobs', { ...q }),
  outbox: (q: PageQuery & Query) => api.get<Page<OutboxRow>>('/system/outbox', { ...q }),
  retry: (id: number) => api.post(`/system/outbox/${id}/retry`),
};

/** Upload one file (multipart); returns its id. */
export async function uploadFile(file: File | Blob, name?: string): Promise<FileMeta> {
  const fd = new FormData();
  fd.append('file', file, name ?? (file instanceof File ? file.name : 'upload.bin'));
  return api.upload<FileMeta>('/files', fd);
}

export const orgApi = {
  departments: (enabledOnly = false) => api.get<{ items: Department[] }>('/org/departments', { enabledOnly: enabledOnly ? 'true' : undefined }),
  createDept: (b: { code: string; name: string; parentId: number | null; kind: string; sort?: number }) => api.post<Department>('/org/departments', b),
  patchDept: (id: number, b: Partial<{ code: string; name: string; parentId: number | null; kind: string; sort: number; enabled: boolean }>) =>
    api.patch<Department>(`/org/departments/${id}`, b),
  deleteDept: (id: number) => api.delete(`/org/departments/${id}`),
  setLeaders: (id: number, heads: number[], deputies: number[]) => api.put(`/org/departments/${id}/leaders`, { heads, deputies }),
  setLeadersInCharge: (id: number, userIds: number[]) => api.put(`/org/departments/${id}/leaders-in-charge`, { userIds }),

  people: (q: PageQuery & Query) => api.get<Page<Person>>('/org/people', { ...q }),
  search: (q: Query) => api.get<{ items: PersonHit[] }>('/org/people/search', q),
  person: (id: number) => api.get<PersonDetail>(`/org/people/${id}`),
  createPerson: (b: Record<string, unknown>) => api.post<Person & { initialPassword: string }>('/org/people', b),
  patchPerson: (id: number, b: Record<string, unknown>) => api.patch<PersonDetail>(`/org/people/${id}`, b),
  disable: (id: number, successorId: number, reason: string) => api.post(`/org/people/${id}/disable`, { successorId, reason }),
  enable: (id: number) => api.post(`/org/people/${id}/enable`),

  groups: () => api.get<{ items: { id: number; name: string; shared?: boolean }[] }>('/org/groups'),
  fileFields: () => api.get<{ fixed: FileFieldDef[]; items: CustomFieldDef[] }>('/org/file-fields'),
  createFileField: (b: { key: string; label: string; type: string; options?: Record<string, unknown> | null; required?: boolean }) => api.post<CustomFieldDef>('/org/file-fields', b),
  deleteFileField: (id: number) => api.delete(`/org/file-fields/${id}`),
  file: (id: number, reveal = false) => api.get<PersonFile>(`/org/people/${id}/file`, { reveal: reveal ? 'true' : undefined }),
  patchFile: (id: number, b: { version: number; values?: Record<string, unknown>; custom?: Record<string, unknown>; reason?: string }) => api.patch<PersonFile>(`/org/people/${id}/file`, b),
  fileHistory: (id: number, q: PageQuery & { reveal?: string }) => api.get<Page<FileHistoryItem> & { revealed: boolean }>(`/org/people/${id}/file/history`, { ...q }),

  transfers: (q: PageQuery & Query) => api.get<Page<Transfer>>('/org/transfers', { ...q }),
  createTransfer: (b: Record<string, unknown>) => api.post<Transfer>('/org/transfers', b),
  approveTransfer: (id: number) => api.post<Transfer>(`/org/transfers/${id}/approve`),
  cancelTransfer: (id: number, reason?: string) => api.post<Transfer>(`/org/transfers/${id}/cancel`, { reason }),
  retryTransfer: (id: number) => api.post<Transfer>(`/org/transfers/${id}/retry`),
  infoChanges: (q: PageQuery & Query) => api.get<Page<InfoChange>>('/org/info-changes', { ...q }),
  approveInfo: (id: number) => api.post(`/org/info-changes/${id}/approve`),
  rejectInfo: (id: number, reason: string) => api.post(`/org/info-changes/${id}/reject`, { reason }),

  importExcel: (fileId: number, dryRun: boolean, wait = 0) => api.post<ImportJob>('/org/excel/import', { fileId }, { query: { dryRun: String(dryRun), wait } }),
  importJob: (id: string) => api.get<ImportJob>(`/org/excel/import/${id}`),
};

export const workflowApi = {
  categories: () => api.get<{ items: Category[] }>('/workflow/categories'),
  createCategory: (b: { name: string; color?: string | null; sort?: number }) => api.post<Category>('/workflow/categories', b),
  processes: (q: Query = {}) => api.get<{ items: ProcessFull[] }>('/workflow/processes', q),
  process: (id: number) => api.get<ProcessFull>(`/workflow/processes/${id}`),
  create: (b: { key: string; name: string; categoryId?: number | null; description?: string | null; definition: ProcessDefinition }) => api.post<ProcessFull>('/workflow/processes', b),
  patch: (id: number, b: { rev: number; name?: string; categoryId?: number | null; description?: string | null; definition?: ProcessDefinition; enabled?: boolean }) =>
    api.patch<ProcessFull>(`/workflow/processes/${id}`, b),
  validate: (id: number) => api.post<{ ok: boolean; issues: ValidationIssue[] }>(`/workflow/processes/${id}/validate`),
  publish: (id: number, rev: number, note?: string) => api.post<ProcessSummary & { version?: number }>(`/workflow/processes/${id}/publish`, { rev, note }),
  copy: (id: number, key: string, name: string) => api.post<ProcessFull>(`/workflow/processes/${id}/copy`, { key, name }),
  versions: (id: number) => api.get<{ items: ProcessVersion[] }>(`/workflow/processes/${id}/versions`),
  bpmnUrl: (id: number) => `/api/v1/workflow/processes/${id}/bpmn`,

  monitor: (q: PageQuery & Query) => api.get<Monitor>('/workflow/monitor', { ...q }),
  instance: (id: number) => api.get<InstanceDetail>(`/workflow/instances/${id}`),
  intervene: (id: number, verb: 'suspend' | 'resume' | 'terminate', reason: string) => api.post<InstanceDetail>(`/workflow/instances/${id}/${verb}`, { reason }),
  jump: (id: number, toNode: string, reason: string) => api.post<InstanceDetail>(`/workflow/instances/${id}/jump`, { toNode, reason }),
  reassign: (taskId: number, toUserId: number, reason: string) => api.post(`/workflow/tasks/${taskId}/reassign`, { toUserId, reason }),

  nodeStats: (id: number, q: Query = {}) => api.get<{ process: { id: number; name: string }; nodes: NodeStats[]; instances: OutcomeCounts }>(`/workflow/stats/processes/${id}/nodes`, q),
  overview: (q: Query = {}) => api.get<{ items: (OutcomeCounts & { process: { id: number; key: string; name: string } })[]; totals: OutcomeCounts }>('/workflow/stats/overview', q),
};

export const formsApi = {
  list: (q: Query = {}) => api.get<{ items: FormSummary[] }>('/forms/defs', q),
  get: (id: number) => api.get<FormFull>(`/forms/defs/${id}`),
  create: (key: string, draft: FormSchema, standalone?: boolean) => api.post<FormFull>('/forms/defs', { key, draft, standalone }),
  save: (id: number, rev: number, draft: FormSchema, standalone?: boolean) => api.put<FormFull>(`/forms/defs/${id}`, { rev, draft, standalone }),
  check: (draft: FormSchema) => api.post<{ ok: boolean; errors: SchemaIssue[] }>('/forms/defs/check', { draft }),
  publish: (id: number) => api.post<{ versionId?: number; version?: number }>(`/forms/defs/${id}/publish`),
  versions: (id: number) => api.get<{ items: FormVersion[] }>(`/forms/defs/${id}/versions`),
  version: (versionId: number) => api.get<{ schema?: FormSchema; [k: string]: unknown }>(`/forms/versions/${versionId}`),
  summary: (formId: number, spec: unknown) => api.post<{ columns: { key: string; label: string }[]; rows: Record<string, unknown>[]; [k: string]: unknown }>('/forms/data/summary', { formId, spec }),
};
