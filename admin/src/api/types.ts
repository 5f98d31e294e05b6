/** Response shapes of the OA server (see /api/docs/). */

export interface Me {
  id: number;
  username: string;
  name: string;
  deptId: number | null;
  /** role codes, e.g. `sysadmin` */
  roles: string[];
  /** display names, same order as roles */
  roleNames: string[];
  permissions: string[];
  mustChangePassword: boolean;
  csrfToken: string | null;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface AuditItem {
  seq: number;
  at: string;
  actorId: number | null;
  actorName: string | null;
  ip: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  result: string;
  detail: unknown;
}

export type LoginResult = 'success' | 'failure' | 'locked' | 'rate_limited' | 'disabled' | 'logout';

export interface LoginLogItem {
  id: number;
  at: string;
  username: string;
  userId: number | null;
  ip: string | null;
  userAgent: string | null;
  result: LoginResult | string;
  reason: string | null;
}

/** GET /api/v1/me/password-policy */
export interface PasswordPolicy {
  minLength: number;
  minClasses: number;
  historyCount: number;
  maxAgeDays: number;
  forceChangeOnFirstLogin: boolean;
}

// ───────────────────────────── organisation (R12.*)

export type DeptKind = 'clinical' | 'medtech' | 'admin' | 'logistics';
export const DEPT_KIND_NAMES: Record<DeptKind, string> = { clinical: '临床', medtech: '医技', admin: '行政', logistics: '后勤' };

export interface Ref {
  id: number;
  name: string;
}

export interface Department {
  id: number;
  code: string;
  name: string;
  parentId: number | null;
  campusId: number | null;
  campusName: string | null;
  kind: DeptKind;
  sort: number;
  enabled: boolean;
  path: string;
  level: number;
  heads: (Ref & { active: boolean })[];
  deputies: (Ref & { active: boolean })[];
  staffCount: number;
  secondaryCount: number;
  subtreeStaffCount: number;
  children: Department[];
}

export interface Person {
  id: number;
  name: string;
  employeeNo: string | null;
  status: 'active' | 'disabled';
  dept: Ref | null;
  post: Ref | null;
  title: Ref | null;
  position: Ref | null;
  workPhone: string | null;
  mobile: string | null;
  username: string;
  email: string | null;
  gender: '男' | '女' | null;
  mobilePublic: boolean;
  sort: number;
  superiorId: number | null;
  successorId: number | null;
  version: number;
}

export interface PersonDetail extends Person {
  secondaryDepts: Ref[];
  superior: Ref | null;
  successor: Ref | null;
  roles?: { code: string; name: string; dept: Ref | null; subtree: boolean }[];
  mustChangePassword?: boolean;
  createdAt?: string;
  updatedAt?: string;
}

export interface PersonHit {
  id: number;
  name: string;
  employeeNo: string | null;
  status: 'active' | 'disabled';
  dept: Ref | null;
  post: string | null;
  title: string | null;
  position: string | null;
  campus: string | null;
  match: string | null;
}

export interface FileFieldDef {
  key: string;
  label: string;
  kind: string;
  sensitive: boolean;
}

export interface CustomFieldDef {
  id: number;
  key: string;
  label: string;
  type: 'text' | 'number' | 'date' | 'select' | 'multiselect' | 'attachment' | string;
  options: { choices?: string[] } & Record<string, unknown>;
  required: boolean;
  sort: number;
  enabled: boolean;
}

export interface PersonFile {
  person: { id: number; name: string; employeeNo: string | null; dept: Ref | null };
  version: number;
  values: Record<string, unknown>;
  revealed: boolean;
  custom: Record<string, unknown>;
  customFields: CustomFieldDef[];
  missingRequired: string[];
  updatedAt: string | null;
  updatedBy: Ref | null;
}

export interface FileHistoryItem {
  id: number;
  field: string;
  label: string;
  sensitive: boolean;
  oldValue: unknown;
  newValue: unknown;
  source: string;
  reason: string | null;
  changedBy: Ref | null;
  changedAt: string;
}

export interface Transfer {
  id: number;
  person: Ref & { employeeNo: string | null };
  fromDept: Ref | null;
  toDept: Ref | null;
  fromPost: Ref | null;
  toPost: Ref | null;
  effectiveDate: string;
  reason: string;
  status: 'draft' | 'approved' | 'effective' | 'cancelled' | 'failed';
  createdBy: Ref | null;
  approvedBy: Ref | null;
  failureReason: string | null;
  createdAt: string;
}

export interface InfoChange {
  id: number;
  status: 'pending' | 'approved' | 'rejected';
  person?: Ref;
  user?: Ref;
  changes: Record<string, unknown>;
  reason: string | null;
  createdAt: string;
  [k: string]: unknown;
}

export interface ImportProblem {
  sheet: string;
  row: number;
  column: string;
  cell?: string;
  reason: string;
}

export interface ImportJob {
  id: string;
  fileName: string;
  dryRun: boolean;
  status: 'reading' | 'checking' | 'writing' | 'done' | 'failed';
  phase: string;
  percent: number;
  done: number;
  total: number;
  report: {
    dryRun: boolean;
    ok: boolean;
    applied: boolean;
    problems: ImportProblem[];
    problemCount: number;
    truncated: boolean;
    rows: { departments: number; people: number; roles: number; blank: number };
    counts: {
      departments: { created: number; updated: number; unchanged: number };
      people: { created: number; updated: number; unchanged: number };
      roles: { added: number; removed: number };
    };
    changes: number;
  } | null;
  error: string | null;
}

export interface FileMeta {
  id: number;
  originalName?: string;
  size?: number;
}

// ───────────────────────────── workflow (R3.*)

export interface Category {
  id: number;
  name: string;
  color: string | null;
  sort: number;
}

export interface ProcessSummary {
  id: number;
  key: string;
  name: string;
  categoryId: number | null;
  description: string | null;
  rev: number;
  latestVersion: number | null;
  enabled: boolean;
  updatedAt: string;
}

export interface ProcessFull extends ProcessSummary {
  definition: import('../workflow/definition.ts').ProcessDefinition;
}

export interface ValidationIssue {
  code: string;
  message: string;
  nodeId?: string;
  edgeId?: string;
}

export interface ProcessVersion {
  id: number;
  version: number;
  note: string | null;
  publishedBy: Ref | null;
  publishedAt: string;
}

export type InstanceStatus = 'draft' | 'running' | 'completed' | 'rejected' | 'withdrawn' | 'terminated';
export const INSTANCE_STATUS_NAMES: Record<InstanceStatus, string> = {
  draft: '草稿',
  running: '运行中',
  completed: '已办结',
  rejected: '已驳回',
  withdrawn: '已撤回',
  terminated: '已终止',
};

export interface InstanceSummary {
  id: number;
  title: string;
  status: InstanceStatus;
  suspended: boolean;
  urgency: 'normal' | 'urgent' | 'critical';
  process: { id: number; key: string; name: string };
  initiator: Ref;
  currentNodes: string[];
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface InstanceTask {
  id: number;
  node: { id: string; name: string };
  kind: string;
  assignee: Ref | null;
  onBehalfOf: Ref | null;
  status: string;
  outcome: string | null;
  comment: string | null;
  createdAt: string;
  doneAt: string | null;
  dueAt: string | null;
}

export interface InstanceHistory {
  id: number;
  at: string;
  actor: Ref | null;
  onBehalfOf: Ref | null;
  node: { id: string; name: string } | null;
  action: string;
  comment: string | null;
  detail: unknown;
}

export interface InstanceDetail extends InstanceSummary {
  version: number;
  formData: Record<string, unknown>;
  definition: import('../workflow/definition.ts').ProcessDefinition;
  activeNodes: string[];
  tasks: InstanceTask[];
  history: InstanceHistory[];
}

export interface Monitor extends Page<InstanceSummary> {
  byStatus: Partial<Record<InstanceStatus, number>>;
}

export interface Duration {
  samples: number;
  medianMs: number | null;
  p90Ms: number | null;
}

export interface NodeStats {
  nodeId: string;
  nodeName: string;
  tasks: number;
  done: number;
  open: number;
  timeToOpen: Duration;
  timeToAct: Duration;
  returns: number;
  rejections: number;
  addSigns: number;
  transfers: number;
  urges: number;
  timeouts: number;
}

export interface OutcomeCounts {
  counts: Record<'running' | 'completed' | 'rejected' | 'withdrawn' | 'terminated', number>;
  total: number;
  avgDurationMs: Record<string, number | null>;
}

// ───────────────────────────── forms (R16.*)

export interface FormSummary {
  id: number;
  key: string;
  name: string;
  rev: number;
  latestVersion: number | null;
  standalone: boolean;
  updatedAt: string;
}

export interface FormFull extends FormSummary {
  draft: import('../forms/schema.ts').FormSchema;
}

export interface FormVersion {
  versionId: number;
  version: number;
  publishedBy: Ref | null;
  publishedAt: string;
}

export interface SchemaIssue {
  path: string;
  message: string;
  code?: string;
}

// ───────────────────────────── system (R18, R19)

export interface JobRow {
  id: number;
  kind: string;
  dedupeKey: string | null;
  runAt: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  updatedAt: string;
}

export interface OutboxRow {
  id: number;
  channel: string;
  recipient: string;
  idempotencyKey: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  sentAt: string | null;
  createdAt: string;
}
