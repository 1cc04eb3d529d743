import { infoListEntry } from './event-shapes.js'
import { fixture } from './fixtures.js'
import { readPaging, takePage } from './paging.js'
import { badJsonContent, jsonReply, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { Route } from './router.js'
import type { IsapiRequest, JsonObject, SimContext } from './sim-context.js'
import { isObject, parseJsonObject } from './sim-context.js'
import type { SimEvent, SimState } from './sim-state.js'
import { deviceNow } from './sim-state.js'
import { formatLocalTime, parseIsapiTime } from './sim-time.js'

export type NewEvent = Omit<SimEvent, 'serialNo' | 'frontSerialNo' | 'epochMs' | 'time'> & { epochMs?: number }

/** Appends to the log with the next serialNo; frontSerialNo is the previous one (0 before the first). */
export function recordEvent (state: SimState, now: () => number, fields: NewEvent): SimEvent {
  const epochMs = fields.epochMs ?? deviceNow(state, now)
  const ev: SimEvent = {
    ...fields,
    serialNo: state.lastSerialNo + 1,
    frontSerialNo: state.lastSerialNo,
    epochMs,
    time: formatLocalTime(epochMs, state.time.offsetMinutes),
  }
  state.lastSerialNo = ev.serialNo
  state.events.push(ev)
  return ev
}

/** A stable pseudo-random rank: the order differs from serial order but is the same on every page. */
function scramble (seed: number, n: number) {
  let h = (n ^ seed) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

interface EventFilter {
  major: number
  minor: number
  start?: number
  end?: number
  beginSerialNo?: number
  endSerialNo?: number
  employeeNo?: string
}

const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0

/** Real firmware rejects startTime/endTime with milliseconds or Z as badJsonContent naming the field. */
function readFilter (cond: JsonObject, offset: number): { filter: EventFilter } | { reply: Reply } {
  if (cond.major === undefined) return { reply: parametersLack('major') }
  if (!isCount(cond.major)) return { reply: badJsonContent('major') }
  if (cond.minor !== undefined && !isCount(cond.minor)) return { reply: badJsonContent('minor') }
  const filter: EventFilter = { major: cond.major as number, minor: (cond.minor as number | undefined) ?? 0 }
  for (const [key, target] of [['startTime', 'start'], ['endTime', 'end']] as const) {
    if (cond[key] === undefined) continue
    const t = parseIsapiTime(cond[key], offset)
    if (t === undefined) return { reply: badJsonContent(key) }
    filter[target] = t
  }
  for (const key of ['beginSerialNo', 'endSerialNo'] as const) {
    if (cond[key] === undefined) continue
    if (!Number.isInteger(cond[key]) || (cond[key] as number) < 1) return { reply: badJsonContent(key) }
    filter[key] = cond[key] as number
  }
  if (cond.employeeNoString !== undefined && typeof cond.employeeNoString !== 'string') return { reply: badJsonContent('employeeNoString') }
  if (cond.employeeNoString) filter.employeeNo = cond.employeeNoString as string
  return { filter }
}

function matches (ev: SimEvent, f: EventFilter) {
  if (f.major !== 0 && ev.major !== f.major) return false
  if (f.minor !== 0 && ev.minor !== f.minor) return false
  if (f.start !== undefined && ev.epochMs < f.start) return false
  if (f.end !== undefined && ev.epochMs > f.end) return false
  if (f.beginSerialNo !== undefined && ev.serialNo < f.beginSerialNo) return false
  if (f.endSerialNo !== undefined && ev.serialNo > f.endSerialNo) return false
  return f.employeeNo === undefined || ev.employeeNoString === f.employeeNo
}

function readCond (body: Buffer, root: string): { cond: JsonObject } | { reply: Reply } {
  const parsed = parseJsonObject(body)
  if ('reply' in parsed) return parsed
  const cond = parsed.value[root]
  if (cond === undefined) return { reply: parametersLack(root) }
  return isObject(cond) ? { cond } : { reply: badJsonContent(root) }
}

/** timeReverseOrder is ignored: results come back in no useful order, so clients must sort by serialNo. */
function search (req: IsapiRequest, ctx: SimContext): Reply {
  const read = readCond(req.body, 'AcsEventCond')
  if ('reply' in read) return read.reply
  const { cond } = read
  if (cond.searchID === undefined) return parametersLack('searchID')
  if (typeof cond.searchID !== 'string' || cond.searchID.length === 0) return badJsonContent('searchID')
  const paging = readPaging(cond)
  if ('reply' in paging) return paging.reply
  const f = readFilter(cond, ctx.state.time.offsetMinutes)
  if ('reply' in f) return f.reply
  const seed = ctx.config.seed
  const all = ctx.state.events.filter((ev) => matches(ev, f.filter))
    .sort((a, b) => scramble(seed, a.serialNo) - scramble(seed, b.serialNo))
  const page = takePage(all, paging.page)
  return jsonReply(200, {
    AcsEvent: {
      searchID: cond.searchID,
      responseStatusStrg: page.responseStatusStrg,
      numOfMatches: page.numOfMatches,
      totalMatches: page.totalMatches,
      InfoList: page.items.length ? page.items.map((ev) => infoListEntry(ev, ctx.selfOrigin())) : undefined,
    },
  })
}

function totalNum (req: IsapiRequest, ctx: SimContext): Reply {
  const read = readCond(req.body, 'AcsEventTotalNumCond')
  if ('reply' in read) return read.reply
  const f = readFilter(read.cond, ctx.state.time.offsetMinutes)
  if ('reply' in f) return f.reply
  return jsonReply(200, { AcsEventTotalNum: { totalNum: ctx.state.events.filter((ev) => matches(ev, f.filter)).length } })
}

function capabilities (): Reply {
  return { status: 200, kind: 'json', body: fixture('acsevent_capabilities_json_dsk1a340fwx_SHORTENED.json') }
}

export const eventRoutes: Route[] = [
  { path: '/ISAPI/AccessControl/AcsEvent', json: true, methods: { POST: search } },
  { path: '/ISAPI/AccessControl/AcsEventTotalNum', json: true, methods: { POST: totalNum } },
  { path: '/ISAPI/AccessControl/AcsEvent/capabilities', json: true, methods: { GET: capabilities } },
]
