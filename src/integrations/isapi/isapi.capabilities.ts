import { z } from 'zod'
import { asArray, isRecord, textOf } from './isapi.decode.js'
import { isIsapiError } from './isapi.errors.js'
import { httpHostsSchema } from './isapi.httphosts.js'
import { MAX_PAGE_SIZE } from './isapi.paging.js'
import type { IsapiRequester, IsapiTimeouts } from './isapi.request.js'

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (isRecord(v) ? v : {})
const doc = (root: string) => z.record(z.string(), z.unknown()).transform((d) => (isRecord(d[root]) ? d[root] : undefined))

function num (v: unknown): number | undefined {
  const t = textOf(v)
  const n = typeof t === 'number' ? t : typeof t === 'string' && /^\d+$/.test(t.trim()) ? Number(t) : NaN
  return Number.isFinite(n) ? n : undefined
}
const attrNum = (v: unknown, name: '@min' | '@max') => num(obj(v)[name])
const opts = (v: unknown) => {
  const raw = isRecord(v) ? v['@opt'] : v
  return typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []
}
const bool = (v: unknown) => {
  const t = textOf(v)
  return t === true || t === 'true' ? true : t === false || t === 'false' ? false : undefined
}

export function normaliseUserCaps (u: Obj) {
  const fns = opts(u.supportFunction)
  const search = obj(u.UserInfoSearchCond)
  return {
    maxResults: Math.min(attrNum(search.maxResults, '@max') ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    employeeNoMaxLength: attrNum(u.employeeNo, '@max'),
    nameMaxLength: attrNum(u.name, '@max'),
    maxRecordNum: num(u.maxRecordNum) ?? null,
    deleteBatchMax: Math.min(num(obj(obj(u.UserInfoDelCond).EmployeeNoList).maxSize) ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    supportsSetUp: fns.includes('setUp'),
    supportsModify: fns.length === 0 || fns.includes('put'),
    genders: opts(u.gender),
  }
}

export function normaliseAccessControlCaps (a: Obj) {
  return {
    supportsUserInfo: bool(a.isSupportUserInfo),
    supportsFDLib: bool(a.isSupportFDLib),
    supportsAcsEvent: bool(a.isSupportAcsEvent),
    supportsCardInfo: bool(a.isSupportCardInfo),
    supportsRemoteCheck: bool(a.isSupportRemoteCheck),
    supportsUserInfoDetailDelete: bool(a.isSupportUserInfoDetailDelete),
    employeeNoMaxLength: attrNum(obj(a.EmployeeNoInfo).employeeNo, '@max'),
  }
}

export function normaliseEventCaps (e: Obj) {
  const cond = obj(e.AcsEventCond)
  return {
    maxResults: Math.min(attrNum(cond.maxResults, '@max') ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    supportsSerialRange: 'beginSerialNo' in cond && 'endSerialNo' in cond,
    majors: opts(cond.major).map(Number).filter(Number.isInteger),
  }
}

export function normaliseSubscribeCaps (s: Obj) {
  const events = asArray(obj(s.EventList).Event as Obj | Obj[] | undefined)
  return {
    heartbeatMaxSeconds: attrNum(s.heartbeat, '@max') ?? null,
    eventModes: opts(s.eventMode),
    eventTypes: events.map((e) => String(textOf(obj(e).type) ?? '')).filter(Boolean),
    pictureURLTypes: [...new Set(events.flatMap((e) => opts(obj(e).pictureURLType)))],
  }
}

const TOLERATED = ['DEVICE_NOT_SUPPORTED', 'DEVICE_REJECTED', 'DEVICE_BAD_RESPONSE'] as const

/** A probe that the firmware lacks is "unsupported"; auth, lock, busy and network failures still abort. */
async function probe<T> (run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run()
  } catch (err) {
    if (TOLERATED.some((code) => isIsapiError(err, code))) return undefined
    throw err
  }
}

export function createCapabilityOps (r: IsapiRequester, t: IsapiTimeouts) {
  const get = <S extends z.ZodType>(operation: string, path: string, schema: S) =>
    probe(() => r.doc({ operation, method: 'GET', path, timeoutMs: t.defaultMs }, schema))
  return {
    /** Probes one after another (the device is single-threaded) and normalises what answered. */
    async getCapabilities () {
      const system = await get('capabilitiesSystem', '/ISAPI/System/capabilities', doc('DeviceCap'))
      const ac = await get('capabilitiesAccessControl', '/ISAPI/AccessControl/capabilities?format=json', doc('AccessControl'))
      const users = await get('capabilitiesUsers', '/ISAPI/AccessControl/UserInfo/capabilities?format=json', doc('UserInfo'))
      const events = await get('capabilitiesEvents', '/ISAPI/AccessControl/AcsEvent/capabilities?format=json', doc('AcsEvent'))
      const subscribe = await get('capabilitiesSubscribe', '/ISAPI/Event/notification/subscribeEventCap', doc('SubscribeEventCap'))
      const hosts = await get('capabilitiesHttpHosts', '/ISAPI/Event/notification/httpHosts', httpHostsSchema)
      return combineCapabilities({ system, ac, users, events, subscribe, hosts })
    },
  }
}

export function combineCapabilities (p: { system?: Obj, ac?: Obj, users?: Obj, events?: Obj, subscribe?: Obj, hosts?: z.output<typeof httpHostsSchema> }) {
  const ac = p.ac ? normaliseAccessControlCaps(p.ac) : undefined
  const users = p.users ? normaliseUserCaps(p.users) : undefined
  const events = p.events ? normaliseEventCaps(p.events) : undefined
  return {
    probes: {
      system: !!p.system, accessControl: !!p.ac, users: !!p.users, events: !!p.events, subscribe: !!p.subscribe, httpHosts: !!p.hosts,
    },
    supportsUserInfo: ac?.supportsUserInfo ?? !!users,
    supportsFDLib: ac?.supportsFDLib ?? false,
    supportsAcsEvent: ac?.supportsAcsEvent ?? !!events,
    supportsCardInfo: ac?.supportsCardInfo ?? false,
    supportsRemoteCheck: ac?.supportsRemoteCheck ?? false,
    supportsUserInfoDetailDelete: ac?.supportsUserInfoDetailDelete ?? false,
    users: {
      maxResults: users?.maxResults ?? MAX_PAGE_SIZE,
      employeeNoMaxLength: users?.employeeNoMaxLength ?? ac?.employeeNoMaxLength ?? 32,
      // 32 is the smallest limit seen across models; used only when the device does not say.
      nameMaxLength: users?.nameMaxLength ?? 32,
      maxRecordNum: users?.maxRecordNum ?? null,
      deleteBatchMax: users?.deleteBatchMax ?? MAX_PAGE_SIZE,
      supportsSetUp: users?.supportsSetUp ?? false,
      supportsModify: users?.supportsModify ?? true,
      genders: users?.genders ?? [],
    },
    events: events ?? { maxResults: MAX_PAGE_SIZE, supportsSerialRange: false, majors: [] },
    subscribe: p.subscribe ? normaliseSubscribeCaps(p.subscribe) : null,
    supportsSubscribeEvent: p.system ? bool(deepFind(p.system, 'isSupportSubscribeEvent')) ?? null : null,
    httpHosts: { supported: !!p.hosts, slotIds: p.hosts?.map((h) => h.id) ?? [] },
  }
}
export type IsapiCapabilities = ReturnType<typeof combineCapabilities>

/** DeviceCap nests flags differently per model; look the flag up at any depth. */
function deepFind (v: unknown, key: string, depth = 0): unknown {
  if (!isRecord(v) || depth > 6) return undefined
  if (key in v) return v[key]
  for (const child of Object.values(v)) {
    const found = deepFind(child, key, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}
