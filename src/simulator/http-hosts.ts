import { fixture } from './fixtures.js'
import { badXmlContent, notSupportXml, okXml, xmlReply } from './responses.js'
import type { Reply } from './responses.js'
import type { Route } from './router.js'
import type { IsapiRequest, SimContext } from './sim-context.js'
import type { HttpHostSlot } from './sim-state.js'
import { emptyHttpHost } from './sim-state.js'
import { parseXmlBody, renderIsapiXml, xmlList, xmlText } from './xml.js'
import type { XmlNode, XmlObject } from './xml.js'

const SLOT_IDS = ['1', '2']
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

function slotNodes (s: HttpHostSlot): XmlNode[] {
  const nodes: XmlNode[] = [
    ['id', s.id], ['url', s.url], ['protocolType', s.protocolType], ['parameterFormatType', s.parameterFormatType],
    ['addressingFormatType', s.addressingFormatType], ['ipAddress', s.ipAddress], ['portNo', s.portNo],
  ]
  if (s.userName !== undefined) nodes.push(['userName', s.userName])
  nodes.push(['httpAuthenticationMethod', s.httpAuthenticationMethod])
  const sub: XmlNode[] = []
  if (s.heartbeat !== undefined) sub.push(['heartbeat', s.heartbeat])
  if (s.eventMode !== undefined) sub.push(['eventMode', s.eventMode])
  if (sub.length) nodes.push(['SubscribeEvent', sub])
  return nodes
}

function oneOf (obj: XmlObject, key: string, allowed: string[]) {
  const v = xmlText(obj, key)
  return v !== undefined && allowed.includes(v) ? v : undefined
}

function readSubscribe (obj: XmlObject, slot: HttpHostSlot): string | undefined {
  const sub = obj.SubscribeEvent
  if (sub === undefined || sub === '') return undefined
  if (typeof sub !== 'object' || sub === null) return 'SubscribeEvent'
  const s = sub as XmlObject
  const heartbeat = xmlText(s, 'heartbeat')
  if (heartbeat !== undefined) {
    if (!/^\d+$/.test(heartbeat) || Number(heartbeat) < 1 || Number(heartbeat) > 30) return 'heartbeat'
    slot.heartbeat = Number(heartbeat)
  }
  const eventMode = xmlText(s, 'eventMode')
  if (eventMode !== undefined) {
    if (!['all', 'list'].includes(eventMode)) return 'eventMode'
    slot.eventMode = eventMode
  }
  return undefined
}

/** Returns the slot, or the name of the offending field for badXmlContent's errorMsg. */
function parseSlot (obj: XmlObject): HttpHostSlot | string {
  const id = oneOf(obj, 'id', SLOT_IDS)
  if (!id) return 'id'
  const url = xmlText(obj, 'url') ?? ''
  if (url !== '' && !url.startsWith('/')) return 'url'
  const protocolType = oneOf(obj, 'protocolType', ['HTTP', 'HTTPS', 'EHome'])
  if (!protocolType) return 'protocolType'
  const parameterFormatType = oneOf(obj, 'parameterFormatType', ['XML', 'JSON'])
  if (!parameterFormatType) return 'parameterFormatType'
  // DS-K1A340FWX refuses hostname addressing and names ipAddress in errorMsg.
  if (xmlText(obj, 'addressingFormatType') !== 'ipaddress') return 'ipAddress'
  const ipAddress = xmlText(obj, 'ipAddress')
  if (!ipAddress || !IPV4.test(ipAddress)) return 'ipAddress'
  const portNo = xmlText(obj, 'portNo')
  if (!portNo || !/^\d+$/.test(portNo) || Number(portNo) > 65535) return 'portNo'
  const auth = xmlText(obj, 'httpAuthenticationMethod') ?? 'none'
  if (!['none', 'MD5digest'].includes(auth)) return 'httpAuthenticationMethod'
  const slot: HttpHostSlot = { id, url, protocolType, parameterFormatType, addressingFormatType: 'ipaddress', ipAddress, portNo: Number(portNo), userName: xmlText(obj, 'userName'), httpAuthenticationMethod: auth }
  return readSubscribe(obj, slot) ?? slot
}

function getList (_req: IsapiRequest, ctx: SimContext): Reply {
  return xmlReply(200, renderIsapiXml('HttpHostNotificationList', ctx.state.httpHosts.map((s): XmlNode => ['HttpHostNotification', slotNodes(s)])))
}

/** The whole-list PUT replaces every slot: slots it leaves out are wiped, the EHome/ISUP one included. */
function putList (req: IsapiRequest, ctx: SimContext): Reply {
  const doc = parseXmlBody(req.body)
  if (!doc || doc.root !== 'HttpHostNotificationList') return badXmlContent(req.path)
  const items = xmlList(doc.value.HttpHostNotification)
  if (items.length === 0) return badXmlContent(req.path, 'HttpHostNotification')
  const slots = new Map<string, HttpHostSlot>()
  for (const item of items) {
    const slot = parseSlot(item)
    if (typeof slot === 'string') return badXmlContent(req.path, slot)
    if (slots.has(slot.id)) return badXmlContent(req.path, 'id')
    slots.set(slot.id, slot)
  }
  ctx.state.httpHosts = SLOT_IDS.map((id) => slots.get(id) ?? emptyHttpHost(id))
  return okXml()
}

const slotIdOf = (req: IsapiRequest) => /\/httpHosts\/([^/]+)$/.exec(req.path)?.[1] ?? ''

function getOne (req: IsapiRequest, ctx: SimContext): Reply {
  const slot = ctx.state.httpHosts.find((s) => s.id === slotIdOf(req))
  return slot ? xmlReply(200, renderIsapiXml('HttpHostNotification', slotNodes(slot))) : notSupportXml(req.path)
}

/** PUT /httpHosts/<id> with one HttpHostNotification; the other slot is left alone. */
function putOne (req: IsapiRequest, ctx: SimContext): Reply {
  const id = slotIdOf(req)
  if (!SLOT_IDS.includes(id)) return notSupportXml(req.path)
  const doc = parseXmlBody(req.body)
  if (!doc || doc.root !== 'HttpHostNotification') return badXmlContent(req.path)
  const slot = parseSlot(doc.value)
  if (typeof slot === 'string') return badXmlContent(req.path, slot)
  if (slot.id !== id) return badXmlContent(req.path, 'id')
  ctx.state.httpHosts = ctx.state.httpHosts.map((s) => (s.id === id ? slot : s))
  return okXml()
}

export const httpHostRoutes: Route[] = [
  { path: '/ISAPI/Event/notification/httpHosts', json: false, methods: { GET: getList, PUT: putList } },
  { path: /^\/ISAPI\/Event\/notification\/httpHosts\/\d+$/, json: false, methods: { GET: getOne, PUT: putOne } },
  { path: '/ISAPI/Event/notification/subscribeEventCap', json: false, methods: { GET: () => xmlReply(200, fixture('subscribeeventcap_xml_dsk1a340fwx.xml').toString('utf8')) } },
]
