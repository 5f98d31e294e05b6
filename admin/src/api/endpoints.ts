import { api } from './client.ts';
import type { AuditItem, LoginLogItem, Me, Page, PasswordPolicy } from './types.ts';

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
  list: (q: PageQuery) => api.get<Page<AuditItem>>('/audit', { ...q }),
};

export const securityApi = {
  loginLog: (q: PageQuery) => api.get<Page<LoginLogItem>>('/security/login-log', { ...q }),
};
