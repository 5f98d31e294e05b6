// npm run bench:org — Organisation issue (3) benchmark (format: ../shared/BENCHMARKS.md).
// Seeds 5,000 people in 200 departments (five levels) into a temporary SQLite database and, when
// reachable, a MariaDB database created for the run and dropped after it; then runs every entry of
// MEASUREMENTS against each. People search: p50/p95 of the four query kinds over a few hundred
// varied queries each with the index loaded (warm), the first search after a department change
// (full index reload) and after a person's change (patch), with filters, and through HTTP; side
// by side with a baseline: the same search as one unindexed `LIKE '%q%'` scan per query (what a
// naive SQL implementation does).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Op, literal, type Database } from '@oa/db';
import { GIVEN, SURNAMES } from '../db/src/seed/names.ts';
import { median, quantile, reachable, round, type Metric, withBenchDatabase } from './common.ts';
import { PeopleSearch, type PeopleQuery } from '../server/src/org/search.ts';
import { LocalBus } from '../server/src/system/bus.ts';
import { systemClock } from '../server/src/clock.ts';
import { createApp } from '../server/src/app.ts';
import { loadConfig } from '../server/src/config.ts';
import { bootstrap } from '../server/src/bootstrap.ts';
import { hashPassword } from '../server/src/auth/passwords.ts';
import { directSuperior, leadersInCharge, levelsUp } from '../server/src/org/resolvers.ts';
import { importWorkbook } from '../server/src/org/excel-write.ts';
import { AccessService } from '../server/src/access/grants.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MARIADB = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';
const PEOPLE = 5_000;
const DEPARTMENTS = 200;
const QUERIES_PER_KIND = 300;
const COLD_SAMPLES = 40;
const SEARCH_TARGET_P95_MS = 50;

// ---- shared helpers ---------------------------------------------------------------------------

/** one printed line: what, p50, p95, and a free note (baseline ratio, counts) */
type Row = [what: string, p50: string, p95: string, note: string];

/** mulberry32: the same organisation and queries on every run */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Time `fn` over every input, `runs` times; p50 and p95 of each run, median over the runs. */
async function timeRuns<T>(inputs: T[], runs: number, fn: (x: T) => Promise<unknown>): Promise<{ p50: number; p95: number; samples: number }> {
  const p50s: number[] = [];
  const p95s: number[] = [];
  for (let r = 0; r < runs; r++) {
    const ms: number[] = [];
    for (const x of inputs) {
      const t0 = performance.now();
      await fn(x);
      ms.push(performance.now() - t0);
    }
    p50s.push(quantile(ms, 0.5));
    p95s.push(quantile(ms, 0.95));
  }
  return { p50: median(p50s), p95: median(p95s), samples: inputs.length };
}

// ---- the organisation ---------------------------------------------------------------------------

export interface SeededPerson {
  id: number;
  employeeNo: string;
  name: string;
  pinyin: string;
  initials: string;
  deptId: number;
}

/** What the measurements get: the database and the organisation seeded into it. */
export interface BenchContext {
  label: 'sqlite' | 'mariadb';
  db: Database;
  dbUrl: string;
  dataDir: string;
  rootId: number;
  /** department ids by level: [root], 6 divisions, 36 departments, 90 wards, 67 groups */
  deptsByLevel: number[][];
  people: SeededPerson[];
  /** people holding the role `bench_approver` (100) */
  approverIds: number[];
  rand: () => number;
}

/**
 * 200 departments in five levels (root, divisions, departments, wards, groups), a head and a
 * deputy for each, a leader in charge for each division, 5,000 people with Chinese names spread
 * over them, 200 with a secondary department, everyone with a role and 100 approvers.
 */
