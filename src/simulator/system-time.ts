import { fixture } from './fixtures.js'
import { badXmlContent, notSupportXml, okXml, xmlReply } from './responses.js'
import type { Reply } from './responses.js'
import type { Route } from './router.js'
import type { IsapiRequest, SimContext } from './sim-context.js'
import type { NtpServer } from './sim-state.js'
import { deviceLocalTime } from './sim-state.js'
import { parseIsapiTime, parsePosixTimeZone } from './sim-time.js'
import { parseXmlBody, renderIsapiXml, xmlList, xmlText } from './xml.js'
import type { XmlNode, XmlObject } from './xml.js'

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

function getTime (_req: IsapiRequest, ctx: SimContext): Reply {
  const t = ctx.state.time
  return xmlReply(200, renderIsapiXml('Time', [
    ['timeMode', t.timeMode], ['localTime', deviceLocalTime(ctx.state, ctx.now)], ['timeZone', t.timeZone],
  ]))
}

/**
 * `timeZone` is sign-inverted POSIX (CST+3:00:00 = UTC-03:00). In manual mode
 * `localTime` moves the device clock; a localTime without offset is read in
 * the (new) zone.
 */
function putTime (req: IsapiRequest, ctx: SimContext): Reply {
  const doc = parseXmlBody(req.body)
  if (!doc || doc.root !== 'Time') return badXmlContent(req.path)
  const t = ctx.state.time
  const mode = xmlText(doc.value, 'timeMode')
  if (mode !== 'NTP' && mode !== 'manual') return badXmlContent(req.path, 'timeMode')
  const tz = xmlText(doc.value, 'timeZone')
  const offset = tz === undefined ? t.offsetMinutes : parsePosixTimeZone(tz)
  if (offset === undefined) return badXmlContent(req.path, 'timeZone')
  let clockOffsetMs = t.clockOffsetMs
  const local = xmlText(doc.value, 'localTime')
  if (mode === 'manual' || local !== undefined) {
    const epoch = parseIsapiTime(local, offset, true)
    if (epoch === undefined) return badXmlContent(req.path, 'localTime')
    clockOffsetMs = epoch - ctx.now()
  }
  ctx.state.time = { ...t, timeMode: mode, timeZone: tz ?? t.timeZone, offsetMinutes: offset, clockOffsetMs }
  return okXml()
}

function ntpNodes (s: NtpServer): XmlNode[] {
  return [
    ['id', s.id], ['addressingFormatType', s.addressingFormatType], ['hostName', s.hostName],
    ['ipAddress', s.ipAddress], ['portNo', s.portNo], ['synchronizeInterval', s.synchronizeInterval],
  ]
}

function parseNtp (obj: XmlObject, expectedId?: string): NtpServer | string {
  const id = xmlText(obj, 'id')
  if (id !== '1' || (expectedId !== undefined && id !== expectedId)) return 'id'
  const addressing = xmlText(obj, 'addressingFormatType')
  if (addressing !== 'hostname' && addressing !== 'ipaddress') return 'addressingFormatType'
  const hostName = xmlText(obj, 'hostName') ?? ''
  const ipAddress = xmlText(obj, 'ipAddress') ?? '0.0.0.0'
  if (addressing === 'hostname' && !/^[A-Za-z0-9.-]{1,253}$/.test(hostName)) return 'hostName'
  if (!IPV4.test(ipAddress) || (addressing === 'ipaddress' && ipAddress === '0.0.0.0')) return 'ipAddress'
  const port = xmlText(obj, 'portNo') ?? '123'
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return 'portNo'
  const interval = xmlText(obj, 'synchronizeInterval') ?? '60'
  if (!/^\d+$/.test(interval) || Number(interval) < 1) return 'synchronizeInterval'
  return { id, addressingFormatType: addressing, hostName, ipAddress, portNo: Number(port), synchronizeInterval: Number(interval) }
}

function getNtpList (_req: IsapiRequest, ctx: SimContext): Reply {
  return xmlReply(200, renderIsapiXml('NTPServerList', ctx.state.time.ntpServers.map((s): XmlNode => ['NTPServer', ntpNodes(s)])))
}

function putNtpList (req: IsapiRequest, ctx: SimContext): Reply {
  const doc = parseXmlBody(req.body)
  if (!doc || doc.root !== 'NTPServerList') return badXmlContent(req.path)
  const items = xmlList(doc.value.NTPServer)
  if (items.length !== 1) return badXmlContent(req.path, 'NTPServer')
  const server = parseNtp(items[0])
  if (typeof server === 'string') return badXmlContent(req.path, server)
  ctx.state.time.ntpServers = [server]
  return okXml()
}

function getNtpOne (req: IsapiRequest, ctx: SimContext): Reply {
  const server = ctx.state.time.ntpServers.find((s) => req.path.endsWith(`/ntpServers/${s.id}`))
  return server ? xmlReply(200, renderIsapiXml('NTPServer', ntpNodes(server))) : notSupportXml(req.path)
}

function putNtpOne (req: IsapiRequest, ctx: SimContext): Reply {
  const id = req.path.slice(req.path.lastIndexOf('/') + 1)
  if (id !== '1') return notSupportXml(req.path)
  const doc = parseXmlBody(req.body)
  if (!doc || doc.root !== 'NTPServer') return badXmlContent(req.path)
  const server = parseNtp(doc.value, id)
  if (typeof server === 'string') return badXmlContent(req.path, server)
  ctx.state.time.ntpServers = [server]
  return okXml()
}

export const timeRoutes: Route[] = [
  { path: '/ISAPI/System/time', json: false, methods: { GET: getTime, PUT: putTime } },
  { path: '/ISAPI/System/time/capabilities', json: false, methods: { GET: () => xmlReply(200, fixture('system_time_capabilities_dsk1a340fwx.xml').toString('utf8')) } },
  { path: '/ISAPI/System/time/ntpServers', json: false, methods: { GET: getNtpList, PUT: putNtpList } },
  { path: /^\/ISAPI\/System\/time\/ntpServers\/\d+$/, json: false, methods: { GET: getNtpOne, PUT: putNtpOne } },
]
