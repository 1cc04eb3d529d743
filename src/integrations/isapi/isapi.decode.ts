import { XMLBuilder, XMLParser } from 'fast-xml-parser'
import { z } from 'zod'
import type { DeviceStatusInfo } from './isapi.errors.js'

const xmlParser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Keeps employeeNo "007" and serials as strings; zod coerces numbers where we want them.
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  trimValues: true,
  htmlEntities: false,
})

const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: false, suppressEmptyNode: false })

export const ISAPI_XMLNS = 'http://www.isapi.org/ver20/XMLSchema'

export type DecodedBody =
  | { kind: 'json', value: unknown }
  | { kind: 'xml', value: Record<string, unknown> }
  | { kind: 'empty' }
  | { kind: 'other', text: string }

/**
 * Decodes by sniffing the first non-space byte, never by Content-Type: terminals send XML
 * labelled application/json. Throws on a body that looks like JSON/XML but does not parse.
 */
export function decodeBody (body: Buffer | string): DecodedBody {
  const text = (typeof body === 'string' ? body : body.toString('utf8')).replace(/^\uFEFF/, '')
  const first = /\S/.exec(text)?.[0]
  if (first === undefined) return { kind: 'empty' }
  if (first === '{' || first === '[') return { kind: 'json', value: JSON.parse(text) as unknown }
  if (first === '<') return { kind: 'xml', value: xmlParser.parse(text, true) as Record<string, unknown> }
  return { kind: 'other', text: text.slice(0, 500) }
}

export function buildXml (root: string, content: Record<string, unknown>) {
  const body = { '@version': '2.0', '@xmlns': ISAPI_XMLNS, ...content }
  return '<?xml version="1.0" encoding="UTF-8"?>' + (xmlBuilder.build({ [root]: body }) as string)
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function rootOf (decoded: DecodedBody, ...names: string[]): Record<string, unknown> | undefined {
  if (decoded.kind !== 'json' && decoded.kind !== 'xml') return undefined
  const value = decoded.value
  if (!isRecord(value)) return undefined
  for (const name of names) if (isRecord(value[name])) return value[name]
  return undefined
}

/** XML gives one child as an object and several as an array; JSON may omit it. */
export const asArray = <T>(v: T | T[] | undefined | null | ''): T[] => (v === undefined || v === null || v === '' ? [] : Array.isArray(v) ? v : [v])

/** The text of an XML element that also carries attributes (`{ '#text', '@max' }`), or the value itself. */
export const textOf = (v: unknown): unknown => (isRecord(v) && '#text' in v ? v['#text'] : v)

export const zInt = z.union([z.number().int(), z.string().trim().regex(/^-?\d+$/).transform(Number)])
export const zNum = z.union([z.number(), z.string().trim().regex(/^-?\d+(\.\d+)?$/).transform(Number)])
export const zBool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
export const zStr = z.union([z.string(), z.number().transform(String)])

// Read on every answer: plain checks rather than zInt, whose failed branches build error objects.
function toInt (v: unknown): number | undefined {
  const t = textOf(v)
  if (typeof t === 'number') return Number.isInteger(t) ? t : undefined
  return typeof t === 'string' && /^\s*-?\d+\s*$/.test(t) ? Number(t) : undefined
}
function toStr (v: unknown): string | undefined {
  const t = textOf(v)
  return typeof t === 'string' ? t : typeof t === 'number' ? String(t) : undefined
}

/** ResponseStatus from a JSON or XML body, bare or wrapped in `ResponseStatus`; undefined if the body has none. */
export function readResponseStatus (decoded: DecodedBody): DeviceStatusInfo | undefined {
  const src = rootOf(decoded, 'ResponseStatus') ?? (decoded.kind === 'json' && isRecord(decoded.value) ? decoded.value : undefined)
  if (!src) return undefined
  const status: DeviceStatusInfo = {
    statusCode: toInt(src.statusCode),
    statusString: toStr(src.statusString),
    subStatusCode: toStr(src.subStatusCode),
    errorCode: toInt(src.errorCode),
    errorMsg: toStr(src.errorMsg),
  }
  const present = Object.values(status).some((v) => v !== undefined)
  return present ? status : undefined
}

/** ok = 2xx and no statusCode, or statusCode 0/1 (a 200 can carry statusCode 4). */
export const isOkAnswer = (httpStatus: number, status?: DeviceStatusInfo) =>
  httpStatus >= 200 && httpStatus < 300 && (status?.statusCode === undefined || status.statusCode === 0 || status.statusCode === 1)

export interface UserCheck {
  locked: boolean
  /** Seconds until the account unlocks, when the device says. */
  unlockTime?: number
  /** Attempts left before the lock, when the device reports it. */
  retryLoginTime?: number
  statusString?: string
}

/** userCheck (XML) or the JSON badAuthorization flavour (lockStatus / retryTimes / resLockTime). */
export function readUserCheck (decoded: DecodedBody): UserCheck | undefined {
  const src = rootOf(decoded, 'userCheck', 'UserCheck', 'ResponseStatus') ??
    (decoded.kind === 'json' && isRecord(decoded.value) ? decoded.value : undefined)
  if (!src) return undefined
  const lockStatus = toStr(src.lockStatus)?.toLowerCase()
  const unlockTime = toInt(src.unlockTime) ?? toInt(src.resLockTime)
  const retryLoginTime = toInt(src.retryLoginTime) ?? toInt(src.retryTimes)
  const statusString = toStr(src.statusString)
  if (lockStatus === undefined && unlockTime === undefined && retryLoginTime === undefined && statusString === undefined) return undefined
  return { locked: lockStatus === 'lock' || lockStatus === 'locked', unlockTime, retryLoginTime, statusString }
}

/**
 * The lock a 401 body reports, if any. Only `lockStatus` says locked, so the usual challenge body
 * without it is not parsed: a firmware whose nonces die every two calls sends one per person.
 */
export function readLock (body: Buffer): { unlockTime?: number } | undefined {
  if (!body.includes('lockStatus')) return undefined
  const check = readUserCheck(safeDecode(body))
  return check?.locked ? { unlockTime: check.unlockTime } : undefined
}

export function safeDecode (body: Buffer): DecodedBody {
  try {
    return decodeBody(body)
  } catch {
    return { kind: 'other', text: body.subarray(0, 500).toString('utf8') }
  }
}
