import type { Transaction } from 'sequelize';
import type { Database } from '../database.ts';
import type { DeptKind } from '../models/index.ts';
import { GIVEN, SURNAMES } from './names.ts';

interface DeptSeed {
  code: string;
  name: string;
  kind: DeptKind;
  campus: 'YX' | 'TH' | null;
  parent?: string;
  staff: number;
}

// A stomatological hospital with two campuses (多院区): clinical, medical technology,
// administrative and logistics departments.
const DEPARTMENTS: DeptSeed[] = [
  { code: 'YZB', name: '院长办公室', kind: 'admin', campus: null, staff: 6 },
  { code: 'DWB', name: '党委办公室', kind: 'admin', campus: null, staff: 4 },
  { code: 'YWB', name: '医务部', kind: 'admin', campus: null, staff: 6 },
  { code: 'HLB', name: '护理部', kind: 'admin', campus: null, staff: 5 },
  { code: 'RLZY', name: '人力资源部', kind: 'admin', campus: null, staff: 6 },
  { code: 'CWB', name: '财务部', kind: 'admin', campus: null, staff: 8 },
  { code: 'XXK', name: '信息科', kind: 'admin', campus: null, staff: 6 },
  { code: 'ZKB', name: '质量控制办公室', kind: 'admin', campus: null, staff: 3 },
  { code: 'KJK', name: '科教科', kind: 'admin', campus: null, staff: 4 },
  { code: 'YGK', name: '医院感染管理科', kind: 'admin', campus: null, staff: 3 },
  { code: 'SBK', name: '设备科', kind: 'admin', campus: null, staff: 4 },
  { code: 'CGZX', name: '采购中心', kind: 'admin', campus: null, staff: 3 },
  { code: 'SJK', name: '审计科', kind: 'admin', campus: null, staff: 2 },
  { code: 'JJJC', name: '纪检监察室', kind: 'admin', campus: null, staff: 2 },
  { code: 'BWK', name: '保卫科', kind: 'logistics', campus: null, staff: 4 },
  { code: 'ZWK', name: '总务科', kind: 'logistics', campus: null, staff: 6 },
  { code: 'CD', name: '车队', kind: 'logistics', campus: null, parent: 'ZWK', staff: 4 },
  { code: 'SSK', name: '膳食科', kind: 'logistics', campus: null, parent: 'ZWK', staff: 3 },
  { code: 'YX-HMWK', name: '口腔颌面外科', kind: 'clinical', campus: 'YX', staff: 14 },
  { code: 'YX-HMWK-1', name: '颌面外科一病区', kind: 'clinical', campus: 'YX', parent: 'YX-HMWK', staff: 10 },
  { code: 'YX-HMWK-2', name: '颌面外科二病区', kind: 'clinical', campus: 'YX', parent: 'YX-HMWK', staff: 9 },
  { code: 'YX-YTYS', name: '牙体牙髓科', kind: 'clinical', campus: 'YX', staff: 16 },
  { code: 'YX-YZK', name: '牙周科', kind: 'clinical', campus: 'YX', staff: 10 },
  { code: 'YX-XFK', name: '口腔修复科', kind: 'clinical', campus: 'YX', staff: 14 },
  { code: 'YX-ZJK', name: '口腔正畸科', kind: 'clinical', campus: 'YX', staff: 14 },
  { code: 'YX-ETK', name: '儿童口腔科', kind: 'clinical', campus: 'YX', staff: 10 },
  { code: 'YX-NMK', name: '口腔黏膜科', kind: 'clinical', campus: 'YX', staff: 6 },
  { code: 'YX-ZZK', name: '口腔种植科', kind: 'clinical', campus: 'YX', staff: 9 },
  { code: 'YX-YFK', name: '口腔预防科', kind: 'clinical', campus: 'YX', staff: 5 },
  { code: 'YX-JZK', name: '急诊科', kind: 'clinical', campus: 'YX', staff: 6 },
  { code: 'YX-MZK', name: '麻醉科', kind: 'clinical', campus: 'YX', staff: 7 },
  { code: 'YX-FSK', name: '放射科', kind: 'medtech', campus: 'YX', staff: 7 },
  { code: 'YX-JYK', name: '检验科', kind: 'medtech', campus: 'YX', staff: 6 },
  { code: 'YX-BLK', name: '病理科', kind: 'medtech', campus: 'YX', staff: 4 },
  { code: 'YX-YJK', name: '药剂科', kind: 'medtech', campus: 'YX', staff: 6 },
  { code: 'YX-GYZX', name: '消毒供应中心', kind: 'medtech', campus: 'YX', staff: 5 },
  { code: 'YX-JGS', name: '口腔技工室', kind: 'medtech', campus: 'YX', staff: 6 },
  { code: 'TH-ZHK', name: '综合科（天河）', kind: 'clinical', campus: 'TH', staff: 14 },
  { code: 'TH-NK', name: '口腔内科（天河）', kind: 'clinical', campus: 'TH', staff: 10 },
  { code: 'TH-HMWK', name: '口腔颌面外科（天河）', kind: 'clinical', campus: 'TH', staff: 10 },
  { code: 'TH-ZZK', name: '口腔种植科（天河）', kind: 'clinical', campus: 'TH', staff: 6 },
  { code: 'TH-ZJK', name: '正畸科（天河）', kind: 'clinical', campus: 'TH', staff: 8 },
  { code: 'TH-ETK', name: '儿童口腔科（天河）', kind: 'clinical', campus: 'TH', staff: 7 },
  { code: 'TH-FSK', name: '放射科（天河）', kind: 'medtech', campus: 'TH', staff: 4 },
];

