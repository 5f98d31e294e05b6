import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { useAuthStore } from '../stores/auth.ts';

declare module 'vue-router' {
  interface RouteMeta {
    /** page title (Chinese) */
    title?: string;
    /** reachable without signing in */
    public?: boolean;
    /** permission the signed-in person needs */
    permission?: string;
    /** menu entry to highlight (pages below a list, e.g. the designer under 流程设计) */
    menu?: string;
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('../views/LoginView.vue'), meta: { title: '登录', public: true } },
  {
    path: '/change-password',
    name: 'change-password',
    component: () => import('../views/ChangePasswordView.vue'),
    meta: { title: '修改密码' },
  },
  {
    path: '/',
    component: () => import('../layouts/AdminLayout.vue'),
    children: [
      { path: '', name: 'home', component: () => import('../views/HomeView.vue'), meta: { title: '首页' } },
      // R12 organisation
      { path: 'org/departments', name: 'org-departments', component: () => import('../views/org/DepartmentsView.vue'), meta: { title: '部门管理', permission: 'org:manage' } },
      { path: 'org/people', name: 'org-people', component: () => import('../views/org/PeopleView.vue'), meta: { title: '人员管理', permission: 'org:manage' } },
      { path: 'org/transfers', name: 'org-transfers', component: () => import('../views/org/TransfersView.vue'), meta: { title: '调动与信息变更', permission: 'org:manage' } },
      { path: 'org/import', name: 'org-import', component: () => import('../views/org/ImportView.vue'), meta: { title: '组织架构导入', permission: 'org:manage' } },
      // R3 workflow
      { path: 'workflow/processes', name: 'wf-processes', component: () => import('../views/workflow/ProcessListView.vue'), meta: { title: '流程设计', permission: 'workflow:design' } },
      { path: 'workflow/processes/:id/design', name: 'wf-designer', component: () => import('../views/workflow/DesignerView.vue'), meta: { title: '流程设计器', permission: 'workflow:design', menu: 'wf-processes' } },
      { path: 'workflow/monitor', name: 'wf-monitor', component: () => import('../views/workflow/MonitorView.vue'), meta: { title: '流程监控', permission: 'workflow:admin' } },
      { path: 'workflow/instances/:id', name: 'wf-instance', component: () => import('../views/workflow/InstanceView.vue'), meta: { title: '流程实例', permission: 'workflow:admin', menu: 'wf-monitor' } },
      { path: 'workflow/reports', name: 'wf-reports', component: () => import('../views/workflow/ReportsView.vue'), meta: { title: '流程统计', permission: 'workflow:admin' } },
      // R16 forms
      { path: 'forms', name: 'forms', component: () => import('../views/forms/FormListView.vue'), meta: { title: '表单设计', permission: 'forms:design' } },
      { path: 'forms/:id/design', name: 'form-designer', component: () => import('../views/forms/FormDesignerView.vue'), meta: { title: '表单设计器', permission: 'forms:design', menu: 'forms' } },
      // R18 / R19 security and system
      { path: 'security', name: 'security', component: () => import('../views/system/SecurityView.vue'), meta: { title: '安全策略', permission: 'security:policy' } },
      { path: 'system', name: 'system', component: () => import('../views/system/SystemView.vue'), meta: { title: '系统参数与任务', permission: 'system:settings' } },
      {
        path: 'audit',
        name: 'audit',
        component: () => import('../views/AuditLogView.vue'),
        meta: { title: '审计日志', permission: 'audit:read' },
      },
      {
        path: 'login-log',
        name: 'login-log',
        component: () => import('../views/LoginLogView.vue'),
        meta: { title: '登录日志', permission: 'security:login-log' },
      },
      {
        path: 'forbidden',
        name: 'forbidden',
        component: () => import('../views/ForbiddenView.vue'),
        meta: { title: '无权访问' },
      },
      {
        path: ':rest(.*)*',
        name: 'not-found',
        component: () => import('../views/NotFoundView.vue'),
        meta: { title: '页面不存在' },
      },
    ],
  },
];

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: () => ({ top: 0 }),
});

router.beforeEach(async (to) => {
  const auth = useAuthStore();
  await auth.load();
  if (!auth.signedIn) {
    if (to.meta.public) return true;
    return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} };
  }
  if (auth.mustChangePassword) {
    return to.name === 'change-password' ? true : { name: 'change-password' };
  }
  // change-password stays reachable for a voluntary change
  if (to.name === 'login') return safeRedirect(to.query.redirect) ?? { name: 'home' };
  if (to.meta.permission && !auth.can(to.meta.permission)) return { name: 'forbidden' };
  return true;
});

router.afterEach((to) => {
  document.title = `${to.meta.title ? to.meta.title + ' · ' : ''}管理后台 · 医院协同办公系统`;
});

/** Only same-app paths are accepted as a post-login target (no `//host` or absolute URLs). */
export function safeRedirect(value: unknown): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' && v.startsWith('/') && !v.startsWith('//') && !v.startsWith('/\\') ? v : null;
}
