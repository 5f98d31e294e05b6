import { z } from 'zod';
import { auditStandalone } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, auditActorOf, type AppContext } from '../http/context.ts';
import { pageQuery } from '../http/paging.ts';
import { badRequest, notFound, payloadTooLarge } from '../http/errors.ts';
import { hasPermission } from '../access/principal.ts';
import { EFFECTS, SUBJECT_TYPES, SUBJECT_TYPE_NAMES } from '../access/grants.ts';
import { contentDisposition } from '../files/service.ts';
import type { AppDeps } from '../deps.ts';
import { XLSX_MIME } from './excel-format.ts';
import { peopleSearch, SEARCH_Q_MAX } from './search.ts';
import { ADDRESS_BOOK_RESOURCE, AddressBookService, DirectoryService, type AbViewer, type Scope } from './address-book.ts';
import { bookCreate, bookPatch, entryCreate, entryPatch } from './address-book-schemas.ts';
import { ADDRESS_BOOK_IMPORT_MAX_BYTES, entriesWorkbook, readEntriesWorkbook, templateWorkbook } from './address-book-excel.ts';

// Address book (通讯录, issue 3 item 9, R11, R20.7) under /api/v1/org/address-book:
//   directory  GET tree, GET directory, GET people/:id          everyone signed in
//   personal   /personal[/:id], export, import                  everyone, their own contacts only
//   shared     GET /shared[/:id][/entries[/:entryId]], export   readers granted `view` (404 otherwise)
//              writes, shares, import                           addressbook:manage

const idOf = (what: string) => z.coerce.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const idParam = z.strictObject({ id: idOf('编号') });
const entryParams = z.strictObject({ id: idOf('通讯录编号'), entryId: idOf('联系人编号') });
const shareParams = z.strictObject({ id: idOf('通讯录编号'), grantId: idOf('授权编号') });
const flag = (name: string, dflt: 'true' | 'false') =>
  z
    .enum(['true', 'false'], { error: `${name}只能是 true 或 false` })
    .default(dflt)
    .transform((v) => v === 'true');
const directoryQuery = z.strictObject({
  ...pageQuery,
  campusId: idOf('院区编号').optional(),
  deptId: idOf('部门编号').optional(),
  includeSubtree: flag('是否包含下级部门', 'true'),
  q: z.string({ error: '搜索词只能出现一次' }).trim().max(SEARCH_Q_MAX, `搜索词不能超过 ${SEARCH_Q_MAX} 个字符`).optional().describe('姓名、全拼、首字母或工号'),
});
const entryQuery = z.strictObject({
  ...pageQuery,
  q: z.string({ error: '搜索词只能出现一次' }).trim().max(64, '搜索词不能超过 64 个字符').optional().describe('姓名、拼音、单位、职务、电话、邮箱或标签'),
  tag: z.string({ error: '标签只能出现一次' }).trim().max(20, '标签不能超过 20 个字符').optional(),
});

const subjectTypeList = SUBJECT_TYPES.map((s) => `${s}（${SUBJECT_TYPE_NAMES[s]}）`).join('、');
const shareBody = z.strictObject({
  subjectType: z.enum(SUBJECT_TYPES, { error: `共享对象类型无效，应为：${subjectTypeList}` }),
  subjectId: z.number({ error: '共享对象编号必须是正整数' }).int().positive('共享对象编号必须是正整数').nullable().optional().describe('人员、部门、角色、岗位或人员组的编号；全体人员不填'),
  subtree: z.boolean({ error: '是否包含下级部门只能是 true 或 false' }).optional().describe('共享给部门时是否包含全部下级部门（默认包含）'),
  effect: z.enum(EFFECTS, { error: '授权效果只能是 allow（允许）或 deny（禁止）' }).default('allow'),
});
const importQuery = z.strictObject({ dryRun: flag('是否只检查', 'true').describe('true：只检查不写入（默认）；false：正式导入，全部成功或全部不改') });
const importBody = z.strictObject({ fileId: z.number({ error: '文件编号必须是正整数' }).int().positive('文件编号必须是正整数').describe('先经 POST /api/v1/files 上传 .xlsx 得到的文件编号') });