const POSTS: [string, string][] = [
  ['YZ', '院长'], ['FYZ', '副院长'], ['ZR', '科主任'], ['FZR', '科副主任'], ['KZ', '科长'], ['KY', '科员'],
  ['HSZ', '护士长'], ['ZRYS', '主任医师'], ['FZRYS', '副主任医师'], ['ZZYS', '主治医师'], ['ZYYS', '住院医师'],
  ['ZGHS', '主管护师'], ['HS', '护师'], ['JS', '技师'], ['YS', '药师'], ['GR', '工勤人员'],
];

/** mulberry32: the demo hospital is the same on every machine. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoAccount {
  username: string;
  name: string;
  dept: string;
  post: string;
}

export interface DemoSummary {
  campuses: number;
  departments: number;
  staff: number;
  samples: DemoAccount[];
}

/**
 * Seed the demo hospital into an empty organisation. All demo staff share one password hash
 * (one random password, printed once at first start), so hashing 300 passwords costs nothing.
 */
export async function seedDemoHospital(
  db: Database,
  t: Transaction,
  opts: { passwordHash: string; staffRoleId: number; now: Date },
): Promise<DemoSummary> {
  const { Campus, Department, Post, User, UserRole } = db.models;
  const rand = rng(20261125);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

  const campuses = await Campus.bulkCreate(
    [
      { code: 'YX', name: '越秀院区（本部）', sort: 1 },
      { code: 'TH', name: '天河院区', sort: 2 },
    ],
    { transaction: t },
  );
  const campusId = (c: 'YX' | 'TH' | null) => (c ? campuses.find((x) => x.code === c)!.id : null);
  const root = await Department.create({ code: 'ROOT', name: '口腔医院', parentId: null, campusId: null, kind: 'admin', sort: 0 }, { transaction: t });
  const deptIds = new Map<string, number>();
  let sort = 1;
  for (const d of DEPARTMENTS) {
    const parentId = d.parent ? deptIds.get(d.parent)! : root.id;
    const row = await Department.create({ code: d.code, name: d.name, parentId, campusId: campusId(d.campus), kind: d.kind, sort: sort++ }, { transaction: t });
    deptIds.set(d.code, row.id);
  }
  const posts = await Post.bulkCreate(POSTS.map(([code, name]) => ({ code, name })), { transaction: t });
  const postId = (code: string) => posts.find((p) => p.code === code)!.id;

  const usedNames = new Set<string>();
  const makeName = () => {
    for (;;) {
      const n = pick(SURNAMES) + pick(GIVEN) + (rand() < 0.7 ? pick(GIVEN) : '');
      if (!usedNames.has(n)) {
        usedNames.add(n);
        return n;
      }
    }
  };
  let no = 10001;
  const people: { employeeNo: string; name: string; deptCode: string; post: string }[] = [];
  for (const d of DEPARTMENTS) {
    for (let i = 0; i < d.staff; i++) {
      let post: string;
      if (d.code === 'YZB' && i === 0) post = 'YZ';
      else if (d.code === 'YZB' && i <= 3) post = 'FYZ';
      else if (i === 0) post = d.kind === 'clinical' || d.kind === 'medtech' ? 'ZR' : 'KZ';
      else if (i === 1 && d.staff >= 8) post = d.kind === 'clinical' ? 'HSZ' : 'FZR';
      else if (d.kind === 'clinical') post = pick(['ZRYS', 'FZRYS', 'ZZYS', 'ZZYS', 'ZYYS', 'ZYYS', 'ZGHS', 'HS', 'HS']);
      else if (d.kind === 'medtech') post = d.code.endsWith('YJK') ? 'YS' : pick(['JS', 'JS', 'ZZYS']);
      else if (d.kind === 'logistics') post = pick(['KY', 'GR', 'GR']);
      else post = 'KY';
      people.push({ employeeNo: String(no++), name: makeName(), deptCode: d.code, post });
    }
  }
  const users = await User.bulkCreate(
    people.map((p) => ({
      username: p.employeeNo,
      employeeNo: p.employeeNo,
      name: p.name,
      deptId: deptIds.get(p.deptCode)!,
      postId: postId(p.post),
      mobile: `138${p.employeeNo.padStart(8, '0')}`,
      email: null,
      wecomUserId: null,
      passwordHash: opts.passwordHash,
      passwordChangedAt: opts.now,
      mustChangePassword: false,
      lockedUntil: null,
      createdAt: opts.now,
      updatedAt: opts.now,
    })),
    { transaction: t },
  );
  await UserRole.bulkCreate(users.map((u) => ({ userId: u.id, roleId: opts.staffRoleId })), { transaction: t });

  const deptName = new Map(DEPARTMENTS.map((d) => [d.code, d.name]));
  const postName = new Map(POSTS);
  const sample = (pred: (p: (typeof people)[number]) => boolean): DemoAccount => {
    const p = people.find(pred) ?? people[0]!;
    return { username: p.employeeNo, name: p.name, dept: deptName.get(p.deptCode)!, post: postName.get(p.post)! };
  };
  return {
    campuses: campuses.length,
    departments: DEPARTMENTS.length + 1,
    staff: users.length,
    samples: [
      sample((p) => p.deptCode === 'YX-YTYS' && p.post === 'ZYYS'),
      sample((p) => p.deptCode === 'YX-YTYS' && p.post === 'ZR'),
      sample((p) => p.post === 'YZ'),
    ],
  };
}
