import { z } from 'zod';
import { auditStandalone } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, auditActorOf, type AppContext } from '../http/context.ts';
import { badRequest, conflict, notFound, payloadTooLarge } from '../http/errors.ts';
import { contentDisposition } from '../files/service.ts';
import type { AppDeps } from '../deps.ts';
import { XLSX_MIME } from './excel-format.ts';
import { exportWorkbook, templateWorkbook } from './excel-write.ts';
import { ImportService, type ImportJob } from './import-service.ts';

/** An organisation workbook is a few MB at most; anything much larger is not one. */
const MAX_IMPORT_BYTES = 30 * 1024 * 1024;

const importQuery = z.strictObject({
  dryRun: z.enum(['true', 'false']).default('true').describe('true：只检查不写入（默认）；false：正式导入，全部成功或全部不改'),
  wait: z.coerce.number().int().min(0).max(60).default(20).describe('最多等待多少秒；超时则返回 202 和任务编号，之后轮询进度'),
});
const importBody = z.strictObject({ fileId: z.number().int().positive().describe('先经 POST /api/v1/files 上传 .xlsx 得到的文件编号') });
const jobParams = z.strictObject({ id: z.uuid() });

function send(ctx: AppContext, name: string, buffer: Buffer): void {
  ctx.set('Content-Disposition', contentDisposition(name));
  ctx.set('Cache-Control', 'private, no-store');
  ctx.type = XLSX_MIME;
  ctx.body = buffer;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

/** Excel template, export and import of departments, people and roles (issue 3 item 7, R12.0). */
export function importRoutes(deps: AppDeps): RouteSpec[] {
  const svc = new ImportService({
    db: deps.db,
    clock: deps.clock,
    log: deps.log,
    afterCommit: async (w) => {
      for (const id of w.disabled) await deps.sessions.revokeUser(id);
      for (const id of w.touched) await deps.sessions.invalidateUser(id);
    },
  });
  const access = { permission: 'org:manage' } as const;
  const tags = ['组织架构导入导出'];
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/org/excel/template',
      access,
      summary: '下载组织架构导入模板（部门、人员、角色三张表及说明）',
      tags,
      handler: async (ctx) => send(ctx, '组织架构导入模板.xlsx', await templateWorkbook()),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/org/excel/export',
      access,
      summary: '导出全部部门、人员和角色（与导入模板列相同，可直接改后导回）',
      tags,
      handler: async (ctx) => {
        const { buffer, counts } = await exportWorkbook(deps.db);
        // a file of everyone's phone numbers leaves the system: who took it is recorded
        await auditStandalone(deps.db, { ...auditActorOf(ctx), action: 'org.export', objectType: 'organisation', detail: { ...counts } }, deps.clock.now());
        send(ctx, `组织架构-${stamp(deps.clock.now())}.xlsx`, buffer);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/org/excel/import',
      access,
      summary: '导入组织架构 Excel（dryRun=true 只检查并列出全部问题；false 正式导入，全部成功或全部不改）',
      tags,
      query: importQuery,
      body: importBody,
      handler: async (ctx, { query, body }) => {
        const p = ctx.state.principal!;
        const file = await deps.files.readable(p, body.fileId);
        if (!file) throw notFound('文件不存在或无权访问');
        if (file.ext !== 'xlsx') throw badRequest('请上传 Excel 工作簿（.xlsx）；旧版 .xls 或 WPS 表格请先另存为 .xlsx', [{ path: 'fileId', message: '不是 .xlsx 文件' }], 'NOT_XLSX');
        if (Number(file.size) > MAX_IMPORT_BYTES) throw payloadTooLarge(`导入文件不能超过 ${MAX_IMPORT_BYTES / 1024 / 1024} MB`);
        const chunks: Buffer[] = [];
        for await (const c of await deps.files.storage.open(file.storageName)) chunks.push(c as Buffer);
        const started = svc.start({
          buffer: Buffer.concat(chunks),
          fileId: file.id,
          fileName: file.originalName,
          dryRun: query.dryRun === 'true',
          actor: { ...actorOf(ctx), id: p.userId },
          permissions: p.permissions,
        });
        if ('busy' in started) throw conflict(started.busy, 'IMPORT_BUSY');
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), query.wait * 1000)));
        const job = await Promise.race([started.finished, timeout]);
        clearTimeout(timer);
        if (!job) {
          ctx.status = 202;
          ctx.set('Location', `/api/v1/org/excel/import/${started.job.id}`);
          return started.job;
        }
        return job satisfies ImportJob;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/org/excel/import/:id',
      access,
      summary: '导入任务的进度和结果（只有发起人可以查看）',
      tags,
      params: jobParams,
      handler: (ctx, { params }) => {
        const job = svc.get(params.id, ctx.state.principal!.userId);
        if (!job) throw notFound('导入任务不存在或已过期');
        return job;
      },
    }),
  ];
}
