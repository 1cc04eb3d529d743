import type { Device } from '../../generated/prisma/client.js'
import type { DeviceDto } from './devices.schemas.js'

// A device that answered within this window counts as online.
export const ONLINE_WINDOW_MS = 10 * 60_000

export function deviceStatus (d: Device, now = Date.now()): DeviceDto['status'] {
  if (!d.username || !d.passwordEncrypted) return 'no_credentials'
  if (d.lockedUntil && d.lockedUntil.getTime() > now) return 'locked'
  if (d.lastErrorCode === 'DEVICE_AUTH_FAILED') return 'auth_failed'
  if (d.lastErrorCode === null && d.lastSeenAt && now - d.lastSeenAt.getTime() < ONLINE_WINDOW_MS) return 'online'
  return 'offline'
}

export const toDeviceDto = (d: Device, now = Date.now()): DeviceDto => ({
  id: d.id,
  schoolId: d.schoolId,
  name: d.name,
  direction: d.direction,
  location: d.location,
  host: d.host,
  port: d.port,
  https: d.https,
  tlsInsecure: d.tlsInsecure,
  username: d.username,
  hasPassword: d.passwordEncrypted !== null,
  deviceId: d.deviceId,
  serialNumber: d.serialNumber,
  macAddress: d.macAddress,
  model: d.model,
  firmware: d.firmware,
  capabilities: (d.capabilities ?? null) as Record<string, unknown> | null,
  status: deviceStatus(d, now),
  lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
  lastError: d.lastErrorCode ? { code: d.lastErrorCode, message: d.lastErrorMessage } : null,
  lockedUntil: d.lockedUntil?.toISOString() ?? null,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
})