async function seedOrganisation(db: Database): Promise<Omit<BenchContext, 'label' | 'db' | 'dbUrl' | 'dataDir' | 'rand'>> {
  const { Campus, Department, Post, Title, Position, User, Role, UserRole, UserDept, DeptLeader, LeaderInCharge } = db.models;
  const rand = rng(20261126);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const STEMS = ['内科', '外科', '护理单元', '检验组', '门诊部', '病区', '药学组', '影像组', '行政组', '质控组', '后勤组', '教学组'];
  const now = new Date();
  return db.transaction(async (t) => {
    const campuses = await Campus.bulkCreate([{ code: 'A', name: '本部院区' }, { code: 'B', name: '东院区' }], { transaction: t });
    const posts = await Post.bulkCreate(['医师岗', '护理岗', '医技岗', '药学岗', '行政管理岗', '工勤技能岗'].map((name, i) => ({ code: `P${i}`, name })), { transaction: t });
    const titles = await Title.bulkCreate(['主任医师', '副主任医师', '主治医师', '住院医师', '主管护师', '护师'].map((name, i) => ({ code: `T${i}`, name, grade: null })), { transaction: t });
    const positions = await Position.bulkCreate(['院长', '副院长', '科主任', '护士长'].map((name, i) => ({ code: `Z${i}`, name, rank: 100 - i * 10 })), { transaction: t });

    const levelSizes = [1, 6, 36, 90, DEPARTMENTS - 1 - 6 - 36 - 90];
    const deptsByLevel: number[][] = [];
    const pathOf = new Map<number, string>();
    let n = 0;
    for (let level = 0; level < levelSizes.length; level++) {
      const ids: number[] = [];
      for (let i = 0; i < levelSizes[level]!; i++) {
        const parentId = level === 0 ? null : deptsByLevel[level - 1]![i % deptsByLevel[level - 1]!.length]!;
        const campusId = level === 1 && i < 4 ? campuses[i % 2]!.id : null;
        const row = await Department.create(
          { code: `D${++n}`, name: level === 0 ? '医院' : `${STEMS[n % STEMS.length]}${n}`, parentId, campusId, kind: 'clinical', sort: Math.floor(rand() * 10) },
          { transaction: t },
        );
        const p = `${parentId ? pathOf.get(parentId)! : '/'}${row.id}/`;
        await row.update({ path: p, level }, { transaction: t });
        pathOf.set(row.id, p);
        ids.push(row.id);
      }
      deptsByLevel.push(ids);
    }
    const nonRoot = deptsByLevel.slice(1).flat();

    const usedNames = new Set<string>();
    const makeName = () => {
      for (;;) {
        const name = pick(SURNAMES) + pick(GIVEN) + (rand() < 0.7 ? pick(GIVEN) : '');
        if (!usedNames.has(name)) {
          usedNames.add(name);
          return name;
        }
      }
    };
    const rows = Array.from({ length: PEOPLE }, (_, i) => {
      const employeeNo = String(200001 + i);
      return {
        username: employeeNo,
        employeeNo,
        name: makeName(),
        deptId: i < nonRoot.length ? nonRoot[i]! : pick(nonRoot),
        postId: pick(posts).id,
        titleId: rand() < 0.8 ? pick(titles).id : null,
        positionId: rand() < 0.05 ? pick(positions).id : null,
        superiorId: null,
        successorId: null,
        gender: null,
        workPhone: null,
        mobile: null,
        email: null,
        wecomUserId: null,
        passwordHash: null,
        passwordChangedAt: null,
        lockedUntil: null,
        status: rand() < 0.02 ? ('disabled' as const) : ('active' as const),
        sort: Math.floor(rand() * 100),
        createdAt: now,
        updatedAt: now,
      };
    });
    const people: SeededPerson[] = [];
    for (let i = 0; i < rows.length; i += 1000) {
      const created = await User.bulkCreate(rows.slice(i, i + 1000), { transaction: t });
      for (const u of created) people.push({ id: u.id, employeeNo: u.employeeNo!, name: u.name, pinyin: u.pinyin!, initials: u.pinyinInitials!, deptId: u.deptId! });
    }
    const [staff, approver] = await Role.bulkCreate(
      [
        { code: 'bench_staff', name: '员工', permissions: [] },
        { code: 'bench_approver', name: '审批人', permissions: [] },
      ],
      { transaction: t },
    );
    const approverIds = people.filter((_, i) => i % 50 === 7).map((p) => p.id);
    await UserRole.bulkCreate([...people.map((p) => ({ userId: p.id, roleId: staff!.id })), ...approverIds.map((userId) => ({ userId, roleId: approver!.id }))], { transaction: t });
    await UserDept.bulkCreate(
      people.filter((_, i) => i % 25 === 3).map((p) => ({ userId: p.id, deptId: nonRoot.find((d) => d !== p.deptId && rand() < 0.05) ?? nonRoot[0]! })),
      { transaction: t },
    );
    // heads and deputies (the first two people of each department), leaders in charge of divisions
    const byDept = new Map<number, number[]>();
    for (const p of people) (byDept.get(p.deptId) ?? byDept.set(p.deptId, []).get(p.deptId)!).push(p.id);
    const leaders: { deptId: number; userId: number; kind: 'head' | 'deputy'; sort: number }[] = [];
    for (const [deptId, ids] of byDept) {
      leaders.push({ deptId, userId: ids[0]!, kind: 'head', sort: 0 });
      if (ids[1] !== undefined) leaders.push({ deptId, userId: ids[1], kind: 'deputy', sort: 1 });
    }
    leaders.push({ deptId: deptsByLevel[0]![0]!, userId: people[0]!.id, kind: 'head', sort: 0 });
    await DeptLeader.bulkCreate(leaders, { transaction: t });
    await LeaderInCharge.bulkCreate(deptsByLevel[1]!.map((deptId, i) => ({ userId: people[1 + (i % 3)]!.id, deptId })), { transaction: t });
    return { rootId: deptsByLevel[0]![0]!, deptsByLevel, people, approverIds };
  });
}

// ---- people search ------------------------------------------------------------------------------

type Kind = 'employee_no' | 'chinese_name' | 'full_pinyin' | 'initials';
const KINDS: Kind[] = ['employee_no', 'chinese_name', 'full_pinyin', 'initials'];

/** A few hundred varied queries per kind: whole keys and the prefixes people type on the way. */
function searchQueries(ctx: BenchContext): Record<Kind, string[]> {
  const rand = rng(7);
  const pick = () => ctx.people[Math.floor(rand() * ctx.people.length)]!;
  const prefix = (s: string, min: number) => s.slice(0, Math.min(s.length, min + Math.floor(rand() * Math.max(1, s.length - min))));
  const make = (f: () => string) => Array.from({ length: QUERIES_PER_KIND }, f);
  return {
    // two in three whole numbers, the rest the first 4–5 digits
    employee_no: make(() => (rand() < 0.67 ? pick().employeeNo : pick().employeeNo.slice(0, 4 + Math.floor(rand() * 2)))),
    // whole names, surname + first given character (prefix), a given character alone (contains)
    chinese_name: make(() => {
      const name = pick().name;
      const r = rand();
      return r < 0.4 ? name : r < 0.7 ? name.slice(0, 2) : name.slice(-1);
    }),
    full_pinyin: make(() => (rand() < 0.5 ? pick().pinyin : prefix(pick().pinyin, 2))),
    initials: make(() => (rand() < 0.6 ? pick().initials : pick().initials.slice(0, 2))),
  };
}

