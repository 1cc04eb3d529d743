import type { Device, Prisma, PrismaClient } from '../../generated/prisma/client.js'
import { isIsapiError, type IsapiCapabilities, type IsapiDeviceInfo } from '../../integrations/isapi/index.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction, type DbClient } from '../../lib/db.js'
import { recordAudit } from '../audit/audit.repository.js'
import { adoptUnmatchedEvents } from '../webhook/webhook.adopt.js'
import type { DeviceConnector } from './device-connector.js'
import { toDeviceDto } from './devices.mapper.js'
import type { DevicesService } from './devices.service.js'

/**
 * The identity we match a terminal by. An operator's value stands when the terminal recognises it
 * (its serial, short serial or a real deviceID); otherwise the serial wins. deviceID alone is no
 * identity: many units report the constant 255.
 */
export function resolveDeviceId (current: string | null, info: IsapiDeviceInfo) {
  const known = [info.serialNumber, info.shortSerial, ...(info.deviceID && info.deviceID !== '255' ? [info.deviceID] : [])]
  return current && known.includes(current) ? current : info.serialNumber
}

export function createDeviceConnectionService ({ db, devices, connector }: { db: PrismaClient, devices: DevicesService, connector: DeviceConnector }) {
  const audit = (tx: DbClient, ctx: ActorContext, device: Device, after: Record<string, unknown>, before?: Record<string, unknown>) =>
    recordAudit(tx, ctx, { action: 'test_connection', entity: 'device', entityId: device.id, schoolId: device.schoolId, before, after })

  return {
    /**
     * Reads deviceInfo and the capability documents, then stores serial, MAC, model, firmware,
     * capabilities and the (discovered) deviceId, and books to the device the events it pushed before it
     * could be told apart. A failure is audited and changes nothing else.
     */
    async testConnection (ctx: ActorContext, schoolId: string, id: string) {
      const device = await devices.mustFind(schoolId, id)
      const client = connector.connect(device)
      let probed: { info: IsapiDeviceInfo, capabilities: IsapiCapabilities }
      try {
        probed = await connector.exclusive([device.id], async () => ({ info: await client.getDeviceInfo(), capabilities: await client.getCapabilities() }))
      } catch (err) {
        if (isIsapiError(err)) await audit(db, ctx, device, { ok: false, error: err.code })
        throw err
      }
      const { info, capabilities } = probed
      const deviceId = resolveDeviceId(device.deviceId, info)
      try {
        const updated = await withTransaction(db, async (tx) => {
          await devices.assertDeviceIdFree(tx, device.schoolId, deviceId, device.id, info.serialNumber)
          const data = {
            deviceId,
            serialNumber: info.serialNumber,
            macAddress: info.macAddress,
            model: info.model,
            firmware: info.firmwareVersion,
            capabilities: capabilities as unknown as Prisma.InputJsonValue,
          }
          const after = await tx.device.update({ where: { id }, data })
          await adoptUnmatchedEvents(tx, after)
          const pick = (d: Device) => ({ deviceId: d.deviceId, serialNumber: d.serialNumber, macAddress: d.macAddress, model: d.model, firmware: d.firmware })
          await audit(tx, ctx, device, { ok: true, ...pick(after) }, { ok: null, ...pick(device) })
          return after
        })
        return {
          device: toDeviceDto(updated),
          deviceInfo: info,
          capabilities,
          deviceIdDiscovered: device.deviceId === null,
          deviceIdChanged: device.deviceId !== null && device.deviceId !== deviceId ? { from: device.deviceId, to: deviceId } : null,
        }
      } catch (err) {
        await audit(db, ctx, device, { ok: false, error: (err as { code?: string }).code ?? 'INTERNAL_ERROR' })
        throw err
      }
    },
  }
}

export type DeviceConnectionService = ReturnType<typeof createDeviceConnectionService>
