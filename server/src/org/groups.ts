import { Op, inUnitOfWork, type Actor, type Database, type Transaction, type UserGroup, type UserStatus } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, forbidden, notFound, type FieldError } from '../http/errors.ts';
import type { Viewer } from './people.ts';

/**
 * 自定义角色组 (issue 3 item 1): named sets of people that shorten picking. A shared group
 * (ownerId null) is visible to everyone and maintained with org:manage; a personal group belongs
 * to the person who made it and is invisible to everyone else (404, org:manage included).
 */

export interface GroupMember {
  id: number;
  name: string;
  employeeNo: string | null;
  status: UserStatus;
  dept: { id: number; name: string } | null;
}

export interface GroupView {
  id: number;
  name: string;
  shared: boolean;
  ownerId: number | null;
  createdAt: Date;
  memberCount: number;
  members: GroupMember[];
}

export const GROUP_MEMBERS_MAX = 2000;

type GroupRow = Pick<UserGroup, 'id' | 'name' | 'ownerId' | 'createdAt'>;

export class GroupService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Shared groups first, then the viewer's own; by name within each. */
  async list(viewer: Viewer): Promise<GroupView[]> {
    const rows = (await this.db.models.UserGroup.findAll({
      where: { [Op.or]: [{ ownerId: null }, { ownerId: viewer.userId }] },
      order: [
        ['name', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    })) as GroupRow[];
    rows.sort((a, b) => Number(a.ownerId !== null) - Number(b.ownerId !== null));
    return this.views(rows);
  }

  async get(id: number, viewer: Viewer, t?: Transaction): Promise<GroupView> {
    const row = (await this.db.models.UserGroup.findByPk(id, { raw: true, transaction: t })) as GroupRow | null;
    if (!row || !visible(row, viewer)) throw notFound('分组不存在');
    return (await this.views([row], t))[0]!;
  }

  /** Members of all `rows` in three queries, whatever their number. */
  private async views(rows: GroupRow[], t?: Transaction): Promise<GroupView[]> {
    const { UserGroupMember, User, Department } = this.db.models;
    const ids = rows.map((r) => r.id);
    const links = ids.length ? await UserGroupMember.findAll({ where: { groupId: ids }, raw: true, transaction: t }) : [];
    const userIds = [...new Set(links.map((l) => l.userId))];
    const people = userIds.length
      ? await User.findAll({ where: { id: userIds }, attributes: ['id', 'name', 'employeeNo', 'status', 'deptId', 'sort', 'pinyin'], raw: true, transaction: t })
      : [];
    const deptIds = [...new Set(people.map((p) => p.deptId).filter((d): d is number => d !== null))];
    const depts = new Map(deptIds.length ? (await Department.findAll({ where: { id: deptIds }, attributes: ['id', 'name'], raw: true, transaction: t })).map((d) => [d.id, d.name]) : []);
    const byId = new Map(people.map((p) => [p.id, p]));
    const membersOf = new Map<number, typeof people>();
    for (const l of links) {
      const p = byId.get(l.userId);
      if (!p) continue;
      const list = membersOf.get(l.groupId) ?? [];
      list.push(p);
      membersOf.set(l.groupId, list);
    }
    return rows.map((g) => {
      const members = (membersOf.get(g.id) ?? []).sort((a, b) => a.sort - b.sort || (a.pinyin ?? '').localeCompare(b.pinyin ?? '') || a.id - b.id);
      return {
        id: g.id,
        name: g.name,
        shared: g.ownerId === null,
        ownerId: g.ownerId,
        createdAt: g.createdAt,
        memberCount: members.length,
        members: members.map((p) => ({
          id: p.id,
          name: p.name,
          employeeNo: p.employeeNo,
          status: p.status,
          dept: p.deptId !== null && depts.has(p.deptId) ? { id: p.deptId, name: depts.get(p.deptId)! } : null,
        })),
      };
    });
  }

  // ---------------------------------------------------------------- checks

  /** Members must exist and be active (people already in the group may stay after leaving). */
  private async checkMembers(memberIds: number[], t: Transaction, current: number[] = []): Promise<number[]> {
    const unique = [...new Set(memberIds)];
    const rows = unique.length ? await this.db.models.User.findAll({ where: { id: unique }, attributes: ['id', 'name', 'status'], raw: true, transaction: t }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const errors: FieldError[] = [];
    memberIds.forEach((id, i) => {
      const p = byId.get(id);
      if (!p) errors.push({ path: `memberIds[${i}]`, message: `人员（编号 ${id}）不存在` });
      else if (p.status !== 'active' && !current.includes(id)) errors.push({ path: `memberIds[${i}]`, message: `${p.name}已停用，不能加入分组` });
    });
    if (errors.length) throw badRequest(`分组成员有误：${errors[0]!.message}`, errors, 'INVALID_MEMBERS');
    return unique.sort((a, b) => a - b);
  }

  /** Names are unique among the shared groups, and among each person's own. */
  private async checkNameFree(name: string, ownerId: number | null, selfId: number | null, t: Transaction): Promise<void> {
    const other = await this.db.models.UserGroup.findOne({
      where: { name, ownerId, ...(selfId !== null ? { id: { [Op.ne]: selfId } } : {}) },
      attributes: ['id'],
      transaction: t,
    });
    if (other) throw conflict(ownerId === null ? `已有名为「${name}」的共享分组` : `您已有名为「${name}」的分组`, 'GROUP_NAME_TAKEN');
  }

  /** The group for a change: locked; invisible → 404; shared without org:manage → 403. */
  private async forChange(id: number, viewer: Viewer, t: Transaction): Promise<UserGroup> {
    const g = await this.db.models.UserGroup.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
    if (!g || !visible(g, viewer)) throw notFound('分组不存在');
    if (g.ownerId === null && !viewer.canManage) throw forbidden('共享分组只能由组织人事管理员修改', 'GROUP_SHARED_READONLY');
    return g;
  }

  private async memberIds(groupId: number, t: Transaction): Promise<number[]> {
    return (await this.db.models.UserGroupMember.findAll({ where: { groupId }, attributes: ['userId'], raw: true, transaction: t })).map((m) => m.userId).sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------- writing

  async create(input: { name: string; shared?: boolean; memberIds: number[] }, actor: Actor, viewer: Viewer): Promise<GroupView> {
    if (input.shared && !viewer.canManage) throw forbidden('只有组织人事管理员可以创建共享分组', 'GROUP_SHARED_FORBIDDEN');
    const { UserGroup, UserGroupMember } = this.db.models;
    const ownerId = input.shared ? null : viewer.userId;
    const id = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      await this.checkNameFree(input.name, ownerId, null, t);
      const members = await this.checkMembers(input.memberIds, t);
      const g = await UserGroup.create({ name: input.name, ownerId, createdAt: uow.now }, { transaction: t });
      if (members.length) await UserGroupMember.bulkCreate(members.map((userId) => ({ groupId: g.id, userId })), { transaction: t });
      uow.audit({ action: 'org.group.create', objectType: 'user_group', objectId: g.id, detail: { before: null, after: { name: g.name, ownerId, memberIds: members } } });
      return g.id;
    });
    return this.get(id, viewer);
  }

  async rename(id: number, name: string, actor: Actor, viewer: Viewer): Promise<GroupView> {
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const g = await this.forChange(id, viewer, t);
      if (g.name === name) return;
      await this.checkNameFree(name, g.ownerId, id, t);
      const before = { name: g.name };
      await g.update({ name }, { transaction: t });
      uow.audit({ action: 'org.group.update', objectType: 'user_group', objectId: id, detail: { before, after: { name } } });
    });
    return this.get(id, viewer);
  }

  async setMembers(id: number, memberIds: number[], actor: Actor, viewer: Viewer): Promise<GroupView> {
    const { UserGroupMember } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      await this.forChange(id, viewer, t);
      const before = await this.memberIds(id, t);
      const wanted = await this.checkMembers(memberIds, t, before);
      if (before.join() === wanted.join()) return;
      const drop = before.filter((u) => !wanted.includes(u));
      if (drop.length) await UserGroupMember.destroy({ where: { groupId: id, userId: drop }, transaction: t });
      const add = wanted.filter((u) => !before.includes(u));
      if (add.length) await UserGroupMember.bulkCreate(add.map((userId) => ({ groupId: id, userId })), { transaction: t });
      uow.audit({ action: 'org.group.members', objectType: 'user_group', objectId: id, detail: { before: { memberIds: before }, after: { memberIds: wanted } } });
    });
    return this.get(id, viewer);
  }

  async remove(id: number, actor: Actor, viewer: Viewer): Promise<void> {
    const { UserGroupMember } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const g = await this.forChange(id, viewer, t);
      const members = await this.memberIds(id, t);
      await UserGroupMember.destroy({ where: { groupId: id }, transaction: t });
      await g.destroy({ transaction: t });
      uow.audit({ action: 'org.group.delete', objectType: 'user_group', objectId: id, detail: { before: { name: g.name, ownerId: g.ownerId, memberIds: members }, after: null } });
    });
  }
}

function visible(g: { ownerId: number | null }, viewer: Viewer): boolean {
  return g.ownerId === null || g.ownerId === viewer.userId;
}