/**
 * Baseline: the same search as plain SQL, the way a first version would write it: one unindexed
 * `LIKE '%q%'` scan over number, name, pinyin and initials, ranked in JavaScript, then one query
 * for the departments of the page shown.
 */
async function sqlScanSearch(db: Database, q: string, limit = 20): Promise<unknown[]> {
  const { User, Department } = db.models;
  const key = q.normalize('NFKC').trim().toLowerCase();
  // portable LIKE with an explicit escape character: % and _ in the input match themselves
  const pattern = `%${key.replace(/[!%_]/g, (c) => `!${c}`)}%`;
  const like = { [Op.like]: literal(`${db.sequelize.escape(pattern)} ESCAPE '!'`) };
  const rows = await User.findAll({
    where: { status: 'active', [Op.or]: [{ employeeNo: like }, { name: like }, { pinyin: like }, { pinyinInitials: like }] },
    attributes: ['id', 'name', 'employeeNo', 'deptId', 'sort', 'pinyin', 'pinyinInitials'],
    raw: true,
  });
  const rank = (u: (typeof rows)[number]) =>
    u.employeeNo === key ? 0 : u.name === key ? 1 : u.name.startsWith(key) ? 2 : u.pinyin?.startsWith(key) ? 3 : u.pinyinInitials === key ? 4 : u.pinyinInitials?.startsWith(key) ? 5 : u.employeeNo?.startsWith(key) ? 6 : u.name.includes(key) ? 7 : 8;
  const page = rows
    .map((u) => ({ u, r: rank(u) }))
    .filter((x) => x.r < 8)
    .sort((a, b) => a.r - b.r || (a.u.deptId ?? 0) - (b.u.deptId ?? 0) || a.u.sort - b.u.sort || a.u.id - b.u.id)
    .slice(0, limit);
  const deptIds = [...new Set(page.map((x) => x.u.deptId).filter((d): d is number => d !== null))];
  const depts = deptIds.length ? await Department.findAll({ where: { id: deptIds }, attributes: ['id', 'name'], raw: true }) : [];
  const deptName = new Map(depts.map((d) => [d.id, d.name]));
  return page.map(({ u }) => ({ id: u.id, name: u.name, employeeNo: u.employeeNo, dept: u.deptId ? { id: u.deptId, name: deptName.get(u.deptId) } : null }));
}

async function measurePeopleSearch(ctx: BenchContext, out: Metric[], rows: Row[]): Promise<void> {
  const svc = new PeopleSearch({ db: ctx.db, bus: new LocalBus(), clock: systemClock });
  const queries = searchQueries(ctx);
  const p = ctx.label;
  try {
    // the answers are right before they are fast
    const someone = ctx.people[1234]!;
    const check = async (q: PeopleQuery, expectId: number) => {
      const hits = await svc.search(q);
      if (hits[0]?.id !== expectId) throw new Error(`search ${JSON.stringify(q)} did not find ${expectId} first: ${JSON.stringify(hits.slice(0, 3))}`);
    };
    await check({ q: someone.employeeNo }, someone.id);
    await check({ q: someone.name }, someone.id);

    // cold: the first search after a change. A department change (or a start) reloads the whole
    // index; a change to a person re-reads that person only.
    const crand = rng(11);
    const coldQuery = (i: number) => queries[KINDS[i % KINDS.length]!][Math.floor(crand() * QUERIES_PER_KIND)]!;
    const full: number[] = [];
    const person: number[] = [];
    const { User } = ctx.db.models;
    for (let i = 0; i < COLD_SAMPLES; i++) {
      await svc.invalidate();
      let t0 = performance.now();
      await svc.search({ q: coldQuery(i) });
      full.push(performance.now() - t0);

      const who = ctx.people[Math.floor(crand() * ctx.people.length)]!;
      await User.update({ name: `${who.name}${i % 2 ? '' : '华'}`, sort: i }, { where: { id: who.id } });
      t0 = performance.now();
      await svc.search({ q: coldQuery(i) });
      person.push(performance.now() - t0);
    }
    for (const [key, label, xs] of [
      ['search_cold_full_reload', 'first after a department change (full reload)', full],
      ['search_after_person_change', "first after a person's change (patch)", person],
    ] as const) {
      const p50 = quantile(xs, 0.5);
      const p95 = quantile(xs, 0.95);
      out.push(
        { name: `${p}_${key}_p50_ms`, value: round(p50), unit: 'ms', better: 'lower' },
        { name: `${p}_${key}_p95_ms`, value: round(p95), unit: 'ms', target: SEARCH_TARGET_P95_MS, better: 'lower' },
      );
      rows.push([`${p} search, ${label}`, p50.toFixed(2), p95.toFixed(2), `${xs.length} samples`]);
    }

    // warm: one unmeasured pass, then RUNS measured passes over every query
    for (const kind of KINDS) for (const q of queries[kind]) await svc.search({ q });
    for (const kind of KINDS) {
      const warm = await timeRuns(queries[kind], RUNS, (q) => svc.search({ q }));
      const base = await timeRuns(queries[kind], Math.min(RUNS, 3), (q) => sqlScanSearch(ctx.db, q));
      out.push(
        { name: `${p}_search_${kind}_p50_ms`, value: round(warm.p50), unit: 'ms', better: 'lower' },
        { name: `${p}_search_${kind}_p95_ms`, value: round(warm.p95), unit: 'ms', target: SEARCH_TARGET_P95_MS, better: 'lower' },
        { name: `${p}_baseline_sql_like_scan_${kind}_p50_ms`, value: round(base.p50), unit: 'ms', better: 'lower' },
        { name: `${p}_baseline_sql_like_scan_${kind}_p95_ms`, value: round(base.p95), unit: 'ms', better: 'lower' },
        { name: `${p}_search_${kind}_p95_ratio_to_baseline`, value: round(warm.p95 / base.p95, 4), unit: 'ratio', better: 'lower' },
      );
      rows.push([`${p} search ${kind}`, warm.p50.toFixed(3), warm.p95.toFixed(3), `${warm.samples} queries × ${RUNS} runs`]);
      rows.push([`${p}   baseline LIKE scan ${kind}`, base.p50.toFixed(2), base.p95.toFixed(2), `index p95 = ${(warm.p95 / base.p95).toFixed(4)} × baseline`]);
    }

    // with filters: a department subtree (a division) and a role
    const division = ctx.deptsByLevel[1]![0]!;
    const mixed = KINDS.flatMap((k) => queries[k].slice(0, 75));
    const filtered = await timeRuns(mixed, RUNS, (q) => svc.search({ q, deptId: division }));
    const byRole = await timeRuns(mixed, RUNS, (q) => svc.search({ q, roleCode: 'bench_approver' }));
    out.push(
      { name: `${p}_search_dept_subtree_p95_ms`, value: round(filtered.p95), unit: 'ms', target: SEARCH_TARGET_P95_MS, better: 'lower' },
      { name: `${p}_search_role_p95_ms`, value: round(byRole.p95), unit: 'ms', target: SEARCH_TARGET_P95_MS, better: 'lower' },
    );
    rows.push([`${p} search + department subtree`, filtered.p50.toFixed(3), filtered.p95.toFixed(3), `${mixed.length} mixed queries`]);
    rows.push([`${p} search + role`, byRole.p50.toFixed(3), byRole.p95.toFixed(3), `${mixed.length} mixed queries`]);
  } finally {
    svc.dispose();
  }
}

