/** Shapes of the server JSON (the route files under server/src); only what the staff client reads. */

export interface Me {
  id: number;
  username: string;
  name: string;
  deptId: number | null;
  roles: string[];
  roleNames: string[];
  permissions: string[];
  mustChangePassword: boolean;
  csrfToken: string | null;
  token?: string;
}

export interface PasswordPolicy {
  minLength: number;
  minClasses: number;
  historyCount: number;
  maxAgeDays: number;
  forceChangeOnFirstLogin: boolean;
}

export interface Ref {
  id: number;
  name: string;
}

export type InstanceStatus = 'draft' | 'running' | 'completed' | 'rejected' | 'withdrawn' | 'terminated';
export type Urgency = 'normal' | 'urgent' | 'critical';

export interface InstanceCard {
  id: number;
  title: string;
  status: InstanceStatus;
  suspended: boolean;
  urgency: Urgency;
  process: { id: number; key: string; name: string };
  initiator: Ref;
  currentNodes: string[];
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export type TaskStatus = 'pending' | 'queued' | 'waiting' | 'suspended' | 'done' | 'cancelled';

export interface TaskItem {
  id: number;
  kind: string;
  status: TaskStatus;
  outcome: string | null;
  node: { id: string; name: string };
  onBehalfOf: Ref | null;
  createdAt: string;
  doneAt: string | null;
  dueAt: string | null;
  instance: InstanceCard;
}

export interface Paged<T> {
  total: number;
  page?: number;
  pageSize?: number;
  items: T[];
}

export interface Counts {
  todo: number;
  ccUnread: number;
  drafts: number;
  running: number;
}

export interface TaskView {
  id: number;
  node: { id: string; name: string };
  kind: string;
  assignee: Ref;
  onBehalfOf: Ref | null;
  status: TaskStatus;
  outcome: string | null;
  comment: string | null;
  addMode: string | null;
  seq: number | null;
  createdAt: string;
  openedAt: string | null;
  doneAt: string | null;
  dueAt: string | null;
}

export interface HistoryEntry {
  id: number;
  at: string;
  actor: Ref | null;
  onBehalfOf: Ref | null;
  node: { id: string; name: string } | null;
  taskId: number | null;
  action: string;
  comment: string | null;
  detail: Record<string, unknown> | null;
}

export type FieldPermission = 'editable' | 'readonly' | 'hidden';

export interface NodeDef {
  id: string;
  name: string;
  type: string;
  actions?: string[];
  fieldPermissions?: Record<string, FieldPermission>;
  guidance?: string;
  links?: { name: string; url: string }[];
  rejectTo?: 'end' | 'initiator';
}

export interface EdgeDef {
  id: string;
  from: string;
  to: string;
  name?: string;
  condition?: string;
  isDefault?: boolean;
}

export interface Definition {
  nodes: NodeDef[];
  edges: EdgeDef[];
  formKey?: string;
}

export interface InstanceView extends InstanceCard {
  version: number | null;
  formData: Record<string, unknown>;
  formVersionId: number | null;
  definition: Definition;
  activeNodes: string[];
  tasks: TaskView[];
  history: HistoryEntry[];
}

export interface CatalogueItem {
  id: number;
  key: string;
  name: string;
  categoryId: number | null;
  description: string | null;
}

export interface Category {
  id: number;
  name: string;
  color: string | null;
  sort: number;
}

export interface InboxMessage {
  id: number;
  title: string;
  body: string;
  link: string | null;
  readAt: string | null;
  createdAt: string;
}

export interface PersonHit {
  id: number;
  name: string;
  employeeNo: string | null;
  dept: Ref | null;
  post: string | null;
  title: string | null;
  position: string | null;
  campus: string | null;
}

export interface DirectoryCard {
  id: number;
  name: string;
  employeeNo: string | null;
  dept: Ref | null;
  secondaryDepts: Ref[];
  campus: Ref | null;
  post: Ref | null;
  position: Ref | null;
  title: Ref | null;
  workPhone: string | null;
  email: string | null;
  mobile: string | null;
  mobileHidden: boolean;
  match?: string | null;
}

export interface DeptNode {
  id: number;
  name: string;
  memberCount: number;
  totalCount: number;
  children: DeptNode[];
}

export interface CampusNode {
  id: number | null;
  name: string;
  memberCount: number;
  departments: DeptNode[];
}

export interface FileMeta {
  id: number;
  name: string;
  mime: string;
  ext: string;
  size: number;
}

export interface FormVersionInfo {
  versionId: number;
  formId: number;
  key: string;
  version: number;
  latest: boolean;
  standalone: boolean;
  schema: import('../components/form/schema').FormSchema;
}

export interface ReturnTarget {
  nodeId: string;
  name: string;
}
