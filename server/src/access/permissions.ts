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
  'org:files': '查看和维护人事档案（含自定义字段）',
  'org:sensitive': '查看人员敏感信息明文（身份证号、银行账号、家庭住址）',
  'addressbook:manage': '维护公共通讯录',
  'workflow:design': '设计和发布审批流程',
  'workflow:admin': '监控和干预流程实例（跳转、改派、挂起、终止）',
  'forms:design': '设计和发布自定义表单',
  'forms:data': '查询和更正表单数据',
  'workflow:start-as': '以他人名义发起流程（供其他系统对接）',
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
  { code: 'orgadmin', name: '组织人事管理员', permissions: ['org:manage', 'addressbook:manage'] },
  { code: 'hradmin', name: '人事档案管理员', permissions: ['org:files', 'org:sensitive'] },
  { code: 'processadmin', name: '流程管理员', permissions: ['workflow:design', 'workflow:admin', 'forms:design', 'forms:data'] },
  { code: 'integration', name: '系统对接账号', permissions: ['workflow:start-as'] },
  { code: 'staff', name: '普通员工', permissions: [] },
];

export function isPermission(p: string): p is Permission {
  return Object.hasOwn(PERMISSIONS, p);
}
