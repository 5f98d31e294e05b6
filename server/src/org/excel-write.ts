import ExcelJS from 'exceljs';
import { Op, type Database, type UserStatus } from '@oa/db';
import { DEPT_SHEET, KIND_LABELS, PEOPLE_SHEET, ROLE_SHEET, SHEETS, STATUS_LABELS, type SheetDef } from './excel-format.ts';

/**
 * The template (headers only, plus a 说明 sheet) and the export (everything, in the same columns, so
 * that importing an export changes nothing). People without an employee number (the bootstrap
 * `admin` account) cannot be matched by an import and are left out of the export.
 */

type Row = (string | number | null | undefined)[];

function addSheet(wb: ExcelJS.Workbook, def: SheetDef, rows: Row[]): void {
  const ws = wb.addWorksheet(def.name, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = def.columns.map((c) => ({
    header: c.header,
    key: c.key,
    width: c.width,
    // text format: Excel keeps 工号 00123 and long phone numbers as typed
    style: c.type === 'text' ? { numFmt: '@' } : {},
  }));
  const head = ws.getRow(1);
  head.font = { bold: true };
  def.columns.forEach((c, i) => {
    const cell = head.getCell(i + 1);
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: c.required ? 'FFFFE0B2' : 'FFE3F2FD' } };
    if (c.note) cell.note = c.note;
  });
  for (const r of rows) ws.addRow(r);
}

