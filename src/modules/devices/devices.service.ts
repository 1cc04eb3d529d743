import type { Device, Prisma, PrismaClient } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import type { CredentialsCipher } from '../../lib/credentials-cipher.js'
import { isUniqueConstraintError, withTransaction, type DbClient } from '../../lib/db.js'
import { conflict, notFound } from '../../lib/errors.js'
import { skip } from '../../lib/schemas.js'
import { recordAudit } from '../audit/audit.repository.js'
import { toDeviceDto } from './devices.mapper.js'
import type { CreateDeviceInput, DeviceListQuery, UpdateDeviceInput } from './devices.schemas.js'

/** What an audit row may say about a device: never the password, only that it changed. */
const auditView = (d: Device) => ({ ...toDeviceDto(d), password: d.passwordEncrypted ? 'set' : null, status: undefined })

export function createDevicesService ({ db, cipher }: { db: PrismaClient, cipher: CredentialsCipher }) {
  async function mustFind (tx: DbClient, schoolId: string, id: string) {
    const device = await tx.device.findFirst({ where: { id, schoolId, deletedAt: null } })
    if (!device) throw notFound('Device')
    return device
  }

  /** No other device (any school) may be this terminal: same deviceId, or, when known, the same serial. */
  async function assertDeviceIdFree (tx: DbClient, schoolId: string, deviceId: string, exceptId?: string, serialNumber?: string) {
    const other = await tx.device.findFirst({
      where: {
        ...(exceptId && { id: { not: exceptId } }),
        OR: [{ deviceId }, ...(serialNumber ? [{ serialNumber, deletedAt: null }] : [])],
      },
      select: { id: true, schoolId: true, name: true },
    })
    if (!other) return
    const where = other.schoolId === schoolId ? `device "${other.name}" of this school` : 'a device of another school'
    throw conflict('DEVICE_ID_CONFLICT', `deviceId ${deviceId} is already registered to ${where}`, {
      deviceId, sameSchool: other.schoolId === schoolId, ...(other.schoolId === schoolId && { conflictingDeviceId: other.id }),
    })
  }

  const credentialData = (input: Pick<UpdateDeviceInput, 'password'>): Prisma.DeviceUncheckedUpdateInput =>
    input.password === undefined ? {} : { passwordEncrypted: input.password === null ? null : cipher.encrypt(input.password) }

  return {
    mustFind: (schoolId: string, id: string) => mustFind(db, schoolId, id),
    assertDeviceIdFree,

    async list (schoolId: string, q: DeviceListQuery) {
      const where: Prisma.DeviceWhereInput = {
        schoolId, deletedAt: null,
        ...(q.search && { OR: ['name', 'location', 'host', 'deviceId'].map((f) => ({ [f]: { contains: q.search, mode: 'insensitive' } })) }),
      }
      const [rows, total] = await Promise.all([
        db.device.findMany({ where, orderBy: [{ name: 'asc' }, { id: 'asc' }], skip: skip(q), take: q.pageSize }),
        db.device.count({ where }),
      ])
      return { items: rows.map((d) => toDeviceDto(d)), total }
    },

    async create (ctx: ActorContext, schoolId: string, input: CreateDeviceInput) {
      const { password, ...fields } = input
      try {
        return await withTransaction(db, async (tx) => {
          if (fields.deviceId) await assertDeviceIdFree(tx, schoolId, fields.deviceId)
          const created = await tx.device.create({ data: { ...fields, schoolId, passwordEncrypted: password ? cipher.encrypt(password) : null } })
          await recordAudit(tx, ctx, { action: 'create', entity: 'device', entityId: created.id, schoolId, after: auditView(created) })
          return toDeviceDto(created)
        })
      } catch (err) {
        if (fields.deviceId && isUniqueConstraintError(err, ['device_id', 'deviceId'])) await assertDeviceIdFree(db, schoolId, fields.deviceId)
        throw err
      }
    },

    async update (ctx: ActorContext, schoolId: string, id: string, input: UpdateDeviceInput) {
      const { password, ...fields } = input
      return withTransaction(db, async (tx) => {
        const before = await mustFind(tx, schoolId, id)
        if (fields.deviceId) await assertDeviceIdFree(tx, schoolId, fields.deviceId, id)
        const credentialsChanged = password !== undefined || (fields.username !== undefined && fields.username !== before.username)
        const connectionChanged = credentialsChanged || ['host', 'port', 'https'].some((k) => k in fields && fields[k as keyof typeof fields] !== before[k as keyof Device])
        const after = await tx.device.update({
          where: { id },
          data: {
            ...fields,
            ...credentialData({ password }),
            // New credentials or address: the old failure no longer describes this device.
            ...(connectionChanged && { lastErrorCode: null, lastErrorMessage: null, lockedUntil: null }),
          },
        })
        const action = credentialsChanged ? 'update_credentials' : 'update'
        await recordAudit(tx, ctx, { action, entity: 'device', entityId: id, schoolId, before: auditView(before), after: { ...auditView(after), ...(password !== undefined && { password: 'changed' }) } })
        return toDeviceDto(after)
      })
    },

    /** Soft delete; the Hikvision deviceId is released so the terminal can be registered again. */
    async remove (ctx: ActorContext, schoolId: string, id: string) {
      await withTransaction(db, async (tx) => {
        const before = await mustFind(tx, schoolId, id)
        await tx.device.update({ where: { id }, data: { deletedAt: new Date(), deviceId: null, passwordEncrypted: null } })
        await recordAudit(tx, ctx, { action: 'delete', entity: 'device', entityId: id, schoolId, before: auditView(before) })
      })
    },
  }
}

export type DevicesService = ReturnType<typeof createDevicesService>
