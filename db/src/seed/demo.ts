import type { Transaction } from 'sequelize';
import type { Database } from '../database.ts';
import type { DeptKind, TitleGrade } from '../models/index.ts';
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

// 岗位 (job posts), 职称 (professional titles), 职务 (administrative positions): three separate axes.
const POSTS: [string, string][] = [
  ['YSG', '医师岗'], ['HLG', '护理岗'], ['YJG', '医技岗'], ['YXG', '药学岗'], ['XZG', '行政管理岗'], ['GQG', '工勤技能岗'],
];
const TITLES: [string, string, TitleGrade][] = [
  ['ZRYS', '主任医师', 'senior'], ['FZRYS', '副主任医师', 'vice_senior'], ['ZZYS', '主治医师', 'intermediate'], ['ZYYS', '住院医师', 'junior'],
  ['ZRHS', '主任护师', 'senior'], ['ZGHS', '主管护师', 'intermediate'], ['HS', '护师', 'junior'],
  ['ZGJS', '主管技师', 'intermediate'], ['JS', '技师', 'junior'], ['ZGYS', '主管药师', 'intermediate'], ['YS', '药师', 'junior'],
  ['GJJJS', '高级经济师', 'vice_senior'], ['JJS', '经济师', 'intermediate'], ['KY', '科员', 'junior'],
];
const POSITIONS: [string, string, number][] = [
  ['YZ', '院长', 100], ['FYZ', '副院长', 90], ['KZR', '科主任', 50], ['FKZR', '科副主任', 45], ['KZ', '科长', 50], ['FKZ', '副科长', 45], ['HSZ', '护士长', 40],
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
  const { Campus, Department, Post, Title, Position, User, UserRole, DeptLeader, LeaderInCharge, UserDept } = db.models;
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
  await root.update({ path: `/${root.id}/`, level: 0 }, { transaction: t });
  const deptIds = new Map<string, number>();
  const deptPath = new Map<number, { path: string; level: number }>([[root.id, { path: `/${root.id}/`, level: 0 }]]);
  let sort = 1;
  for (const d of DEPARTMENTS) {
    const parentId = d.parent ? deptIds.get(d.parent)! : root.id;
    const parent = deptPath.get(parentId)!;
    const row = await Department.create({ code: d.code, name: d.name, parentId, campusId: campusId(d.campus), kind: d.kind, sort: sort++ }, { transaction: t });
    const path = `${parent.path}${row.id}/`;
    await row.update({ path, level: parent.level + 1 }, { transaction: t });
    deptPath.set(row.id, { path, level: parent.level + 1 });
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
  interface Person {
    employeeNo: string;
    name: string;
    deptCode: string;
    post: string;
    title: string | null;
    position: string | null;
  }
  const people: Person[] = [];
  for (const d of DEPARTMENTS) {
    const medical = d.kind === 'clinical' || d.kind === 'medtech';
    for (let i = 0; i < d.staff; i++) {
      let position: string | null = null;
      let post: string;
      let title: string | null;
      if (d.code === 'YZB' && i === 0) position = 'YZ';
      else if (d.code === 'YZB' && i <= 3) position = 'FYZ';
      else if (i === 0) position = medical ? 'KZR' : 'KZ';
      else if (i === 1 && d.staff >= 8) position = d.kind === 'clinical' ? 'HSZ' : medical ? 'FKZR' : 'FKZ';
      if (position === 'HSZ') {
        post = 'HLG';
        title = pick(['ZRHS', 'ZGHS']);
      } else if (d.kind === 'clinical') {
        const nurse = position === null && rand() < 0.35;
        post = nurse ? 'HLG' : 'YSG';
        title = nurse ? pick(['ZGHS', 'HS', 'HS']) : position ? pick(['ZRYS', 'FZRYS']) : pick(['ZRYS', 'FZRYS', 'ZZYS', 'ZZYS', 'ZYYS', 'ZYYS']);
      } else if (d.kind === 'medtech') {
        const pharmacy = d.code.endsWith('YJK');
        post = pharmacy ? 'YXG' : 'YJG';
        title = pharmacy ? pick(['ZGYS', 'YS']) : position ? pick(['ZRYS', 'ZGJS']) : pick(['ZGJS', 'JS', 'JS']);
      } else if (d.code === 'YZB' && position) {
        post = 'XZG';
        title = pick(['ZRYS', 'GJJJS']);
      } else if (d.kind === 'logistics') {
        post = position ? 'XZG' : 'GQG';
        title = position ? 'JJS' : null;
      } else {
        post = 'XZG';
        title = position ? pick(['GJJJS', 'JJS']) : pick(['JJS', 'KY', 'KY']);
      }
      people.push({ employeeNo: String(no++), name: makeName(), deptCode: d.code, post, title, position });
    }
  }
  const titles = await Title.bulkCreate(TITLES.map(([code, name, grade]) => ({ code, name, grade })), { transaction: t });
  const positions = await Position.bulkCreate(POSITIONS.map(([code, name, rank]) => ({ code, name, rank })), { transaction: t });
  const titleId = (code: string | null) => (code ? titles.find((x) => x.code === code)!.id : null);
  const positionId = (code: string | null) => (code ? positions.find((x) => x.code === code)!.id : null);
  const users = await User.bulkCreate(
    people.map((p) => ({
      username: p.employeeNo,
      employeeNo: p.employeeNo,
      name: p.name,
      deptId: deptIds.get(p.deptCode)!,
      postId: postId(p.post),
      titleId: titleId(p.title),
      positionId: positionId(p.position),
      superiorId: null,
      gender: rand() < 0.55 ? '女' : '男',
      workPhone: `020-8${p.employeeNo.slice(-4).padStart(7, '3')}`,
      successorId: null,
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

  // Department heads and deputies come from the positions; the deputy presidents each oversee a
  // share of the departments (分管领导); the president oversees the office and the deputies' areas
  // go up to the president through the department head chain.
  const userOf = new Map(people.map((p, i) => [p, users[i]!.id]));
  const leaders: { deptId: number; userId: number; kind: 'head' | 'deputy'; sort: number }[] = [];
  for (const p of people) {
    const deptId = deptIds.get(p.deptCode)!;
    if (p.position && ['YZ', 'KZR', 'KZ'].includes(p.position)) leaders.push({ deptId, userId: userOf.get(p)!, kind: 'head', sort: 0 });
    if (p.position && ['FKZR', 'FKZ', 'HSZ'].includes(p.position)) leaders.push({ deptId, userId: userOf.get(p)!, kind: 'deputy', sort: 1 });
  }
  const president = people.find((p) => p.position === 'YZ')!;
  leaders.push({ deptId: root.id, userId: userOf.get(president)!, kind: 'head', sort: 0 });
  await DeptLeader.bulkCreate(leaders, { transaction: t });
  const deputies = people.filter((p) => p.position === 'FYZ').map((p) => userOf.get(p)!);
  const charge: { userId: number; deptId: number }[] = [];
  DEPARTMENTS.filter((d) => !d.parent && d.code !== 'YZB').forEach((d, i) => {
    charge.push({ userId: deputies[i % deputies.length]!, deptId: deptIds.get(d.code)! });
  });
  charge.push({ userId: userOf.get(president)!, deptId: deptIds.get('YZB')! });
  await LeaderInCharge.bulkCreate(charge, { transaction: t });
  // a few clinicians also work in a second department (兼职)
  const secondary = people.filter((p) => p.deptCode === 'YX-ZZK' && !p.position).slice(0, 3);
  await UserDept.bulkCreate(secondary.map((p) => ({ userId: userOf.get(p)!, deptId: deptIds.get('TH-ZZK')! })), { transaction: t });

  const deptName = new Map(DEPARTMENTS.map((d) => [d.code, d.name]));
  const roleName = (p: Person) =>
    (p.position ? POSITIONS.find(([c]) => c === p.position)![1] : null) ?? (p.title ? TITLES.find(([c]) => c === p.title)![1] : POSTS.find(([c]) => c === p.post)![1]);
  const sample = (pred: (p: Person) => boolean): DemoAccount => {
    const p = people.find(pred) ?? people[0]!;
    return { username: p.employeeNo, name: p.name, dept: deptName.get(p.deptCode)!, post: roleName(p) };
  };
  return {
    campuses: campuses.length,
    departments: DEPARTMENTS.length + 1,
    staff: users.length,
    samples: [
      sample((p) => p.deptCode === 'YX-YTYS' && p.title === 'ZYYS' && !p.position),
      sample((p) => p.deptCode === 'YX-YTYS' && p.position === 'KZR'),
      sample((p) => p.position === 'FYZ'),
      sample((p) => p.position === 'YZ'),
    ],
  };
}
