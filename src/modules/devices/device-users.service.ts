import type { Device, PrismaClient } from '../../generated/prisma/client.js'
import { isIsapiError, type IsapiCapabilities, type IsapiClient, type IsapiUser, type IsapiUserInput } from '../../integrations/isapi/index.js'
import type { ActorContext } from '../../lib/context.js'
import { AppError, badRequest, notFound, unprocessable } from '../../lib/errors.js'
import { decodeBase64Image, normaliseFacePhoto } from '../../lib/face-photo.js'
import { skip } from '../../lib/schemas.js'
import { recordAudit } from '../audit/audit.repository.js'
import type { DeviceConnector } from './device-connector.js'
import type { DeviceUserDto, DeviceUsersQuery, UpdateDeviceUserInput } from './device-users.schemas.js'
import type { DevicesService } from './devices.service.js'

// What terminals show for a person created without validity: the widest range they accept.
const OPEN_VALIDITY = { beginTime: '2000-01-01T00:00:00', endTime: '2037-12-31T23:59:59' }
const USER_TYPES = ['normal', 'visitor', 'blackList'] as const

type MatchedStudent = NonNullable<DeviceUserDto['student']>

const hasFace = (u: IsapiUser) => (u.numOfFace !== null ? u.numOfFace > 0 : u.faceURL !== null ? true : null)

const toDto = (u: IsapiUser, student: MatchedStudent | undefined): DeviceUserDto => ({
  employeeNo: u.employeeNo,
  name: u.name,
  gender: u.gender,
  userType: u.userType,
  valid: u.valid && { enable: u.valid.enable, beginTime: u.valid.beginTime, endTime: u.valid.endTime },
  hasFace: hasFace(u),
  numOfCard: u.numOfCard,
  numOfFP: u.numOfFP,
  student: student ?? null,
})

/** The edited record: what was on the device, with the requested changes. */
function mergeUser (current: IsapiUser, employeeNo: string, input: UpdateDeviceUserInput): IsapiUserInput {
  const userType = USER_TYPES.find((t) => t === current.userType) ?? 'normal'
  return {
    employeeNo,
    name: input.name ?? current.name,
    gender: input.gender === undefined ? current.gender : input.gender,
    valid: {
      enable: input.valid?.enable ?? current.valid?.enable ?? true,
      beginTime: input.valid?.beginTime ?? current.valid?.beginTime ?? OPEN_VALIDITY.beginTime,
      endTime: input.valid?.endTime ?? current.valid?.endTime ?? OPEN_VALIDITY.endTime,
    },
    userType,
    ...(current.doorRight && { doorRight: current.doorRight }),
    ...(current.rightPlan.length > 0 && { rightPlan: current.rightPlan }),
    ...(current.localUIRight !== null && { localUIRight: current.localUIRight }),
  }
}

const auditView = (u: IsapiUserInput | IsapiUser) =>
  ({ employeeNo: u.employeeNo, name: u.name, gender: u.gender ?? null, valid: 'valid' in u ? u.valid : null })

