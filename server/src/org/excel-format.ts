import type { DeptKind, UserStatus } from '@oa/db';

/**
 * The organisation workbook (issue 3 item 7, R12.0): three sheets with Chinese headers. The
 * template, the export and the import all use these definitions, so an export imports back
 * unchanged (round trip).
 *
 * 部门  编码*, 名称*, 上级编码, 类型* (临床/医技/行政/后勤), 院区编码, 排序,
 *       负责人工号, 副职工号, 分管领导工号 (R12.0, M7: several employee numbers separated by 、 or
 *       a comma, in order; the leaders of the department on that row)
 * 人员  工号*, 姓名*, 性别 (男/女), 主部门编码*, 兼职部门编码 (逗号分隔), 岗位编码, 职称编码,
 *       职务编码, 直接上级工号, 手机, 办公电话, 邮箱, 状态 (在职/停用),
 *       接替人工号 (required when the row disables a person who is active now: their leadership
 *       and open work are handed over to this person, as when disabling through the people API)
 * 角色  工号*, 角色编码*, 范围部门编码 (空 = 全院), 含下级 (是/否，空 = 是)
 *
 * `*` marks columns whose header must be present. Any other column may be left out of the sheet:
 * a column that is absent leaves that field of existing rows as it is; a blank cell in a column
 * that is present clears the field (or, for 排序 and 状态, keeps / defaults it). For the leadership
 * columns: an absent column leaves that kind of leadership of every department untouched; a blank
 * cell in a present column means the department has none of that kind (leaders without an employee
 * number, who cannot be named in a file, are always kept).
 */

export type CellType = 'text' | 'int';

export interface ColumnDef<K extends string = string> {
  key: K;
  header: string;
  /** the header must be in the sheet */
  required: boolean;
  type: CellType;
  /** longest accepted text (the database column's length) */
  max?: number;
  width: number;
  note: string;
}

export interface SheetDef<K extends string = string> {
  name: string;
  columns: ColumnDef<K>[];
  /** data rows accepted per sheet; more is refused as a whole */
  maxRows: number;
}

const col = <K extends string>(key: K, header: string, required: boolean, width: number, note: string, extra: Partial<ColumnDef<K>> = {}): ColumnDef<K> => ({
  key,
  header,
  required,
  type: 'text',
  width,
  note,
  ...extra,
});

export const DEPT_SHEET: SheetDef<'code' | 'name' | 'parentCode' | 'kind' | 'campusCode' | 'sort' | 'headNos' | 'deputyNos' | 'chargeNos'> = {
  name: '部门',
  maxRows: 5_000,
  columns: [
    col('code', '编码', true, 16, '必填，全院唯一（不区分大小写）；字母、数字和 - _ .', { max: 64 }),
    col('name', '名称', true, 24, '必填', { max: 100 }),
    col('parentCode', '上级编码', false, 16, '空表示顶级部门；可以是本表中的部门或系统中已有的部门', { max: 64 }),
    col('kind', '类型', true, 10, '必填：临床、医技、行政、后勤'),
    col('campusCode', '院区编码', false, 12, '系统中已有的院区编码；空表示不属于某个院区', { max: 32 }),
    col('sort', '排序', false, 8, '同级排序，小的在前；非负整数', { type: 'int' }),
    col('headNos', '负责人工号', false, 18, '部门负责人的工号，多人用「、」或逗号分隔，按先后顺序；空表示没有负责人；没有此列时负责人保持不变', { max: 1000 }),
    col('deputyNos', '副职工号', false, 18, '部门副职的工号，多人用「、」或逗号分隔，按先后顺序；空表示没有副职；没有此列时副职保持不变', { max: 1000 }),
    col('chargeNos', '分管领导工号', false, 18, '分管本部门的领导的工号，多人用「、」或逗号分隔；空表示没有分管领导；没有此列时分管领导保持不变', { max: 1000 }),
  ],
};

export const PEOPLE_SHEET: SheetDef<
  'employeeNo' | 'name' | 'gender' | 'deptCode' | 'secondaryCodes' | 'postCode' | 'titleCode' | 'positionCode' | 'superiorNo' | 'mobile' | 'workPhone' | 'email' | 'status' | 'successorNo'
> = {
  name: '人员',
  maxRows: 20_000,
  columns: [
    col('employeeNo', '工号', true, 12, '必填，全院唯一；请把此列设为文本格式', { max: 32 }),
    col('name', '姓名', true, 12, '必填', { max: 64 }),
    col('gender', '性别', false, 6, '男、女或空'),
    col('deptCode', '主部门编码', true, 14, '必填', { max: 64 }),
    col('secondaryCodes', '兼职部门编码', false, 20, '多个用逗号分隔'),
    col('postCode', '岗位编码', false, 10, '系统中已有的岗位编码', { max: 64 }),
    col('titleCode', '职称编码', false, 10, '系统中已有的职称编码', { max: 64 }),
    col('positionCode', '职务编码', false, 10, '系统中已有的职务编码', { max: 64 }),
    col('superiorNo', '直接上级工号', false, 14, '空表示按部门负责人链确定上级', { max: 32 }),
    col('mobile', '手机', false, 14, '', { max: 32 }),
    col('workPhone', '办公电话', false, 14, '', { max: 32 }),
    col('email', '邮箱', false, 24, '', { max: 128 }),
    col('status', '状态', false, 8, '在职或停用；空表示在职'),
    col('successorNo', '接替人工号', false, 14, '把在职人员改为停用时必填：其部门负责人、副职、分管领导职务和待办工作交给此人（须为在职人员）；其他行可空', { max: 32 }),
  ],
};

export const ROLE_SHEET: SheetDef<'employeeNo' | 'roleCode' | 'scopeCode' | 'subtree'> = {
  name: '角色',
  maxRows: 50_000,
  columns: [
    col('employeeNo', '工号', true, 12, '必填：本文件人员表中或系统中已有的工号', { max: 32 }),
    col('roleCode', '角色编码', true, 14, '必填：系统中已有的角色编码', { max: 64 }),
    col('scopeCode', '范围部门编码', false, 16, '空表示全院范围；否则只在该部门内拥有此角色', { max: 64 }),
    col('subtree', '含下级', false, 8, '范围是否包含下级部门：是或否；空表示是'),
  ],
};

export const SHEETS = [DEPT_SHEET, PEOPLE_SHEET, ROLE_SHEET] as const;

export const KIND_LABELS: Record<DeptKind, string> = { clinical: '临床', medtech: '医技', admin: '行政', logistics: '后勤' };
/** accepted spellings of a department kind */
export const KIND_BY_LABEL = new Map<string, DeptKind>([
  ...Object.entries(KIND_LABELS).map(([k, v]) => [v, k as DeptKind] as const),
  ['临床科室', 'clinical'],
  ['医技科室', 'medtech'],
  ['行政职能', 'admin'],
  ['行政科室', 'admin'],
  ['后勤保障', 'logistics'],
  ['后勤科室', 'logistics'],
]);
export const STATUS_LABELS: Record<UserStatus, string> = { active: '在职', disabled: '停用' };
export const STATUS_BY_LABEL = new Map<string, UserStatus>([
  ['在职', 'active'],
  ['停用', 'disabled'],
]);
export const GENDERS = new Set(['男', '女']);

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** A column letter from a 1-based index: 1 → A, 27 → AA. */
export function columnLetter(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}
