/**
 * The permission catalogue. Every non-public route names one of these (or "authenticated").
 * Built-in roles follow 等保's separation of administrator duties (三员, BAR.md §1 访问控制 d):
 * the system, security and audit administrators hold disjoint permissions.
 */
export const PERMISSIONS = {
  'system:settings': '修改系统设置（上传限制等）',
  'system:jobs': '查看和重试后台任务与消息投递',
  'security:policy': '修改安全策略（密码规则等）',
  'security:unlock': '解锁被锁定的账号',
  'security:login-log': '查看登录日志',
  'security:grants': '管理资源授权与管理范围（谁可以查看、编辑、管理哪些资源）',
  'audit:read': '查看审计日志',
  'audit:verify': '校验审计日志完整性',
  'org:manage': '维护组织架构（部门、人员、岗位、领导关系）',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export interface BuiltinRole {
  code: string;
  name: string;
  permissions: Permission[];
}

export const BUILTIN_ROLES: BuiltinRole[] = [
  { code: 'sysadmin', name: '系统管理员', permissions: ['system:settings', 'system:jobs'] },
  { code: 'secadmin', name: '安全管理员', permissions: ['security:policy', 'security:unlock', 'security:login-log', 'security:grants'] },
  { code: 'auditadmin', name: '审计管理员', permissions: ['audit:read', 'audit:verify', 'security:login-log'] },
  { code: 'orgadmin', name: '组织人事管理员', permissions: ['org:manage'] },
  { code: 'staff', name: '普通员工', permissions: [] },
];

export function isPermission(p: string): p is Permission {
  return Object.hasOwn(PERMISSIONS, p);
}