export function createDeviceUsersService ({ db, devices, connector }: { db: PrismaClient, devices: DevicesService, connector: DeviceConnector }) {
  /** Runs `fn` with a client for the device, as the only operation on that terminal (a running sync makes it wait). */
  async function withDevice<T> (schoolId: string, deviceId: string, fn: (d: { device: Device, client: IsapiClient }) => Promise<T>) {
    const device = await devices.mustFind(schoolId, deviceId)
    const client = connector.connect(device)
    return connector.exclusive([device.id], () => fn({ device, client }))
  }

  async function studentsFor (schoolId: string, employeeNos: string[]) {
    if (employeeNos.length === 0) return new Map<string, MatchedStudent>()
    const rows = await db.student.findMany({
      where: { schoolId, deletedAt: null, employeeNo: { in: employeeNos } },
      select: { id: true, employeeNo: true, firstName: true, lastName: true, classId: true, status: true },
    })
    return new Map(rows.map(({ employeeNo, ...s }) => [employeeNo, s]))
  }

  async function withStudents (schoolId: string, users: IsapiUser[]) {
    const students = await studentsFor(schoolId, users.map((u) => u.employeeNo))
    return users.map((u) => toDto(u, students.get(u.employeeNo)))
  }

  async function mustGetUser (client: IsapiClient, employeeNo: string) {
    const user = await client.getUser(employeeNo)
    if (!user) throw notFound('Device user')
    return user
  }

  /** Edits in place: Modify, or SetUp on firmware without Modify. Never delete-then-create under one number. */
  async function editInPlace (client: IsapiClient, caps: IsapiCapabilities['users'] | undefined, next: IsapiUserInput) {
    if (caps?.supportsModify !== false) {
      try {
        await client.modifyUser(next)
        return 'modify' as const
      } catch (err) {
        if (!isIsapiError(err, 'DEVICE_NOT_SUPPORTED')) throw err
      }
    }
    if (caps?.supportsSetUp !== false) {
      try {
        await client.setUpUser(next)
        return 'setUp' as const
      } catch (err) {
        if (!isIsapiError(err, 'DEVICE_NOT_SUPPORTED')) throw err
      }
    }
    throw unprocessable('DEVICE_USER_EDIT_UNSUPPORTED',
      'This terminal supports neither UserInfo/Modify nor SetUp, so the record cannot be edited in place without a moment where the person is missing; give a new employeeNo to re-create the person under it instead')
  }

  /** Creates the person (and face) under the new number first; the old record goes only once that worked. */
  async function recreate (client: IsapiClient, oldEmployeeNo: string, next: IsapiUserInput, face: Buffer | null) {
    await client.createUser(next)
    try {
      if (face) await client.addFace(next.employeeNo, { image: face })
    } catch (err) {
      await client.deleteUsers([next.employeeNo]).catch(() => {})
      throw err
    }
    try {
      await client.deleteUsers([oldEmployeeNo])
    } catch (err) {
      throw new AppError(502, 'DEVICE_OLD_USER_KEPT',
        `The person now exists as ${next.employeeNo}, but the old record ${oldEmployeeNo} could not be deleted: ${(err as Error).message}`,
        { employeeNo: next.employeeNo, oldEmployeeNo })
    }
  }

  async function currentFace (client: IsapiClient, employeeNo: string) {
    const face = await client.getFace(employeeNo)
    return face?.faceURL ? (await client.downloadFace(face.faceURL)).bytes : null
  }

  const capsOf = (device: Device) => (device.capabilities as IsapiCapabilities | null)?.users

  return {
    async list (schoolId: string, deviceId: string, q: DeviceUsersQuery) {
      return withDevice(schoolId, deviceId, async ({ client }) => {
        if (q.search) {
          const needle = q.search.toLowerCase()
          const matches = (await client.listUsers()).filter((u) => u.name.toLowerCase().includes(needle) || u.employeeNo.toLowerCase().includes(needle))
          return { items: await withStudents(schoolId, matches.slice(skip(q), skip(q) + q.pageSize)), total: matches.length }
        }
        const { items, total } = await client.readUsersAt(skip(q), q.pageSize)
        // Past the end some firmware reports totalMatches 0; the count is authoritative then.
        const realTotal = items.length === 0 && skip(q) > 0 ? (await client.countUsers()).userNumber : total
        return { items: await withStudents(schoolId, items), total: realTotal }
      })
    },

    async get (schoolId: string, deviceId: string, employeeNo: string) {
      return withDevice(schoolId, deviceId, async ({ client }) => {
        const [dto] = await withStudents(schoolId, [await mustGetUser(client, employeeNo)])
        return dto
      })
    },

    async face (schoolId: string, deviceId: string, employeeNo: string) {
      return withDevice(schoolId, deviceId, async ({ client }) => {
        await mustGetUser(client, employeeNo)
        const jpeg = await currentFace(client, employeeNo)
        if (!jpeg) throw notFound('Device user face')
        return jpeg
      })
    },

    async remove (ctx: ActorContext, schoolId: string, deviceId: string, employeeNo: string, confirm: boolean | undefined) {
      if (confirm !== true) throw badRequest('CONFIRMATION_REQUIRED', 'Deleting a person from a terminal also deletes their face there; repeat with ?confirm=true')
      return withDevice(schoolId, deviceId, async ({ device, client }) => {
        const before = await mustGetUser(client, employeeNo)
        await client.deleteUsers([employeeNo])
        await recordAudit(db, ctx, { action: 'delete_device_user', entity: 'device', entityId: device.id, schoolId, before: auditView(before) })
      })
    },

    async update (ctx: ActorContext, schoolId: string, deviceId: string, employeeNo: string, input: UpdateDeviceUserInput) {
      // A bad photo is refused before the terminal is touched.
      const newFace = input.faceImageBase64 ? (await normaliseFacePhoto(decodeBase64Image(input.faceImageBase64))).jpeg : null
      return withDevice(schoolId, deviceId, async ({ device, client }) => {
        const current = await mustGetUser(client, employeeNo)
        const target = input.employeeNo ?? employeeNo
        const next = mergeUser(current, target, input)
        let method: 'modify' | 'setUp' | 'recreate'
        if (target === employeeNo) {
          method = await editInPlace(client, capsOf(device), next)
          if (newFace) await client.replaceFace(target, { image: newFace })
        } else {
          method = 'recreate'
          await recreate(client, employeeNo, next, newFace ?? await currentFace(client, employeeNo))
        }
        await recordAudit(db, ctx, {
          action: 'update_device_user', entity: 'device', entityId: device.id, schoolId,
          before: { ...auditView(current), face: null }, after: { ...auditView(next), face: newFace ? 'replaced' : null },
        })
        const [user] = await withStudents(schoolId, [await mustGetUser(client, target)])
        return { user, method, faceUpdated: newFace !== null }
      })
    },
  }
}

export type DeviceUsersService = ReturnType<typeof createDeviceUsersService>