function addGuide(wb: ExcelJS.Workbook): void {
  const ws = wb.addWorksheet('说明');
  ws.columns = [
    { header: '工作表', key: 'sheet', width: 10 },
    { header: '列', key: 'col', width: 16 },
    { header: '必填', key: 'req', width: 6 },
    { header: '说明', key: 'note', width: 70 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const def of SHEETS as readonly SheetDef[]) for (const c of def.columns) ws.addRow([def.name, c.header, c.required ? '是' : '', c.note]);
  ws.addRow([]);
  for (const line of [
    '第 1 行是列名，数据从第 2 行开始；不要合并单元格，不要在数据区插入标题或合计行。',
    '导入按「部门编码」更新或新建部门，按「工号」更新或新建人员；重复导入同一文件不会产生任何变化。',
    '缺少某个非必填列时，已有数据的该项保持不变；列存在但单元格为空时，该项被清空。',
    '「负责人工号」「副职工号」「分管领导工号」填写该部门的领导，多人用「、」或逗号分隔，按先后顺序；单元格为空表示该部门没有这类领导；缺少这一列时，所有部门的这类领导保持不变。领导须为在职人员，同一人不能既是负责人又是副职。',
    '把在职人员的状态改为「停用」时必须填写「接替人工号」：其部门负责人、副职、分管领导职务和待办工作将交给接替人（须为在职人员），与在人员管理中停用相同；已停用的人员该列仅作记录。',
    '「角色」表列出的人员，其角色以本表为准（您无权分配的角色不受影响）；未列出的人员角色不变；新建且未列出的人员获得「普通员工」角色。',
    '新建的人员没有密码，通过企业微信登录，或由管理员重置密码后登录。',
    '院区、岗位、职称、职务和角色需先在系统中维护，这里只填写它们的编码。',
    '请先「试导入」检查，所有问题都会按工作表、行、列列出；正式导入要么全部成功，要么什么都不改。',
  ])
    ws.addRow(['', '', '', line]);
}

async function toBuffer(wb: ExcelJS.Workbook): Promise<Buffer> {
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function newWorkbook(): ExcelJS.Workbook {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'OA';
  // fixed dates: the same content gives the same file
  wb.created = new Date(Date.UTC(2026, 0, 1));
  wb.modified = wb.created;
  return wb;
}

export async function templateWorkbook(): Promise<Buffer> {
  const wb = newWorkbook();
  addSheet(wb, DEPT_SHEET, []);
  addSheet(wb, PEOPLE_SHEET, []);
  addSheet(wb, ROLE_SHEET, []);
  addGuide(wb);
  return toBuffer(wb);
}

export interface ExportCounts {
  departments: number;
  people: number;
  roles: number;
}

/** Everything, in the import's columns: departments parents first, people by number. */
export async function exportWorkbook(db: Database): Promise<{ buffer: Buffer; counts: ExportCounts }> {
  const { Department, Campus, Post, Title, Position, User, UserDept, Role, UserRole, UserRoleScope, DeptLeader, LeaderInCharge } = db.models;
  const [depts, campuses, posts, titles, positions, roles] = await Promise.all([
    Department.findAll({ attributes: ['id', 'code', 'name', 'parentId', 'kind', 'campusId', 'sort', 'level'], raw: true }),
    Campus.findAll({ attributes: ['id', 'code'], raw: true }),
    Post.findAll({ attributes: ['id', 'code'], raw: true }),
    Title.findAll({ attributes: ['id', 'code'], raw: true }),
    Position.findAll({ attributes: ['id', 'code'], raw: true }),
    Role.findAll({ attributes: ['id', 'code'], raw: true }),
  ]);
  const users = await User.findAll({
    where: { employeeNo: { [Op.ne]: null } },
    attributes: ['id', 'employeeNo', 'name', 'gender', 'deptId', 'postId', 'titleId', 'positionId', 'superiorId', 'mobile', 'workPhone', 'email', 'status', 'successorId'],
    raw: true,
  });
  const codeOf = (rows: { id: number; code: string }[]) => {
    const m = new Map(rows.map((r) => [r.id, r.code]));
    return (id: number | null) => (id === null ? null : (m.get(id) ?? null));
  };
  const dept = codeOf(depts);
  const campus = codeOf(campuses);
  const post = codeOf(posts);
  const title = codeOf(titles);
  const position = codeOf(positions);
  const role = codeOf(roles);
  const noOf = new Map<number, string>(users.map((u) => [u.id, u.employeeNo!]));
  const exported = new Set(users.map((u) => u.id));

  const [secondary, globalRoles, scopes, leaders, charge] = await Promise.all([
    UserDept.findAll({ raw: true }),
    UserRole.findAll({ raw: true }),
    UserRoleScope.findAll({ raw: true }),
    DeptLeader.findAll({ order: [['sort', 'ASC'], ['userId', 'ASC']], raw: true }),
    LeaderInCharge.findAll({ raw: true }),
  ]);
  // leadership (R12.0, M7): employee numbers in order, joined with 、; people without one cannot be named
  const byNoText = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const listOf = (rows: { deptId: number; userId: number }[]) => {
    const m = new Map<number, string[]>();
    for (const r of rows) {
      const no = noOf.get(r.userId);
      if (no) (m.get(r.deptId) ?? m.set(r.deptId, []).get(r.deptId)!).push(no);
    }
    return (deptId: number) => m.get(deptId)?.join('、') || null;
  };
  const headsOf = listOf(leaders.filter((l) => l.kind === 'head'));
  const deputiesOf = listOf(leaders.filter((l) => l.kind === 'deputy'));
  const chargeOf = listOf([...charge].sort((a, b) => byNoText(noOf.get(a.userId) ?? '', noOf.get(b.userId) ?? '')));
  const secondaryOf = new Map<number, string[]>();
  for (const s of secondary) {
    const code = dept(s.deptId);
    if (code && exported.has(s.userId)) (secondaryOf.get(s.userId) ?? secondaryOf.set(s.userId, []).get(s.userId)!).push(code);
  }

  const deptRows: Row[] = [...depts]
    .sort((a, b) => a.level - b.level || a.sort - b.sort || a.code.localeCompare(b.code))
    .map((d) => [d.code, d.name, dept(d.parentId), KIND_LABELS[d.kind] ?? d.kind, campus(d.campusId), d.sort, headsOf(d.id), deputiesOf(d.id), chargeOf(d.id)]);
  const byNo = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const peopleRows: Row[] = [...users]
    .sort((a, b) => byNo(a.employeeNo!, b.employeeNo!))
    .map((u) => [
      u.employeeNo,
      u.name,
      u.gender,
      dept(u.deptId),
      (secondaryOf.get(u.id) ?? []).sort().join(',') || null,
      post(u.postId),
      title(u.titleId),
      position(u.positionId),
      u.superiorId !== null ? (noOf.get(u.superiorId) ?? null) : null,
      u.mobile,
      u.workPhone,
      u.email,
      STATUS_LABELS[u.status as UserStatus] ?? u.status,
      // who took over when the person was disabled (kept as a record)
      u.status === 'disabled' && u.successorId !== null ? (noOf.get(u.successorId) ?? null) : null,
    ]);
  const roleRows: Row[] = [
    ...globalRoles.filter((r) => exported.has(r.userId) && role(r.roleId)).map((r) => [noOf.get(r.userId)!, role(r.roleId), null, null] as Row),
    ...scopes
      .filter((s) => exported.has(s.userId) && role(s.roleId) && dept(s.deptId))
      .map((s) => [noOf.get(s.userId)!, role(s.roleId), dept(s.deptId), s.subtree ? '是' : '否'] as Row),
  ].sort((a, b) => byNo(String(a[0]), String(b[0])) || String(a[1]).localeCompare(String(b[1])) || String(a[2] ?? '').localeCompare(String(b[2] ?? '')));

  const wb = newWorkbook();
  addSheet(wb, DEPT_SHEET, deptRows);
  addSheet(wb, PEOPLE_SHEET, peopleRows);
  addSheet(wb, ROLE_SHEET, roleRows);
  addGuide(wb);
  return { buffer: await toBuffer(wb), counts: { departments: deptRows.length, people: peopleRows.length, roles: roleRows.length } };
}

/** A workbook in the import's layout from plain rows (benchmarks, scripts): headers are added. */
export async function importWorkbook(data: { departments?: Row[]; people?: Row[]; roles?: Row[] }): Promise<Buffer> {
  const wb = newWorkbook();
  if (data.departments) addSheet(wb, DEPT_SHEET, data.departments);
  if (data.people) addSheet(wb, PEOPLE_SHEET, data.people);
  if (data.roles) addSheet(wb, ROLE_SHEET, data.roles);
  return toBuffer(wb);
}
