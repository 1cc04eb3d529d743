import { Agent } from 'undici'
import { createIsapiClient, type IsapiClientOptions } from '../isapi.client.js'
import { createIsapiDeviceRegistry } from '../isapi.registry.js'
import type { IsapiError } from '../isapi.errors.js'
import type { IsapiLogger } from '../isapi.transport.js'

export interface LogEntry { level: 'info' | 'warn' | 'debug', obj: Record<string, unknown>, msg: string }

export function captureLogger () {
  const entries: LogEntry[] = []
  const log: IsapiLogger = {
    info: (obj, msg) => { entries.push({ level: 'info', obj: obj as Record<string, unknown>, msg }) },
    warn: (obj, msg) => { entries.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }) },
    debug: (obj, msg) => { entries.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }) },
  }
  return { log, entries }
}

export const DEVICE_INFO_XML = `<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<deviceName>subdoorOne</deviceName>
<deviceID>255</deviceID>
<model>DS-K1T673DX-BR</model>
<serialNumber>DS-K1T673DX-BR20260305V031800ENAA8066966</serialNumber>
<macAddress>BC:5E:33:57:A5:CB</macAddress>
<firmwareVersion>V3.18.0</firmwareVersion>
</DeviceInfo>
`

/** A dispatcher and a client factory with an isolated per-test registry (unless one is passed). */
export function clientFactory () {
  const dispatcher = new Agent({ connect: { timeout: 2_000 } })
  const { log, entries } = captureLogger()
  const make = (baseUrl: string, extra: Partial<IsapiClientOptions> = {}) => createIsapiClient({
    baseUrl, username: 'admin', password: 'Secret123', dispatcher, log, registry: createIsapiDeviceRegistry(), ...extra,
  })
  return { dispatcher, log, logs: entries, make, close: () => dispatcher.close() }
}

/** The IsapiError a promise rejects with; fails the test if it resolves. */
export async function captureError (p: Promise<unknown>) {
  try {
    await p
  } catch (err) {
    return err as IsapiError
  }
  throw new Error('expected a rejection')
}
