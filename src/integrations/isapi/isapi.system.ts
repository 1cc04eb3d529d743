import { z } from 'zod'
import { asArray, textOf, zInt, zStr } from './isapi.decode.js'
import { localError, xmlBody, type IsapiRequester, type IsapiTimeouts } from './isapi.request.js'
import {
  formatDeviceDateTime, formatPosixTimeZone, offsetOfDeviceDateTime, parseDeviceDateTime, parsePosixTimeZone,
} from './isapi.time.js'

const normaliseMac = (mac: string) => mac.trim().toLowerCase().replace(/-/g, ':')
const optStr = zStr.optional()

export const deviceInfoSchema = z.object({
  DeviceInfo: z.object({
    deviceName: optStr, deviceID: optStr, model: zStr, serialNumber: zStr, macAddress: zStr, firmwareVersion: zStr,
    firmwareReleasedDate: optStr, deviceType: optStr, subDeviceType: optStr,
  }),
}).transform(({ DeviceInfo: d }) => ({
  deviceName: d.deviceName ?? null,
  /** Often the constant 255: never an identity. */
  deviceID: d.deviceID ?? null,
  model: d.model,
  serialNumber: d.serialNumber,
  /** The tail that push events carry as `shortSerialNumber`. */
  shortSerial: d.serialNumber.slice(-9),
  /** Lower-case, as in push events (deviceInfo reports it upper-case). */
  macAddress: normaliseMac(d.macAddress),
  firmwareVersion: d.firmwareVersion,
  firmwareReleasedDate: d.firmwareReleasedDate ?? null,
  deviceType: d.deviceType ?? null,
  subDeviceType: d.subDeviceType ?? null,
}))
export type IsapiDeviceInfo = z.output<typeof deviceInfoSchema>

const numberish = z.unknown().transform((v) => {
  const r = zInt.safeParse(textOf(v))
  return r.success ? r.data : null
})

export const deviceStatusSchema = z.object({
  DeviceStatus: z.object({
    currentDeviceTime: optStr,
    deviceUpTime: numberish,
    CPUList: z.object({ CPU: z.unknown() }).optional(),
    MemoryList: z.object({ Memory: z.unknown() }).optional(),
  }),
}).transform(({ DeviceStatus: s }) => {
  const cpu = asArray<Record<string, unknown>>(s.CPUList?.CPU as Record<string, unknown> | undefined)[0]
  const mem = asArray<Record<string, unknown>>(s.MemoryList?.Memory as Record<string, unknown> | undefined)[0]
  const num = (v: unknown) => numberish.parse(v)
  return {
    currentDeviceTime: s.currentDeviceTime ?? null,
    deviceUpTimeSeconds: s.deviceUpTime,
    cpuUtilization: cpu ? num(cpu.cpuUtilization) : null,
    memoryUsage: mem ? num(mem.memoryUsage) : null,
    memoryAvailable: mem ? num(mem.memoryAvailable) : null,
  }
})
export type IsapiDeviceStatus = z.output<typeof deviceStatusSchema>

export const deviceTimeSchema = z.object({
  Time: z.object({ timeMode: zStr, localTime: zStr, timeZone: optStr }),
}).transform(({ Time: t }) => {
  const tz = t.timeZone ? parsePosixTimeZone(t.timeZone) : undefined
  const utcOffsetMinutes = offsetOfDeviceDateTime(t.localTime) ?? tz?.utcOffsetMinutes ?? null
  const deviceTime = parseDeviceDateTime(t.localTime, utcOffsetMinutes ?? undefined) ?? null
  return {
    timeMode: t.timeMode,
    localTime: t.localTime,
    timeZone: t.timeZone ?? null,
    /** From the POSIX timeZone (sign inverted), standard time. */
    zoneOffsetMinutes: tz?.utcOffsetMinutes ?? null,
    /** The offset in effect now, as written in localTime (falls back to the zone). */
    utcOffsetMinutes,
    dst: tz?.dst ?? null,
    deviceTime,
    /** A reset clock reports 1970: events stamped then cannot be trusted for time. */
    clockLooksReset: deviceTime !== null && deviceTime.getUTCFullYear() < 2000,
  }
})
export type IsapiDeviceTime = z.output<typeof deviceTimeSchema>

const ntpServerSchema = z.object({
  id: zInt, addressingFormatType: zStr, hostName: optStr, ipAddress: optStr, portNo: zInt.optional(), synchronizeInterval: zInt.optional(),
}).transform((s) => ({
  id: s.id,
  addressingFormatType: s.addressingFormatType,
  hostName: s.hostName || null,
  ipAddress: s.ipAddress || null,
  portNo: s.portNo ?? null,
  synchronizeIntervalMinutes: s.synchronizeInterval ?? null,
}))
export type IsapiNtpServer = z.output<typeof ntpServerSchema>

export const ntpServersSchema = z.object({
  NTPServerList: z.union([z.object({ NTPServer: z.unknown() }), z.literal('')]),
}).transform(({ NTPServerList: l }) => asArray(l === '' ? undefined : l.NTPServer).map((s) => ntpServerSchema.parse(s)))

