import { z } from 'zod'
import { optionalText, pageQuery, trimmed, uuid } from '../../lib/schemas.js'

export const deviceStatuses = ['online', 'offline', 'no_credentials', 'auth_failed', 'locked'] as const

const host = z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be an IP address or host name')

const deviceFields = {
  name: trimmed(100),
  direction: z.enum(['in', 'out', 'both']),
  location: optionalText(200),
  host,
  port: z.number().int().min(1).max(65535),
  https: z.boolean(),
  tlsInsecure: z.boolean().describe('Accept the device\'s self-signed certificate (HTTPS only)'),
  username: z.string().trim().min(1).max(64).nullish(),
  password: z.string().min(1).max(128).nullish().describe('Write-only; stored encrypted'),
  deviceId: z.string().trim().min(1).max(64).nullish().describe('Hikvision serial; discovered by test-connection when omitted'),
}

export const createDeviceBody = z.object({
  ...deviceFields,
  port: deviceFields.port.default(80),
  https: deviceFields.https.default(false),
  tlsInsecure: deviceFields.tlsInsecure.default(false),
})
export const updateDeviceBody = z.object(deviceFields).partial()
export type CreateDeviceInput = z.infer<typeof createDeviceBody>
export type UpdateDeviceInput = z.infer<typeof updateDeviceBody>

export const deviceParams = z.object({ schoolId: uuid, deviceId: uuid })
export const deviceListQuery = pageQuery.extend({ search: z.string().trim().min(1).max(100).optional() })
export type DeviceListQuery = z.infer<typeof deviceListQuery>

export const deviceSchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid(),
  name: z.string(),
  direction: z.enum(['in', 'out', 'both']),
  location: z.string().nullable(),
  host: z.string(),
  port: z.number().int(),
  https: z.boolean(),
  tlsInsecure: z.boolean(),
  username: z.string().nullable(),
  hasPassword: z.boolean(),
  deviceId: z.string().nullable(),
  serialNumber: z.string().nullable(),
  macAddress: z.string().nullable(),
  model: z.string().nullable(),
  firmware: z.string().nullable(),
  capabilities: z.record(z.string(), z.unknown()).nullable(),
  status: z.enum(deviceStatuses),
  lastSeenAt: z.string().nullable(),
  lastError: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
  lockedUntil: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'Device' })
export type DeviceDto = z.infer<typeof deviceSchema>

export const connectionTestResult = z.object({
  device: deviceSchema,
  deviceInfo: z.object({
    deviceName: z.string().nullable(),
    deviceID: z.string().nullable().describe('As the terminal reports it; often the constant 255, so never used as identity'),
    model: z.string(),
    serialNumber: z.string(),
    shortSerial: z.string(),
    macAddress: z.string(),
    firmwareVersion: z.string(),
    firmwareReleasedDate: z.string().nullable(),
    deviceType: z.string().nullable(),
    subDeviceType: z.string().nullable(),
  }),
  capabilities: z.record(z.string(), z.unknown()),
  deviceIdDiscovered: z.boolean().describe('The device had no deviceId and now has the terminal\'s serial'),
  deviceIdChanged: z.object({ from: z.string(), to: z.string() }).nullable().describe('The entered deviceId was not this terminal\'s and was replaced'),
}).meta({ id: 'DeviceConnectionTest' })
