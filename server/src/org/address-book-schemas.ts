import { z } from 'zod';
import { PHONES_MAX, TAGS_MAX } from './address-book.ts';

// Request shapes of the address book (issue 3 item 9, R11): shared by the routes and the Excel
// import, so a row is checked exactly like a request.

export const text = (max: number, what: string) => z.string({ error: `${what}应为文本` }).trim().max(max, `${what}不能超过 ${max} 个字符`);
export const optText = (max: number, what: string) => text(max, what).nullable().optional();

export const phone = z.strictObject({
  label: text(20, '电话类型').min(1, '请填写电话类型（如 手机、办公、传真）').describe('手机、办公、传真 …'),
  number: text(32, '电话号码')
    .min(3, '电话号码至少 3 位')
    .regex(/^[0-9+()\- #*,转]+$/u, '电话号码只能包含数字、空格和 + - ( ) # * , 转'),
});
export const entryFields = {
  name: text(64, '姓名').min(1, '姓名不能为空').optional().describe('外部联系人姓名；引用院内人员时不填'),
  organisation: optText(200, '单位'),
  title: optText(100, '职务/职称'),
  phones: z.array(phone).max(PHONES_MAX, `电话最多 ${PHONES_MAX} 个`).optional(),
  email: z.email('邮箱格式不正确').max(128, '邮箱不能超过 128 个字符').nullable().optional(),
  note: optText(1000, '备注'),
  tags: z.array(text(20, '标签').min(1, '标签不能为空')).max(TAGS_MAX, `标签最多 ${TAGS_MAX} 个`).optional(),
  sort: z.number({ error: '排序号必须是整数' }).int('排序号必须是整数').min(0, '排序号不能小于 0').max(1_000_000, '排序号不能超过 1000000').optional(),
};
export const entryCreate = z.strictObject({
  personId: z.number({ error: '院内人员编号必须是正整数' }).int('院内人员编号必须是正整数').positive('院内人员编号必须是正整数').optional().describe('引用院内人员（其信息随人员档案自动更新）'),
  ...entryFields,
});
export const version = z.number({ error: '缺少版本号 version（编辑前读取到的版本）' }).int('版本号必须是整数').min(0, '版本号不能小于 0');
export const entryPatch = z.strictObject({ ...entryFields, version });
export const bookFields = {
  name: text(100, '通讯录名称').min(1, '通讯录名称不能为空'),
  description: optText(500, '说明'),
  sort: entryFields.sort,
};
export const bookCreate = z.strictObject(bookFields);
export const bookPatch = z.strictObject({ name: bookFields.name.optional(), description: bookFields.description, sort: bookFields.sort, version });
