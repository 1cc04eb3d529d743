import type { Device, DeviceBackfill, PrismaClient } from '../../generated/prisma/client.js'
import type { BackfillResult } from './webhook.backfill.js'
import type { BackfillTrigger } from './webhook.schemas.js'

const iso = (d: Date | null) => d?.toISOString() ?? null

type BackfillRun = Pick<DeviceBackfill, 'fromSerial' | 'toSerial' | 'found' | 'inserted' | 'errorCode' | 'errorMessage' | 'startedAt' | 'finishedAt'> & { mode: string | null }

/** A back-fill run, just made or as recorded (where a run that never searched has mode 'none'). */
const toBackfillDto = (r: BackfillRun) => ({
  mode: (r.mode === 'serial' || r.mode === 'time' ? r.mode : null) as BackfillResult['mode'],
  fromSerial: r.fromSerial, toSerial: r.toSerial, found: r.found, inserted: r.inserted,
  errorCode: r.errorCode, errorMessage: r.errorMessage, startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt.toISOString(),
})

export const toBackfillRunDto = (r: BackfillResult) => ({ status: r.status, ...toBackfillDto(r) })

const toHistoryDto = (r: DeviceBackfill) => ({ trigger: r.trigger as BackfillTrigger, ...toBackfillDto(r) })

/** What a terminal's event feed looks like from here: last push, last heartbeat, and what back-fill had to fill. */
export async function deviceEventHealth (db: PrismaClient, device: Device) {
  const recent = await db.deviceBackfill.findMany({ where: { deviceId: device.id }, orderBy: { startedAt: 'desc' }, take: 10 })
  const lastGap = await db.deviceBackfill.findFirst({ where: { deviceId: device.id, inserted: { gt: 0 } }, orderBy: { startedAt: 'desc' } })
  return {
    deviceId: device.id,
    lastSeenAt: iso(device.lastSeenAt),
    lastEventAt: iso(device.lastEventAt),
    lastHeartbeatAt: iso(device.lastHeartbeatAt),
    lastEventSerialNo: device.lastEventSerialNo,
    lastErrorCode: device.lastErrorCode,
    lastBackfill: recent[0] ? toHistoryDto(recent[0]) : null,
    lastGapFilled: lastGap ? toHistoryDto(lastGap) : null,
    recentBackfills: recent.map(toHistoryDto),
  }
}
