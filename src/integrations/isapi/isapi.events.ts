import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { isRecord, zBool, zInt, zStr } from './isapi.decode.js'
import { clampPageSize, collect, scanPages, searchPageSchema } from './isapi.paging.js'
import { jsonBody, localError, type IsapiRequester, type IsapiTimeouts } from './isapi.request.js'
import { formatDeviceDateTime, parseDeviceDateTime } from './isapi.time.js'

const opt = <T extends z.ZodType>(s: T) => s.optional().catch(undefined)

/** Fields shared by AcsEvent InfoList entries and pushed AccessControllerEvent objects. */
const eventFieldsSchema = z.object({
  major: zInt,
  minor: zInt,
  time: opt(zStr),
  serialNo: opt(zInt),
  frontSerialNo: opt(zInt),
  employeeNoString: opt(zStr),
  employeeNo: opt(zStr),
  name: opt(zStr),
  cardNo: opt(zStr),
  doorNo: opt(zInt),
  cardReaderNo: opt(zInt),
  currentVerifyMode: opt(zStr),
  attendanceStatus: opt(zStr),
  userType: opt(zStr),
  pictureURL: opt(zStr),
  picturesNumber: opt(zInt),
  currentEvent: opt(zBool),
  mask: opt(zStr),
})

const orNull = <T>(v: T | undefined | '') => (v === undefined || v === '' ? null : v)

/** One internal event type for both the AcsEvent search (`major/minor/time`) and push (`majorEventType/subEventType/dateTime`). */
function normalise (e: z.output<typeof eventFieldsSchema>, source: 'search' | 'push') {
  return {
    source,
    serialNo: e.serialNo ?? null,
    /** The previous serial: a jump from the last one seen means events were lost. */
    frontSerialNo: e.frontSerialNo ?? null,
    major: e.major,
    minor: e.minor,
    time: orNull(e.time),
    occurredAt: e.time ? parseDeviceDateTime(e.time) ?? null : null,
    employeeNo: orNull(e.employeeNoString) ?? orNull(e.employeeNo),
    name: orNull(e.name),
    cardNo: orNull(e.cardNo),
    doorNo: e.doorNo ?? null,
    cardReaderNo: e.cardReaderNo ?? null,
    verifyMode: orNull(e.currentVerifyMode),
    attendanceStatus: orNull(e.attendanceStatus),
    userType: orNull(e.userType),
    pictureURL: orNull(e.pictureURL),
    picturesNumber: e.picturesNumber ?? null,
    /** false = replayed history (alertStream / reconnect), not a live event. */
    currentEvent: e.currentEvent ?? null,
    mask: orNull(e.mask),
  }
}
export type IsapiAccessEvent = ReturnType<typeof normalise>

export const acsEventSchema = eventFieldsSchema.transform((e) => normalise(e, 'search'))

export const bySerialNo = (a: IsapiAccessEvent, b: IsapiAccessEvent) => (a.serialNo ?? -1) - (b.serialNo ?? -1)

// Devices do not return events in order, whatever timeReverseOrder says.
export const acsEventSearchSchema = searchPageSchema('AcsEvent', 'InfoList', acsEventSchema)
  .transform((page) => ({ ...page, items: [...page.items].sort(bySerialNo) }))

/** The JSON part of an httpHosts push (`event_log`) or a plain-JSON push. */
export const pushEventSchema = z.object({
  eventType: zStr,
  eventState: opt(zStr),
  dateTime: opt(zStr),
  ipAddress: opt(zStr),
  macAddress: opt(zStr),
  shortSerialNumber: opt(zStr),
  activePostCount: opt(zInt),
  AccessControllerEvent: z.unknown().optional(),
}).transform((p) => {
  const inner = isRecord(p.AccessControllerEvent) ? p.AccessControllerEvent : undefined
  const accessEvent = inner
    ? normalise(eventFieldsSchema.parse({ ...inner, major: inner.majorEventType, minor: inner.subEventType, time: inner.dateTime ?? p.dateTime }), 'push')
    : null
  return {
    eventType: p.eventType,
    eventState: p.eventState ?? null,
    /** Videoloss parts are heartbeats, not alarms. */
    isHeartbeat: p.eventType === 'videoloss',
    dateTime: p.dateTime ?? null,
    ipAddress: p.ipAddress ?? null,
    macAddress: p.macAddress ? p.macAddress.toLowerCase() : null,
    shortSerialNumber: p.shortSerialNumber ?? null,
    activePostCount: p.activePostCount ?? null,
    accessEvent,
  }
})
export type IsapiPushEvent = z.output<typeof pushEventSchema>

export interface EventFilter {
  /** 0 = all; always sent (the device rejects a search without it). */
  major?: number
  minor?: number
  beginSerialNo?: number
  endSerialNo?: number
  startTime?: Date
  endTime?: Date
  /** The device's UTC offset (from getTime()); required with startTime/endTime. */
  deviceUtcOffsetMinutes?: number
}

export function createEventOps (r: IsapiRequester, t: IsapiTimeouts) {
  const cond = (f: EventFilter) => {
    const timed = f.startTime !== undefined || f.endTime !== undefined
    if (timed && f.deviceUtcOffsetMinutes === undefined) {
      throw localError(r.deviceKey, 'eventSearch', 'startTime/endTime need deviceUtcOffsetMinutes (times are sent in the device offset)')
    }
    const fmt = (d: Date) => formatDeviceDateTime(d, f.deviceUtcOffsetMinutes ?? 0)
    return {
      major: f.major ?? 0,
      minor: f.minor ?? 0,
      ...(f.startTime ? { startTime: fmt(f.startTime) } : {}),
      ...(f.endTime ? { endTime: fmt(f.endTime) } : {}),
      ...(f.beginSerialNo !== undefined ? { beginSerialNo: f.beginSerialNo } : {}),
      ...(f.endSerialNo !== undefined ? { endSerialNo: f.endSerialNo } : {}),
    }
  }
  const searchEvents = async (f: EventFilter & { searchId?: string, position?: number, maxResults?: number } = {}) => {
    const body = {
      AcsEventCond: { searchID: f.searchId ?? randomBytes(8).toString('hex'), searchResultPosition: f.position ?? 0, maxResults: clampPageSize(f.maxResults), ...cond(f) },
    }
    return await r.doc({ operation: 'eventSearch', method: 'POST', path: '/ISAPI/AccessControl/AcsEvent?format=json', body: jsonBody(body), timeoutMs: t.searchMs }, acsEventSearchSchema)
  }
  const iterateEvents = (f: EventFilter = {}) => {
    const searchId = randomBytes(8).toString('hex')
    return scanPages({ deviceKey: r.deviceKey, operation: 'eventSearch' }, (position) => searchEvents({ ...f, searchId, position }))
  }
  return {
    /** One page (≤30), sorted by serialNo. */
    searchEvents,
    /** Every matching event, page order (each page sorted). */
    iterateEvents,
    /** Every matching event, deduplicated and sorted by serialNo across pages. */
    async fetchEvents (f: EventFilter = {}) {
      const all = await collect(iterateEvents(f))
      const seen = new Set<number>()
      return all.filter((e) => e.serialNo === null || (!seen.has(e.serialNo) && !!seen.add(e.serialNo))).sort(bySerialNo)
    },
  }
}