const addr = z.object({ ipAddress: optStr }).optional()
const networkInterfaceSchema = z.object({
  id: zInt,
  IPAddress: z.object({
    ipVersion: optStr, addressingType: optStr, ipAddress: optStr, subnetMask: optStr, DefaultGateway: addr, PrimaryDNS: addr, SecondaryDNS: addr,
  }).optional(),
  Link: z.object({ MACAddress: optStr }).optional(),
}).transform((n) => ({
  id: n.id,
  ipVersion: n.IPAddress?.ipVersion ?? null,
  addressingType: n.IPAddress?.addressingType ?? null,
  ipAddress: n.IPAddress?.ipAddress ?? null,
  subnetMask: n.IPAddress?.subnetMask ?? null,
  gateway: n.IPAddress?.DefaultGateway?.ipAddress ?? null,
  primaryDns: n.IPAddress?.PrimaryDNS?.ipAddress ?? null,
  secondaryDns: n.IPAddress?.SecondaryDNS?.ipAddress ?? null,
  macAddress: n.Link?.MACAddress ? normaliseMac(n.Link.MACAddress) : null,
}))
export type IsapiNetworkInterface = z.output<typeof networkInterfaceSchema>

export const networkInterfacesSchema = z.object({ NetworkInterfaceList: z.object({ NetworkInterface: z.unknown() }) })
  .transform(({ NetworkInterfaceList: l }) => asArray(l.NetworkInterface).map((n) => networkInterfaceSchema.parse(n)))

const optList = z.unknown().transform((v) => {
  const raw = v && typeof v === 'object' ? (v as Record<string, unknown>)['@opt'] : undefined
  return typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter(Boolean) : []
})

export const timeCapabilitiesSchema = z.object({ Time: z.object({ timeMode: optList, timeType: optList }) })
  .transform(({ Time: c }) => ({ timeModes: c.timeMode, timeTypes: c.timeType }))

export interface SetTimeInput {
  timeMode: 'manual' | 'NTP'
  /** Standard-time offset of the device's zone, minutes east of UTC (+300 for UTC+05:00). */
  utcOffsetMinutes: number
  /** A POSIX DST suffix to keep (`DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00`). */
  dst?: string
}

export const ntpServerInputSchema = z.object({
  id: z.number().int().min(1).default(1),
  addressingFormatType: z.enum(['hostname', 'ipaddress']),
  hostName: z.string().min(1).max(64).optional(),
  ipAddress: z.ipv4().optional(),
  portNo: z.number().int().min(1).max(65535).default(123),
  synchronizeIntervalMinutes: z.number().int().min(1).max(10080).default(60),
}).refine((s) => (s.addressingFormatType === 'hostname' ? !!s.hostName : !!s.ipAddress), { message: 'hostName or ipAddress must match addressingFormatType' })
export type NtpServerInput = z.input<typeof ntpServerInputSchema>

export function createSystemOps (r: IsapiRequester, t: IsapiTimeouts, now: () => Date) {
  const get = (operation: string, path: string) => ({ operation, method: 'GET' as const, path, timeoutMs: t.defaultMs })
  return {
    getDeviceInfo: () => r.doc(get('deviceInfo', '/ISAPI/System/deviceInfo'), deviceInfoSchema),
    getStatus: () => r.doc(get('status', '/ISAPI/System/status'), deviceStatusSchema),
    getTime: () => r.doc(get('timeGet', '/ISAPI/System/time'), deviceTimeSchema),
    getTimeCapabilities: () => r.doc(get('timeCapabilities', '/ISAPI/System/time/capabilities'), timeCapabilitiesSchema),
    /** localTime is computed when the request actually leaves (after queueing), not when it was asked for. */
    async setTime (input: SetTimeInput) {
      if (!Number.isInteger(input.utcOffsetMinutes) || Math.abs(input.utcOffsetMinutes) > 14 * 60) {
        throw localError(r.deviceKey, 'timeSet', 'utcOffsetMinutes must be an integer within ±14h')
      }
      const body = xmlBody('Time', () => ({
        timeMode: input.timeMode,
        ...(input.timeMode === 'manual' ? { localTime: formatDeviceDateTime(now(), input.utcOffsetMinutes) } : {}),
        timeZone: formatPosixTimeZone(input.utcOffsetMinutes, input.dst),
      }))
      return await r.ok({ operation: 'timeSet', method: 'PUT', path: '/ISAPI/System/time', body, timeoutMs: t.writeMs })
    },
    getNtpServers: () => r.doc(get('ntpGet', '/ISAPI/System/time/ntpServers'), ntpServersSchema),
    async setNtpServer (input: NtpServerInput) {
      const parsed = ntpServerInputSchema.safeParse(input)
      if (!parsed.success) throw localError(r.deviceKey, 'ntpSet', parsed.error.issues.map((i) => i.message).join('; '))
      const s = parsed.data
      const body = xmlBody('NTPServer', () => ({
        id: String(s.id),
        addressingFormatType: s.addressingFormatType,
        ...(s.hostName ? { hostName: s.hostName } : {}),
        ...(s.ipAddress ? { ipAddress: s.ipAddress } : {}),
        portNo: String(s.portNo),
        synchronizeInterval: String(s.synchronizeIntervalMinutes),
      }))
      return await r.ok({ operation: 'ntpSet', method: 'PUT', path: `/ISAPI/System/time/ntpServers/${s.id}`, body, timeoutMs: t.writeMs })
    },
    getNetworkInterfaces: () => r.doc(get('networkInterfacesGet', '/ISAPI/System/Network/interfaces'), networkInterfacesSchema),
  }
}
