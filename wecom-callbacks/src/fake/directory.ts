// The fake's contact directory (SPEC.md §7): departments and members, seedable with a deterministic
// dental hospital of any size (P4: 3,000+ WeCom users), and helpers for visible ranges.

export interface FakeDepartment {
  id: number;
  name: string;
  name_en?: string;
  parentid: number;
  order: number;
  department_leader: string[];
}

export interface FakeUser {
  userid: string;
  name: string;
  department: number[];
  order: number[];
  position: string;
  mobile: string;
  gender: '0' | '1' | '2';
  email: string;
  biz_mail: string;
  is_leader_in_dept: number[];
  direct_leader: string[];
  avatar: string;
  thumb_avatar: string;
  telephone: string;
  alias: string;
  address: string;
  open_userid: string;
  main_department: number;
  /** 1 active, 2 disabled, 4 not activated, 5 quit. */
  status: number;
  extattr: { attrs: Array<{ type: number; name: string; text?: { value: string } }> };
}

/** Fields that apps created after 2022-06-20 no longer receive from user/get and user/list (SPEC.md §7.2). */
export const SENSITIVE_USER_FIELDS = ['avatar', 'thumb_avatar', 'gender', 'mobile', 'email', 'biz_mail', 'qr_code', 'address'] as const;

export class Directory {
  readonly departments = new Map<number, FakeDepartment>();
  /** Keyed by lower-cased userid (WeCom userids are case-insensitive). */
  readonly users = new Map<string, FakeUser>();

  constructor(rootName = '口腔医院') {
    this.departments.set(1, { id: 1, name: rootName, parentid: 0, order: 100000000, department_leader: [] });
  }

  getUser(userid: string): FakeUser | undefined {
    return this.users.get(userid.toLowerCase());
  }

  addDepartment(d: Partial<FakeDepartment> & { id: number; name: string; parentid: number }): FakeDepartment {
    const dep: FakeDepartment = { order: d.id, department_leader: [], ...d };
    this.departments.set(dep.id, dep);
    return dep;
  }

  updateDepartment(id: number, patch: Partial<Omit<FakeDepartment, 'id'>>): FakeDepartment | undefined {
    const d = this.departments.get(id);
    if (!d) return undefined;
    Object.assign(d, patch);
    return d;
  }

  removeDepartment(id: number): boolean {
    return this.departments.delete(id);
  }

  addUser(u: Partial<FakeUser> & { userid: string; name: string; department: number[] }): FakeUser {
    const user: FakeUser = {
      order: u.department.map(() => 0),
      position: '',
      mobile: '',
      gender: '0',
      email: '',
      biz_mail: '',
      is_leader_in_dept: u.department.map(() => 0),
      direct_leader: [],
      avatar: '',
      thumb_avatar: '',
      telephone: '',
      alias: '',
      address: '',
      open_userid: `wo${u.userid.toLowerCase()}`,
      main_department: u.department[0] ?? 1,
      status: 1,
      extattr: { attrs: [] },
      ...u,
    };
    this.users.set(user.userid.toLowerCase(), user);
    return user;
  }

  /** Applies a patch; `newUserId` renames the member. */
  updateUser(userid: string, patch: Partial<FakeUser> & { newUserId?: string }): FakeUser | undefined {
    const u = this.getUser(userid);
    if (!u) return undefined;
    const { newUserId, ...rest } = patch;
    Object.assign(u, rest);
    if (newUserId && newUserId !== u.userid) {
      this.users.delete(u.userid.toLowerCase());
      u.userid = newUserId;
      this.users.set(newUserId.toLowerCase(), u);
    }
    return u;
  }

  removeUser(userid: string): boolean {
    return this.users.delete(userid.toLowerCase());
  }

  /** The department and all its descendants. */
  subtree(id: number): number[] {
    const children = new Map<number, number[]>();
    for (const d of this.departments.values()) {
      const list = children.get(d.parentid) ?? [];
      list.push(d.id);
      children.set(d.parentid, list);
    }
    const out: number[] = [];
    const stack = [id];
    while (stack.length) {
      const cur = stack.pop()!;
      if (!this.departments.has(cur)) continue;
      out.push(cur);
      stack.push(...(children.get(cur) ?? []));
    }
    return out;
  }

  /**
   * Seeds a deterministic dental hospital: two campuses with clinical and administrative departments
   * and `people` members (userid = employee number from 10001, also in extattr 工号).
   */
  seedHospital(people: number): void {
    const campuses = [
      { id: 2, name: '本部院区' },
      { id: 3, name: '东院区' },
    ];
    const clinical = ['牙体牙髓科', '牙周科', '口腔黏膜科', '儿童口腔科', '口腔颌面外科', '口腔修复科', '口腔正畸科', '口腔种植科', '口腔预防科', '综合科', '急诊科', '放射科'];
    const admin = ['院办公室', '党委办公室', '医务部', '护理部', '人力资源部', '财务部', '信息科', '后勤保障部', '药剂科', '检验科', '院感科', '设备科'];
    let id = 10;
    const leafIds: number[] = [];
    for (const c of campuses) {
      this.addDepartment({ id: c.id, name: c.name, parentid: 1, order: c.id * 1000 });
      for (const name of clinical) {
        this.addDepartment({ id, name, parentid: c.id, order: id });
        leafIds.push(id++);
      }
    }
    this.addDepartment({ id: 4, name: '职能部门', parentid: 1, order: 4000 });
    for (const name of admin) {
      this.addDepartment({ id, name, parentid: 4, order: id });
      leafIds.push(id++);
    }
    const surnames = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
    const given = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文辉玲萍红鹏飞宇晨浩然思雨欣怡子涵梓轩佳琪一诺雅婷俊杰志强海燕春梅晓东丹丹';
    const positions = ['主任医师', '副主任医师', '主治医师', '住院医师', '护士', '护师', '主管护师', '技师', '药师', '科员'];
    let seed = 20240601;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const leaders = new Map<number, string>();
    for (let i = 0; i < people; i++) {
      const employeeNo = String(10001 + i);
      const dep = leafIds[i % leafIds.length]!;
      const s = surnames[Math.floor(rand() * surnames.length)]!;
      const g1 = given[Math.floor(rand() * given.length)]!;
      const g2 = rand() < 0.6 ? given[Math.floor(rand() * given.length)]! : '';
      const leader = leaders.get(dep);
      if (!leader) leaders.set(dep, employeeNo);
      this.addUser({
        userid: employeeNo,
        name: s + g1 + g2,
        department: [dep],
        order: [0],
        position: leader ? positions[Math.floor(rand() * positions.length)]! : '科主任',
        mobile: `139${String(10_000_000 + i).slice(-8)}`,
        gender: rand() < 0.5 ? '1' : '2',
        email: `${employeeNo}@hospital.example`,
        is_leader_in_dept: [leader ? 0 : 1],
        direct_leader: leader ? [leader] : [],
        main_department: dep,
        extattr: { attrs: [{ type: 0, name: '工号', text: { value: employeeNo } }] },
      });
    }
    for (const [dep, userid] of leaders) this.departments.get(dep)!.department_leader = [userid];
  }
}
