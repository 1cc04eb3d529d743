import { createHash } from 'node:crypto'
import type { SimulatedTerminalOptions } from './sim.types.js'

export interface DeviceIdentity {
  model: string
  firmwareVersion: string
  firmwareReleasedDate: string
  deviceName: string
  shortSerial: string
  /** Long form as deviceInfo prints it; its tail is the 9-char short serial carried in pushes. */
  serialNumber: string
  /** Upper-case, as deviceInfo prints it (events use lower-case). */
  macAddress: string
  ipAddress: string
  ipv6Address: string
  realm: string
}

const DEFAULT_MODEL = 'DS-K1T673DX-BR'
const DEFAULT_FIRMWARE = 'V3.18.0'
const DEFAULT_RELEASED = 'build 260305'

export function buildIdentity (options: SimulatedTerminalOptions, listenHost: string): DeviceIdentity {
  const index = options.index ?? 0
  const model = options.model ?? DEFAULT_MODEL
  const firmwareVersion = options.firmwareVersion ?? DEFAULT_FIRMWARE
  const firmwareReleasedDate = options.firmwareReleasedDate ?? DEFAULT_RELEASED
  const shortSerial = options.shortSerial ?? `FG${String(index + 1).padStart(7, '0')}`
  if (shortSerial.length !== 9) throw new Error(`shortSerial must be 9 characters, got "${shortSerial}"`)
  const macAddress = normaliseMac(options.macAddress ?? defaultMac(index))
  return {
    model,
    firmwareVersion,
    firmwareReleasedDate,
    deviceName: options.deviceName ?? `simDoor${index + 1}`,
    shortSerial,
    serialNumber: `${model}${buildDate(firmwareReleasedDate)}${firmwareCode(firmwareVersion)}EN${shortSerial}`,
    macAddress,
    ipAddress: options.ipAddress ?? listenHost,
    ipv6Address: linkLocalFromMac(macAddress),
    realm: options.realm ?? `DS-${createHash('md5').update(shortSerial).digest('hex').slice(0, 8).toUpperCase()}`,
  }
}

function defaultMac (index: number) {
  const n = index + 1
  return ['BC', '5E', '33', (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
    .map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0'))).join(':')
}

function normaliseMac (mac: string) {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new Error(`invalid MAC address "${mac}"`)
  return mac.toUpperCase()
}

/** "build 260305" → "20260305", the date block inside the long serial number. */
function buildDate (released: string) {
  const digits = released.replace(/\D/g, '').padStart(6, '0').slice(-6)
  return `20${digits}`
}

/** "V3.18.0" → "V031800". */
function firmwareCode (version: string) {
  const parts = version.replace(/^V/i, '').split('.').map((p) => p.replace(/\D/g, '').padStart(2, '0').slice(-2))
  while (parts.length < 3) parts.push('00')
  return `V${parts.slice(0, 3).join('')}`
}

/** EUI-64 link-local address, as the terminal reports it in ipv6Address. */
export function linkLocalFromMac (mac: string) {
  const b = mac.split(':').map((h) => parseInt(h, 16))
  const groups = [((b[0] ^ 0x02) << 8) | b[1], (b[2] << 8) | 0xff, (0xfe << 8) | b[3], (b[4] << 8) | b[5]]
  return `fe80::${groups.map((g) => g.toString(16)).join(':')}`
}
