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
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { migrate, openDatabase, Op, literal, type Database } from '@oa/db';
import { GIVEN, SURNAMES } from '../db/src/seed/names.ts';
import { PeopleSearch, type PeopleQuery } from '../server/src/org/search.ts';
import { LocalBus } from '../server/src/system/bus.ts';
import { systemClock } from '../server/src/clock.ts';
import { createApp } from '../server/src/app.ts';
import { loadConfig } from '../server/src/config.ts';
import { bootstrap } from '../server/src/bootstrap.ts';
import { hashPassword } from '../server/src/auth/passwords.ts';
import { directSuperior, leadersInCharge, levelsUp } from '../server/src/org/resolvers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MARIADB = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';
const PEOPLE = 5_000;
const DEPARTMENTS = 200;
const QUERIES_PER_KIND = 300;
const COLD_SAMPLES = 40;
const SEARCH_TARGET_P95_MS = 50;

// ---- shared helpers ---------------------------------------------------------------------------

interface Metric {
  name: string;
  value: number;
  unit: string;
  target?: number;
  better: 'higher' | 'lower';
}

/** one printed line: what, p50, p95, and a free note (baseline ratio, counts) */
type Row = [what: string, p50: string, p95: string, note: string];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

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
async function measurePeopleSearchHttp(ctx: BenchContext, out: Metric[], rows: Row[]): Promise<void> {
  const config = loadConfig({ DATA_DIR: ctx.dataDir, DB_URL: ctx.dbUrl, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off', NODE_ENV: 'production' });
  const app = await createApp({ config, db: ctx.db });
  const server = http.createServer(app.koa.callback());
  try {
    await bootstrap(app.deps, { demo: false });
    const { User, Role, UserRole } = ctx.db.models;
    const password = 'Bench#Passw0rd!';
    const user = await User.create({
      username: `bench_${process.pid}`,
      employeeNo: null,
      name: '压测员',
      deptId: null,
      postId: null,
      titleId: null,
      positionId: null,
      superiorId: null,
      successorId: null,
      gender: null,
      workPhone: null,
      mobile: null,
      email: null,
      wecomUserId: null,
      passwordHash: await hashPassword(password),
      passwordChangedAt: new Date(),
      lockedUntil: null,
    });
    await UserRole.create({ userId: user.id, roleId: (await Role.findOne({ where: { code: 'staff' } }))!.id });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password }) });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const cookie = login.headers.getSetCookie().map((s) => s.split(';')[0]).join('; ');
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
 * Everything measured on each database, in order. Each entry appends its metrics (names prefixed
 * with ctx.label) and its table rows. Still to come from issue 3's benchmark section:
 *   - resolvers: latency of "N levels up the chain" and "leader in charge of a department"
 *     (ctx.deptsByLevel gives five levels; every department has a head and a deputy, divisions
 *     have leaders in charge), target none named;
 *   - can(): warm cache (target 0.05 ms) and cold, metric names `${label}_can_warm_p50_ms` …;
 *   - the 3,000-row Excel import end to end (target 20 s).
 */
const MEASUREMENTS: { name: string; run: (ctx: BenchContext, out: Metric[], rows: Row[]) => Promise<void> }[] = [
  { name: 'people search (service)', run: measurePeopleSearch },
  { name: 'people search (HTTP)', run: measurePeopleSearchHttp },
  { name: 'resolvers', run: measureResolvers },
  // { name: 'access can()', run: measureCan },
  // { name: 'Excel import, 3,000 rows', run: measureImport },
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

// ---- databases ------------------------------------------------------------------------------------

async function mariadbReachable(): Promise<boolean> {
  const u = new URL(MARIADB);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 3306), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function onDatabase(label: BenchContext['label'], out: Metric[], rows: Row[]): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-bench-org-'));
  const auditKey = crypto.randomBytes(32);
  let dbUrl = `sqlite:${path.join(dataDir, 'bench.sqlite')}`;
  let dropName: string | undefined;
  if (label === 'mariadb') {
    dropName = `oa_bench_org_${process.pid}`;
    const admin = openDatabase({ url: MARIADB, dataDir, auditKey });
    await admin.sequelize.query(`CREATE DATABASE IF NOT EXISTS \`${dropName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.close();
    const u = new URL(MARIADB);
    u.pathname = `/${dropName}`;
    dbUrl = u.toString();
  }
  const db = openDatabase({ url: dbUrl, dataDir, auditKey });
  try {
    await migrate(db);
    const t0 = performance.now();
    const org = await seedOrganisation(db);
    console.log(`${label}: seeded ${org.people.length} people in ${org.deptsByLevel.flat().length} departments (${org.deptsByLevel.length} levels) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ctx: BenchContext = { label, db, dbUrl, dataDir, rand: rng(3), ...org };
    for (const m of MEASUREMENTS) {
      const t1 = performance.now();
      await m.run(ctx, out, rows);
      console.log(`${label}: ${m.name} measured in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    }
  } finally {
    await db.close();
    if (dropName) {
      const admin = openDatabase({ url: MARIADB, dataDir, auditKey });
      await admin.sequelize.query(`DROP DATABASE IF EXISTS \`${dropName}\``);
      await admin.close();
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`bench:org — ${PEOPLE} people, ${DEPARTMENTS} departments, ${QUERIES_PER_KIND} queries per kind, ${RUNS} runs (median of runs)`);
  const metrics: Metric[] = [];
  const rows: Row[] = [];
  const dbs: BenchContext['label'][] = ['sqlite'];
  if (await mariadbReachable()) dbs.push('mariadb');
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
