import type { PrismaClient } from '../../generated/prisma/client.js'
import type { IsapiCapabilities } from '../../integrations/isapi/index.js'
import type { ActorContext } from '../../lib/context.js'
import type { DeviceConnector } from '../devices/device-connector.js'
import type { DevicesService } from '../devices/devices.service.js'
import type { JobsService } from './sync.jobs.js'
import { displayName } from './sync.person.js'

/**
 * Compares what a terminal really holds with the person-on-device table and the roster: persons
 * missing from the device, users on it that are no active student ("extra"), and persons whose
 * record or face is not the current version.
 */
export function createDriftService ({ db, devices, connector, jobs }: { db: PrismaClient, devices: DevicesService, connector: DeviceConnector, jobs: JobsService }) {
  async function check (schoolId: string, deviceId: string) {
    const device = await devices.mustFind(schoolId, deviceId)
    const nameMax = (device.capabilities as IsapiCapabilities | null)?.users.nameMaxLength
    const users = await connector.exclusive([device.id], () => connector.connect(device).listUsers())
    const onDevice = new Map(users.map((u) => [u.employeeNo, u]))
    const [students, persons] = await Promise.all([
      db.student.findMany({
        where: { schoolId, status: 'active', deletedAt: null },
        select: { id: true, employeeNo: true, firstName: true, lastName: true, version: true, photoUrl: true, photoVersion: true },
        orderBy: { employeeNo: 'asc' },
      }),
      db.personDevice.findMany({ where: { deviceId } }),
    ])
    const personOf = new Map(persons.map((p) => [p.studentId, p]))
    const active = new Set(students.map((s) => s.employeeNo))
    const missing = []
    const outdated = []
    for (const s of students) {
      const user = onDevice.get(s.employeeNo)
      const name = displayName(s, nameMax)
      if (!user) {
        missing.push({ studentId: s.id, employeeNo: s.employeeNo, name })
        continue
      }
      const pd = personOf.get(s.id)
      const reasons: string[] = []
      if (user.name !== name) reasons.push('name differs')
      if (!pd || pd.state !== 'synced' || pd.syncedVersion !== s.version) reasons.push('record not at the current version')
      if (s.photoUrl) {
        if (user.numOfFace === 0) reasons.push('face missing')
        else if (pd?.facePhotoVersion !== s.photoVersion) reasons.push('face not the current photo')
      }
      if (reasons.length > 0) outdated.push({ studentId: s.id, employeeNo: s.employeeNo, name, reasons })
    }
    const extra = [...onDevice.values()].filter((u) => !active.has(u.employeeNo))
      .map((u) => ({ employeeNo: u.employeeNo, name: u.name, hasFace: u.numOfFace === null ? null : u.numOfFace > 0 }))
    return {
      deviceId,
      checkedAt: new Date().toISOString(),
      counts: { onDevice: onDevice.size, students: students.length, missing: missing.length, extra: extra.length, outdated: outdated.length },
      inSync: missing.length === 0 && extra.length === 0 && outdated.length === 0,
      missing, extra, outdated,
    }
  }

  return {
    check,
    /** One call: pushes the missing and outdated persons again (and deletes extras when asked) as a job. */
    async repair (ctx: ActorContext, schoolId: string, deviceId: string, o: { removeExtra: boolean }) {
      const drift = await check(schoolId, deviceId)
      const studentIds = [...drift.missing, ...drift.outdated].map((p) => p.studentId)
      const job = await jobs.start(ctx, {
        type: 'drift_repair', schoolId, deviceIds: [deviceId], studentIds,
        params: { full: true, removeExtra: o.removeExtra, missing: drift.counts.missing, outdated: drift.counts.outdated, extra: drift.counts.extra },
        extraEmployeeNos: o.removeExtra ? drift.extra.map((u) => u.employeeNo) : [],
      })
      return { jobId: job.id, drift: drift.counts }
    },
  }
}

export type DriftService = ReturnType<typeof createDriftService>