function viewerOf(ctx: AppContext): AbViewer {
  const p = ctx.state.principal;
  return { userId: p?.userId ?? 0, orgManage: hasPermission(p, 'org:manage'), bookManage: hasPermission(p, 'addressbook:manage') };
}

function sendXlsx(ctx: AppContext, name: string, buffer: Buffer): void {
  ctx.set('Content-Disposition', contentDisposition(name));
  ctx.set('Cache-Control', 'private, no-store');
  ctx.type = XLSX_MIME;
  ctx.body = buffer;
}

/** Address book (issue 3 item 9, R11, R20.7). */
export function addressBookRoutes(deps: AppDeps): RouteSpec[] {
  const dir = new DirectoryService(deps.db, peopleSearch(deps));
  const svc = new AddressBookService(deps.db, deps.clock, deps.access);
  // shared books are resources of the access-control service: `view` grants decide who reads them
  deps.access.registerResourceType({
    type: ADDRESS_BOOK_RESOURCE,
    name: '公共通讯录',
    actions: ['view'],
    exists: async (id, t) => /^\d+$/.test(id) && !!(await deps.db.models.AddressBook.findByPk(Number(id), { attributes: ['id'], transaction: t })),
  });
  const manage = { permission: 'addressbook:manage' } as const;
  const tags = ['通讯录'];
  const base = '/api/v1/org/address-book';
  const personal = (ctx: AppContext): Scope => ({ kind: 'personal', ownerId: ctx.state.principal!.userId });
  const book = (id: number): Scope => ({ kind: 'book', bookId: id });

  /** The uploaded workbook's entries, or a 400 naming the file's problems. */
  const readUpload = async (ctx: AppContext, fileId: number) => {
    const file = await deps.files.readable(ctx.state.principal!, fileId);
    if (!file) throw notFound('文件不存在或无权访问');
    if (file.ext !== 'xlsx') throw badRequest('请上传 Excel 工作簿（.xlsx）；旧版 .xls 或 WPS 表格请先另存为 .xlsx', [{ path: 'fileId', message: '不是 .xlsx 文件' }], 'NOT_XLSX');
    if (Number(file.size) > ADDRESS_BOOK_IMPORT_MAX_BYTES) throw payloadTooLarge(`导入文件不能超过 ${ADDRESS_BOOK_IMPORT_MAX_BYTES / 1024 / 1024} MB`);
    const chunks: Buffer[] = [];
    for await (const c of await deps.files.storage.open(file.storageName)) chunks.push(c as Buffer);
    return { parsed: await readEntriesWorkbook(deps.db, Buffer.concat(chunks)), fileName: file.originalName };
  };

  const runImport = async (ctx: AppContext, scope: Scope, fileId: number, dryRun: boolean) => {
    const { parsed, fileName } = await readUpload(ctx, fileId);
    // rows the sheet check refused are not written either way; the rest are still checked so that
    // one dry run lists every problem
    const sheetOk = !parsed.problems.length;
    const r = await svc.importEntries(
      scope,
      parsed.rows.map((x) => x.input),
      actorOf(ctx),
      { dryRun: dryRun || !sheetOk, fileName },
    );
    const problems = [
      ...parsed.problems,
      ...r.problems.map((p) => {
        const row = p.index >= 0 ? parsed.rows[p.index] : undefined;
        return { row: row?.row ?? 0, column: row ? (row.columnOf[p.path.replace(/[[.].*$/, '')] ?? '') : '', reason: p.message };
      }),
    ].sort((a, b) => a.row - b.row);
    return { dryRun, ok: !problems.length, rows: parsed.dataRows, added: problems.length ? 0 : r.added, problems };
  };

  const exportBook = async (ctx: AppContext, scope: Scope, name: string) => {
    const entries = await svc.allEntries(scope, viewerOf(ctx));
    // phone numbers leave the system in a file: who took them is recorded
    await auditStandalone(
      deps.db,
      {
        ...auditActorOf(ctx),
        action: scope.kind === 'personal' ? 'addressbook.personal.export' : 'addressbook.entry.export',
        objectType: scope.kind === 'personal' ? 'user' : 'address_book',
        objectId: scope.kind === 'personal' ? scope.ownerId : scope.bookId,
        detail: { entries: entries.length },
      },
      deps.clock.now(),
    );
    sendXlsx(ctx, `${name}.xlsx`, await entriesWorkbook(entries));
  };

  return [
    // ---- directory ----------------------------------------------------------------------
    defineRoute({
      method: 'get',
      path: `${base}/tree`,
      access: 'authenticated',
      summary: '通讯录目录：院区 → 部门树（含在职人数）',
      tags,
      handler: () => dir.tree(),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/directory`,
      access: 'authenticated',
      summary: '全院通讯录：按院区、部门（可含下级）、姓名/拼音/工号查找在职人员；手机号按本人公开设置显示',
      tags,
      query: directoryQuery,
      handler: (ctx, { query }) => dir.list(query, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/people/:id`,
      access: 'authenticated',
      summary: '通讯录名片（在职人员）',
      tags,
      params: idParam,
      handler: (ctx, { params }) => dir.card(params.id, viewerOf(ctx)),
    }),

    // ---- personal contacts ----------------------------------------------------------------
    defineRoute({
      method: 'get',
      path: `${base}/personal`,
      access: 'authenticated',
      summary: '我的个人通讯录（分页，可按姓名/拼音/单位/电话/标签查找）',
      tags,
      query: entryQuery,
      handler: (ctx, { query }) => svc.listEntries(personal(ctx), query, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/personal-export`,
      access: 'authenticated',
      summary: '导出我的个人通讯录（Excel）',
      tags,
      handler: (ctx) => exportBook(ctx, personal(ctx), '个人通讯录'),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/personal-import`,
      access: 'authenticated',
      summary: '从 Excel 导入联系人到我的个人通讯录（dryRun=true 只检查；false 正式导入，全部成功或全部不改）',
      tags,
      query: importQuery,
      body: importBody,
      handler: (ctx, { query, body }) => runImport(ctx, personal(ctx), body.fileId, query.dryRun),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/personal`,
      access: 'authenticated',
      summary: '添加个人联系人（外部联系人，或引用院内人员）',
      tags,
      body: entryCreate,
      handler: async (ctx, { body }) => {
        const e = await svc.createEntry(personal(ctx), body, actorOf(ctx), viewerOf(ctx));
        ctx.status = 201;
        return e;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/personal/:id`,
      access: 'authenticated',
      summary: '个人联系人详情',
      tags,
      params: idParam,
      handler: (ctx, { params }) => svc.getEntry(personal(ctx), params.id, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/personal/:id`,
      access: 'authenticated',
      summary: '修改个人联系人（需带上读取时的 version）',
      tags,
      params: idParam,
      body: entryPatch,
      handler: (ctx, { params, body }) => svc.updateEntry(personal(ctx), params.id, body, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/personal/:id`,
      access: 'authenticated',
      summary: '删除个人联系人',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await svc.deleteEntry(personal(ctx), params.id, actorOf(ctx));
        ctx.status = 204;
      },
    }),

    // ---- shared books -----------------------------------------------------------------------
    defineRoute({
      method: 'get',
      path: `${base}/template`,
      access: 'authenticated',
      summary: '下载联系人导入模板（Excel）',
      tags,
      handler: async (ctx) => sendXlsx(ctx, '通讯录导入模板.xlsx', await templateWorkbook()),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/shared`,
      access: 'authenticated',
      summary: '我可以查看的公共通讯录',
      tags,
      handler: async (ctx) => ({ items: await svc.listBooks(viewerOf(ctx)) }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/shared`,
      access: manage,
      summary: '新建公共通讯录（新建后需共享给部门、人员组等才能被看到）',
      tags,
      body: bookCreate,
      handler: async (ctx, { body }) => {
        const b = await svc.createBook(body, actorOf(ctx), viewerOf(ctx));
        ctx.status = 201;
        return b;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/shared/:id`,
      access: 'authenticated',
      summary: '公共通讯录信息',
      tags,
      params: idParam,
      handler: (ctx, { params }) => svc.getBook(params.id, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/shared/:id`,
      access: manage,
      summary: '修改公共通讯录名称、说明、排序（需带上读取时的 version）',
      tags,
      params: idParam,
      body: bookPatch,
      handler: (ctx, { params, body }) => svc.updateBook(params.id, body, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/shared/:id`,
      access: manage,
      summary: '删除公共通讯录（连同其中的联系人和共享设置）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await svc.deleteBook(params.id, actorOf(ctx));
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/shared/:id/entries`,
      access: 'authenticated',
      summary: '公共通讯录中的联系人（分页，可查找、按标签筛选）',
      tags,
      params: idParam,
      query: entryQuery,
      handler: async (ctx, { params, query }) => {
        const v = viewerOf(ctx);
        await svc.readableBook(params.id, v);
        return svc.listEntries(book(params.id), query, v);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/shared/:id/export`,
      access: 'authenticated',
      summary: '导出公共通讯录（Excel）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        const b = await svc.readableBook(params.id, viewerOf(ctx));
        await exportBook(ctx, book(params.id), b.name);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/shared/:id/import`,
      access: manage,
      summary: '从 Excel 导入联系人到公共通讯录（dryRun=true 只检查；false 正式导入，全部成功或全部不改）',
      tags,
      params: idParam,
      query: importQuery,
      body: importBody,
      handler: (ctx, { params, query, body }) => runImport(ctx, book(params.id), body.fileId, query.dryRun),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/shared/:id/entries`,
      access: manage,
      summary: '在公共通讯录中添加联系人',
      tags,
      params: idParam,
      body: entryCreate,
      handler: async (ctx, { params, body }) => {
        const e = await svc.createEntry(book(params.id), body, actorOf(ctx), viewerOf(ctx));
        ctx.status = 201;
        return e;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/shared/:id/entries/:entryId`,
      access: 'authenticated',
      summary: '公共通讯录联系人详情',
      tags,
      params: entryParams,
      handler: async (ctx, { params }) => {
        const v = viewerOf(ctx);
        await svc.readableBook(params.id, v);
        return svc.getEntry(book(params.id), params.entryId, v);
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/shared/:id/entries/:entryId`,
      access: manage,
      summary: '修改公共通讯录联系人（需带上读取时的 version）',
      tags,
      params: entryParams,
      body: entryPatch,
      handler: (ctx, { params, body }) => svc.updateEntry(book(params.id), params.entryId, body, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/shared/:id/entries/:entryId`,
      access: manage,
      summary: '删除公共通讯录联系人',
      tags,
      params: entryParams,
      handler: async (ctx, { params }) => {
        await svc.deleteEntry(book(params.id), params.entryId, actorOf(ctx));
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/shared/:id/shares`,
      access: manage,
      summary: '公共通讯录共享给了谁（访问控制授权，操作 view）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await svc.readableBook(params.id, viewerOf(ctx));
        const list = await deps.access.listGrants({ type: ADDRESS_BOOK_RESOURCE, id: params.id });
        return { items: list.items };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/shared/:id/shares`,
      access: manage,
      summary: '共享公共通讯录给人员、部门（可含下级）、角色、岗位、人员组或全体人员',
      tags,
      params: idParam,
      body: shareBody,
      handler: async (ctx, { params, body }) => {
        await svc.readableBook(params.id, viewerOf(ctx));
        const grant = await deps.access.createGrant({ resourceType: ADDRESS_BOOK_RESOURCE, resourceId: params.id, action: 'view', ...body }, actorOf(ctx));
        ctx.status = 201;
        return grant;
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/shared/:id/shares/:grantId`,
      access: manage,
      summary: '取消共享',
      tags,
      params: shareParams,
      handler: async (ctx, { params }) => {
        await svc.readableBook(params.id, viewerOf(ctx));
        const list = await deps.access.listGrants({ type: ADDRESS_BOOK_RESOURCE, id: params.id });
        if (!list.items.some((g) => g.id === params.grantId)) throw notFound('该共享设置不存在或已被取消');
        await deps.access.deleteGrant(params.grantId, actorOf(ctx));
        ctx.status = 204;
      },
    }),
  ];
}