/** End to end: GET /api/v1/org/people/search with a session cookie, one request at a time. */
const BENCH_PASSWORD = 'Bench#Passw0rd!';

/** A signed-in-able account with one role, for the HTTP measurements. */
async function benchUser(ctx: BenchContext, username: string, name: string, roleCode: string) {
  const { User, Role, UserRole } = ctx.db.models;
  const user = await User.create({ username, employeeNo: null, name, deptId: null, passwordHash: await hashPassword(BENCH_PASSWORD), passwordChangedAt: new Date() });
  await UserRole.create({ userId: user.id, roleId: (await Role.findOne({ where: { code: roleCode } }))!.id });
  return user;
}

async function signIn(base: string, username: string): Promise<{ cookie: string; csrf: string }> {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: BENCH_PASSWORD }) });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: ((await login.json()) as { csrfToken: string }).csrfToken };
}

async function measurePeopleSearchHttp(ctx: BenchContext, out: Metric[], rows: Row[]): Promise<void> {
  const config = loadConfig({ DATA_DIR: ctx.dataDir, DB_URL: ctx.dbUrl, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off', NODE_ENV: 'production' });
  const app = await createApp({ config, db: ctx.db });
  const server = http.createServer(app.koa.callback());
  try {
    await bootstrap(app.deps, { demo: false });
    const user = await benchUser(ctx, `bench_${process.pid}`, '压测员', 'staff');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { cookie } = await signIn(base, user.username);
    const queries = searchQueries(ctx);
    const mixed = KINDS.flatMap((k) => queries[k].slice(0, 100));
    const get = async (q: string) => {
      const r = await fetch(`${base}/api/v1/org/people/search?q=${encodeURIComponent(q)}`, { headers: { cookie } });
      if (r.status !== 200) throw new Error(`search ${q}: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    };
    for (const q of mixed) await get(q); // warm: index, sessions, JIT
    const warm = await timeRuns(mixed, RUNS, get);
    out.push(
      { name: `${ctx.label}_http_search_p50_ms`, value: round(warm.p50), unit: 'ms', better: 'lower' },
      { name: `${ctx.label}_http_search_p95_ms`, value: round(warm.p95), unit: 'ms', target: SEARCH_TARGET_P95_MS, better: 'lower' },
    );
    rows.push([`${ctx.label} GET /api/v1/org/people/search`, warm.p50.toFixed(2), warm.p95.toFixed(2), `${mixed.length} mixed queries × ${RUNS} runs, sequential`]);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await app.close();
  }
}

/**
 * Everything measured on each database, in order (issue 3's benchmark section). Each entry
 * appends its metrics (names prefixed with ctx.label) and its table rows.
 */
const MEASUREMENTS: { name: string; run: (ctx: BenchContext, out: Metric[], rows: Row[]) => Promise<void> }[] = [
  { name: 'people search (service)', run: measurePeopleSearch },
  { name: 'people search (HTTP)', run: measurePeopleSearchHttp },
  { name: 'resolvers', run: measureResolvers },
  { name: 'access can()', run: measureCan },
  { name: 'Excel import, 3,000 rows', run: measureImport },
];

// ---- resolvers ------------------------------------------------------------------------------------

/**
 * What the workflow engine pays to find an approver: direct superior, 3 levels up (逐级), up to a
 * deputy president (rank 90) and the leader in charge of a department, for 300 people each;
 * baseline: one primary-key read of a person (the floor for any answer that touches the database).
 */
async function measureResolvers(ctx: BenchContext, out: Metric[], rows: Row[]): Promise<void> {
  const r = rng(23);
  const sample = Array.from({ length: 300 }, () => ctx.people[Math.floor(r() * ctx.people.length)]!);
  const depts = ctx.deptsByLevel.flat();
  const time = async (f: (i: number) => Promise<unknown>): Promise<number[]> => {
    for (let i = 0; i < 20; i++) await f(i); // warm-up
    const xs: number[] = [];
    for (let i = 0; i < sample.length; i++) {
      const t0 = performance.now();
      await f(i);
      xs.push(performance.now() - t0);
    }
    return xs;
  };
  const cases: [string, string, (i: number) => Promise<unknown>][] = [
    ['pk_read_baseline', 'baseline: one findByPk', (i) => ctx.db.models.User.findByPk(sample[i % sample.length]!.id, { raw: true })],
    ['resolve_direct_superior', 'direct superior', (i) => directSuperior(ctx.db, sample[i % sample.length]!.id)],
    ['resolve_levels_up_3', '逐级 3 levels up', (i) => levelsUp(ctx.db, sample[i % sample.length]!.id, { levels: 3 })],
    ['resolve_until_rank_90', '逐级 up to a deputy president', (i) => levelsUp(ctx.db, sample[i % sample.length]!.id, { untilRank: 90 })],
    ['resolve_leader_in_charge', 'leader in charge of a department', (i) => leadersInCharge(ctx.db, depts[i % depts.length]!)],
  ];
  for (const [key, label, f] of cases) {
    const xs = await time(f);
    const p50 = quantile(xs, 0.5);
    const p95 = quantile(xs, 0.95);
    out.push({ name: `${ctx.label}_${key}_p50_ms`, value: round(p50), unit: 'ms', better: 'lower' });
    out.push({ name: `${ctx.label}_${key}_p95_ms`, value: round(p95), unit: 'ms', better: 'lower' });
    rows.push([`${ctx.label} ${label}`, p50.toFixed(2), p95.toFixed(2), '']);
  }
}

// ---- Excel import ---------------------------------------------------------------------------------

const IMPORT_PEOPLE = 3_000;
const IMPORT_TARGET_MS = 20_000;

/**
 * The 3,000-row Excel import end to end through HTTP, as an organisation administrator does it:
 * upload the workbook (20 new departments under existing ones, 3,000 new people with posts,
 * titles, superiors, some secondary departments, and a 角色 sheet row each), POST the dry run, POST
 * the real run (one unit of work with an audit row per person), then the same file again (nothing
 * to change). Baseline: a plain User.bulkCreate of the same 3,000 rows in one transaction (rolled
 * back), which is the floor for writing them at all.
 */
async function measureImport(ctx: BenchContext, out: Metric[], rows: Row[]): Promise<void> {
  const { User, Department, Post, Title } = ctx.db.models;
  const r = rng(41);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const deptCodes = (await Department.findAll({ where: { level: { [Op.gte]: 2 } }, attributes: ['code'], raw: true })).map((d) => d.code);
  const postCodes = (await Post.findAll({ attributes: ['code'], raw: true })).map((p) => p.code);
  const titleCodes = (await Title.findAll({ attributes: ['code'], raw: true })).map((p) => p.code);
  const newDepts = Array.from({ length: 20 }, (_, i) => [`IMP${i}`, `导入病区${i}`, pick(deptCodes), '临床', null, i]);
  const allDepts = [...deptCodes, ...newDepts.map((d) => d[0] as string)];
  const used = new Set<string>();
  const name = () => {
    for (;;) {
      const n = pick(SURNAMES) + pick(GIVEN) + (r() < 0.7 ? pick(GIVEN) : '');
      if (!used.has(n)) return used.add(n), n;
    }
  };
  const no = (i: number) => String(700001 + i);
  const people = Array.from({ length: IMPORT_PEOPLE }, (_, i) => {
    const dept = pick(allDepts);
    return [
      no(i),
      name(),
      r() < 0.55 ? '女' : '男',
      dept,
      i % 10 === 3 ? pick(allDepts.filter((d) => d !== dept)) : null,
      pick(postCodes),
      r() < 0.8 ? pick(titleCodes) : null,
      null,
      i % 20 === 0 ? null : no(i - (i % 20)), // groups of 20 under their first person
      `139${String(i).padStart(8, '0')}`,
      null,
      null,
      '在职',
    ];
  });
  const roleRows = people.map((p) => [p[0], 'bench_staff', null, null]);
  const buffer = await importWorkbook({ departments: newDepts, people, roles: roleRows });
  // the same people a month later: every mobile number and one in ten names changed
  const changed = await importWorkbook({
    departments: newDepts,
    people: people.map((p, i) => p.map((v, c) => (c === 9 ? `137${String(i).padStart(8, '0')}` : c === 1 && i % 10 === 0 ? `${v as string}华` : v))),
    roles: roleRows,
  });

  // baseline: the same people written by one bulkCreate, rolled back
  const now = new Date();
  const plain = people.map((p) => ({
    username: `b${p[0]}`,
    employeeNo: `b${p[0]}`,
    name: p[1] as string,
    gender: p[2] as string,
    deptId: null,
    postId: null,
    titleId: null,
    positionId: null,
    superiorId: null,
    successorId: null,
    workPhone: null,
    mobile: p[9] as string,
    email: null,
    wecomUserId: null,
    passwordHash: null,
    passwordChangedAt: null,
    lockedUntil: null,
    createdAt: now,
    updatedAt: now,
  }));
  let baselineMs = 0;
  await ctx.db
    .transaction(async (t) => {
      const t0 = performance.now();
      for (let i = 0; i < plain.length; i += 1000) await User.bulkCreate(plain.slice(i, i + 1000), { transaction: t });
      baselineMs = performance.now() - t0;
      throw new Error('rollback');
    })
    .catch((err: unknown) => {
      if (!(err instanceof Error) || err.message !== 'rollback') throw err;
    });

  const config = loadConfig({ DATA_DIR: ctx.dataDir, DB_URL: ctx.dbUrl, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off', NODE_ENV: 'production' });
  const app = await createApp({ config, db: ctx.db });
  const server = http.createServer(app.koa.callback());
  try {
    await bootstrap(app.deps, { demo: false });
    const user = await benchUser(ctx, `bench_import_${process.pid}`, '导入员', 'orgadmin');
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { cookie, csrf } = await signIn(base, user.username);
    const headers = { cookie, 'x-csrf-token': csrf };
    /** upload + import + poll until done: what the administrator waits for */
    const runImport = async (dryRun: boolean, buffer: Buffer) => {
      const t0 = performance.now();
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(buffer)]), 'org.xlsx');
      const up = await fetch(`${base}/api/v1/files`, { method: 'POST', headers, body: form });
      if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
      const { id: fileId } = (await up.json()) as { id: number };
      const res = await fetch(`${base}/api/v1/org/excel/import?dryRun=${dryRun}&wait=5`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ fileId }) });
      let job = (await res.json()) as { id: string; status: string; error: string | null; report: { ok: boolean; problemCount: number; problems: unknown[]; changes: number; counts: { people: unknown } } | null };
      if (res.status !== 200 && res.status !== 202) throw new Error(`import: ${res.status} ${JSON.stringify(job)}`);
      while (job.status !== 'done' && job.status !== 'failed') {
        await new Promise((w) => setTimeout(w, 50));
        job = (await (await fetch(`${base}/api/v1/org/excel/import/${job.id}`, { headers })).json()) as typeof job;
      }
      if (job.status !== 'done' || !job.report?.ok) throw new Error(`import failed: ${job.error ?? JSON.stringify(job.report?.problems.slice(0, 5))}`);
      return { ms: performance.now() - t0, report: job.report };
    };
    const dry = await runImport(true, buffer);
    const real = await runImport(false, buffer);
    const again = await runImport(false, buffer);
    if (again.report.changes !== 0) throw new Error(`second import changed ${again.report.changes} rows`);
    const update = await runImport(false, changed);
    const p = ctx.label;
    out.push(
      { name: `${p}_import_3000_dry_run_ms`, value: round(dry.ms, 1), unit: 'ms', better: 'lower' },
      { name: `${p}_import_3000_real_run_ms`, value: round(real.ms, 1), unit: 'ms', target: IMPORT_TARGET_MS, better: 'lower' },
      { name: `${p}_import_3000_second_run_noop_ms`, value: round(again.ms, 1), unit: 'ms', better: 'lower' },
      { name: `${p}_import_3000_update_run_ms`, value: round(update.ms, 1), unit: 'ms', target: IMPORT_TARGET_MS, better: 'lower' },
      { name: `${p}_baseline_bulkcreate_3000_ms`, value: round(baselineMs, 1), unit: 'ms', better: 'lower' },
      { name: `${p}_import_3000_real_run_ratio_to_baseline`, value: round(real.ms / baselineMs, 2), unit: 'ratio', better: 'lower' },
    );
    rows.push([`${p} Excel import 3,000 rows: dry run`, dry.ms.toFixed(0), '-', `upload + check, end to end over HTTP`]);
    rows.push([`${p} Excel import 3,000 rows: real run`, real.ms.toFixed(0), '-', `${JSON.stringify(real.report.counts)}`]);
    rows.push([`${p} Excel import 3,000 rows: same file again`, again.ms.toFixed(0), '-', '0 changes']);
    rows.push([`${p} Excel import 3,000 rows: every person changed`, update.ms.toFixed(0), '-', `${JSON.stringify(update.report.counts.people)}`]);
    rows.push([`${p}   baseline User.bulkCreate 3,000`, baselineMs.toFixed(0), '-', `import = ${(real.ms / baselineMs).toFixed(1)} × baseline`]);
  } finally {
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
    await app.close();
  }
}

// ---- access control: can() ------------------------------------------------------------------------

const CAN_PAIRS = 3_000;
const CAN_COLD_SAMPLES = 300;
const CAN_TARGET_WARM_MS = 0.05;

/**
 * can() on the 5,000-person organisation with a resource tree below it: 3 folders under each of
 * the 36 departments (level 2), 10 documents in each folder (1,080), grants of every subject kind
 * (department subtree, person, role, post, everyone) and some denies, admin ranges (manage on
 * divisions). Measured over 3,000 (person, resource, action) pairs: warm (both caches loaded),
 * cold (everything dropped before each call: the person's subjects and the resource's chain are
 * read again), after a grant change (resource entries dropped, people's subjects kept); baseline:
 * the same answer computed by queries alone (canUncached), with no cache.
 */
async function measureCan(ctx: BenchContext, out: Metric[], rows: Row[]): Promise<void> {
  const { AccessGrant, ResourceNode, Post } = ctx.db.models;
  const access = new AccessService({ db: ctx.db, bus: new LocalBus(), clock: systemClock });
  access.registerResourceType({ type: 'folder', name: '文件夹' });
  access.registerResourceType({ type: 'doc', name: '文档' });
  const r = rng(31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  try {
    const depts = ctx.deptsByLevel[2]!;
    const folders: string[] = [];
    const docs: string[] = [];
    const nodes: { resourceType: string; resourceId: string; parentType: string; parentId: string }[] = [];
    const grants: { resourceType: string; resourceId: string; subjectType: 'user' | 'dept' | 'role' | 'post' | 'everyone'; subjectId: number; subtree: boolean; action: string; effect: 'allow' | 'deny'; createdAt: Date; createdBy: null }[] = [];
    const now = new Date();
    const g = (resourceType: string, resourceId: string | number, subjectType: (typeof grants)[number]['subjectType'], subjectId: number, action: string, effect: 'allow' | 'deny' = 'allow', subtree = false) =>
      grants.push({ resourceType, resourceId: String(resourceId), subjectType, subjectId, subtree, action, effect, createdAt: now, createdBy: null });
    const posts = await Post.findAll({ attributes: ['id'], raw: true });
    const approverRole = (await ctx.db.models.Role.findOne({ where: { code: 'bench_approver' }, attributes: ['id'], raw: true }))!.id;
    for (const d of depts) {
      g('dept', d, 'dept', d, 'view', 'allow', true); // everyone in a department sees it
      for (let f = 0; f < 3; f++) {
        const folder = `${d}-${f}`;
        folders.push(folder);
        nodes.push({ resourceType: 'folder', resourceId: folder, parentType: 'dept', parentId: String(d) });
        g('folder', folder, 'dept', d, 'edit', 'allow', true);
        if (f === 2) g('folder', folder, 'role', approverRole, 'view');
        for (let i = 0; i < 10; i++) {
          const doc = `${folder}-${i}`;
          docs.push(doc);
          nodes.push({ resourceType: 'doc', resourceId: doc, parentType: 'folder', parentId: folder });
          if (i === 0) g('doc', doc, 'everyone', 0, 'view');
          if (i === 1) g('doc', doc, 'post', pick(posts).id, 'view');
          if (i % 3 === 2) g('doc', doc, 'user', pick(ctx.people).id, 'edit');
          if (i === 9) g('doc', doc, 'dept', d, 'edit', 'deny', true); // a locked document
        }
      }
    }
    // admin ranges: a manager for each division
    for (const div of ctx.deptsByLevel[1]!) g('dept', div, 'user', pick(ctx.people).id, 'manage');
    await ResourceNode.bulkCreate(nodes);
    for (let i = 0; i < grants.length; i += 1000) await AccessGrant.bulkCreate(grants.slice(i, i + 1000));

    const allDepts = ctx.deptsByLevel.flat();
    const ACTIONS = ['view', 'view', 'view', 'edit', 'manage'];
    const pairs = Array.from({ length: CAN_PAIRS }, () => {
      const x = r();
      const resource = x < 0.7 ? { type: 'doc', id: pick(docs) } : x < 0.9 ? { type: 'folder', id: pick(folders) } : { type: 'dept', id: pick(allDepts) };
      return { userId: pick(ctx.people).id, action: pick(ACTIONS), resource };
    });

    // the answers are right before they are fast: the cache agrees with the queries
    let yes = 0;
    for (const p of pairs.slice(0, 500)) {
      const cached = await access.can(p.userId, p.action, p.resource);
      const direct = await access.canUncached(p.userId, p.action, p.resource);
      if (cached !== direct) throw new Error(`can() disagrees with the queries for ${JSON.stringify(p)}: ${cached} vs ${direct}`);
      if (cached) yes++;
    }

    // warm: one unmeasured pass loads every entry, then RUNS measured passes
    for (const p of pairs) await access.can(p.userId, p.action, p.resource);
    const warm = await timeRuns(pairs, RUNS, (p) => access.can(p.userId, p.action, p.resource));

    // cold: everything dropped before each call
    const coldPairs = pairs.slice(0, CAN_COLD_SAMPLES);
    const cold: number[] = [];
    for (const p of coldPairs) {
      await access.invalidate();
      const t0 = performance.now();
      await access.can(p.userId, p.action, p.resource);
      cold.push(performance.now() - t0);
    }
    // after a grant change: the grant written (and removed) through the models, caught by the hooks
    for (const p of pairs) await access.can(p.userId, p.action, p.resource);
    const afterGrant: number[] = [];
    for (const [i, p] of coldPairs.entries()) {
      const extra = await AccessGrant.create({ resourceType: 'doc', resourceId: `bench-${i}`, subjectType: 'everyone', subjectId: 0, subtree: false, action: 'view', effect: 'allow', createdAt: new Date(), createdBy: null });
      const t0 = performance.now();
      await access.can(p.userId, p.action, p.resource);
      afterGrant.push(performance.now() - t0);
      await extra.destroy();
    }
    // baseline: the same answer from the database alone
    const base = await timeRuns(pairs.slice(0, 1000), Math.min(RUNS, 3), (p) => access.canUncached(p.userId, p.action, p.resource));

    // admin ranges and a list filter (warm): managesDept and allowedIds
    const managers = grants.filter((x) => x.resourceType === 'dept' && x.action === 'manage').map((x) => x.subjectId);
    const ranges = await timeRuns(
      Array.from({ length: 1000 }, (_, i) => ({ userId: managers[i % managers.length]!, deptId: pick(allDepts) })),
      RUNS,
      (x) => access.managesDept(x.userId, x.deptId),
    );
    const listUsers = pairs.slice(0, 100).map((p) => p.userId);
    for (const u of listUsers) await access.allowedIds(u, 'view', 'doc');
    const lists = await timeRuns(listUsers, RUNS, (u) => access.allowedIds(u, 'view', 'doc'));

    const p = ctx.label;
    const coldP50 = quantile(cold, 0.5);
    const coldP95 = quantile(cold, 0.95);
    const agP50 = quantile(afterGrant, 0.5);
    const agP95 = quantile(afterGrant, 0.95);
    out.push(
      { name: `${p}_can_warm_p50_ms`, value: round(warm.p50, 5), unit: 'ms', target: CAN_TARGET_WARM_MS, better: 'lower' },
      { name: `${p}_can_warm_p95_ms`, value: round(warm.p95, 5), unit: 'ms', target: CAN_TARGET_WARM_MS, better: 'lower' },
      { name: `${p}_can_cold_p50_ms`, value: round(coldP50), unit: 'ms', better: 'lower' },
      { name: `${p}_can_cold_p95_ms`, value: round(coldP95), unit: 'ms', better: 'lower' },
      { name: `${p}_can_after_grant_change_p50_ms`, value: round(agP50), unit: 'ms', better: 'lower' },
      { name: `${p}_can_after_grant_change_p95_ms`, value: round(agP95), unit: 'ms', better: 'lower' },
      { name: `${p}_baseline_can_uncached_p50_ms`, value: round(base.p50), unit: 'ms', better: 'lower' },
      { name: `${p}_baseline_can_uncached_p95_ms`, value: round(base.p95), unit: 'ms', better: 'lower' },
      { name: `${p}_can_warm_p95_ratio_to_baseline`, value: round(warm.p95 / base.p95, 5), unit: 'ratio', better: 'lower' },
      { name: `${p}_manages_dept_warm_p95_ms`, value: round(ranges.p95, 5), unit: 'ms', better: 'lower' },
      { name: `${p}_allowed_ids_warm_p95_ms`, value: round(lists.p95, 5), unit: 'ms', better: 'lower' },
    );
    rows.push([`${p} can() warm`, warm.p50.toFixed(4), warm.p95.toFixed(4), `${pairs.length} pairs × ${RUNS} runs, ${grants.length} grants, ${docs.length} documents; ${yes}/500 checked pairs allowed`]);
    rows.push([`${p} can() cold (all dropped)`, coldP50.toFixed(3), coldP95.toFixed(3), `${cold.length} samples`]);
    rows.push([`${p} can() after a grant change`, agP50.toFixed(3), agP95.toFixed(3), `${afterGrant.length} samples (resource entries reloaded)`]);
    rows.push([`${p}   baseline: queries, no cache`, base.p50.toFixed(3), base.p95.toFixed(3), `warm p95 = ${(warm.p95 / base.p95).toFixed(5)} × baseline`]);
    rows.push([`${p} managesDept() warm`, ranges.p50.toFixed(4), ranges.p95.toFixed(4), '1000 (manager, department) pairs']);
    rows.push([`${p} allowedIds(view, doc) warm`, lists.p50.toFixed(4), lists.p95.toFixed(4), '100 people (cached list)']);
  } finally {
    access.dispose();
  }
}

// ---- databases ------------------------------------------------------------------------------------

async function onDatabase(label: BenchContext['label'], out: Metric[], rows: Row[]): Promise<void> {
  await withBenchDatabase(label, 'org', MARIADB, async ({ db, dbUrl, dataDir }) => {
    const t0 = performance.now();
    const org = await seedOrganisation(db);
    console.log(`${label}: seeded ${org.people.length} people in ${org.deptsByLevel.flat().length} departments (${org.deptsByLevel.length} levels) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ctx: BenchContext = { label, db, dbUrl, dataDir, rand: rng(3), ...org };
    for (const m of MEASUREMENTS) {
      const t1 = performance.now();
      await m.run(ctx, out, rows);
      console.log(`${label}: ${m.name} measured in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    }
  });
}

async function main() {
  console.log(`bench:org — ${PEOPLE} people, ${DEPARTMENTS} departments, ${QUERIES_PER_KIND} queries per kind, ${RUNS} runs (median of runs)`);
  const metrics: Metric[] = [];
  const rows: Row[] = [];
  const dbs: BenchContext['label'][] = ['sqlite'];
  if (await reachable(MARIADB)) dbs.push('mariadb');
  else console.log(`MariaDB not reachable at ${MARIADB}: measuring SQLite only`);
  for (const label of dbs) await onDatabase(label, metrics, rows);

  const result = {
    name: 'org',
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, node ${process.version}`,
    db: dbs.join('+'),
    runs: RUNS,
    people: PEOPLE,
    departments: DEPARTMENTS,
    queries_per_kind: QUERIES_PER_KIND,
    metrics,
  };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/org.json'), JSON.stringify(result, null, 2) + '\n');
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(['what'.padEnd(width), 'p50 ms'.padStart(8), 'p95 ms'.padStart(8), '  note'].join(' '));
  for (const [what, p50, p95, note] of rows) console.log([what.padEnd(width), p50.padStart(8), p95.padStart(8), `  ${note}`].join(' '));
  const missed = metrics.filter((m) => m.target !== undefined && (m.better === 'lower' ? m.value > m.target : m.value < m.target));
  console.log(missed.length ? `targets missed: ${missed.map((m) => `${m.name}=${m.value}`).join(', ')}` : 'all targets met');
  console.log('written bench/results/org.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
