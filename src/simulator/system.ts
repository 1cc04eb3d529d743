import { fixture } from './fixtures.js'
import { xmlReply } from './responses.js'
import type { Reply } from './responses.js'
import type { Route } from './router.js'
import type { IsapiRequest, SimContext } from './sim-context.js'
import type { DeviceIdentity } from './sim-identity.js'
import { deviceLocalTime } from './sim-state.js'
import { renderIsapiXml } from './xml.js'
import type { XmlNode } from './xml.js'

/** Element list and constants of the DS-K1T673DX-BR capture; identity fields are this terminal's. */
export function deviceInfoXml (id: DeviceIdentity) {
  const nodes: XmlNode[] = [
    ['deviceName', id.deviceName], ['deviceID', 255], ['model', id.model], ['serialNumber', id.serialNumber],
    ['macAddress', id.macAddress], ['firmwareVersion', id.firmwareVersion], ['firmwareReleasedDate', id.firmwareReleasedDate],
    ['encoderVersion', 'V2.9'], ['encoderReleasedDate', 'build 250826'], ['deviceType', 'ACS'],
    ['subDeviceType', 'accessControlTerminal'], ['telecontrolID', 1], ['localZoneNum', 2], ['alarmOutNum', 1],
    ['relayNum', 2], ['electroLockNum', 1], ['RS485Num', 1], ['manufacturer', 'hikvision'], ['OEMCode', 1],
    ['customizedInfo', 'DZP20260202197'], ['bspVersion', 'V1.17.0.662379 build 2024-3-9'], ['dspVersion', 'V2.9'],
    ['marketType', 2], ['productionDate', '2023-04-28'],
  ]
  return renderIsapiXml('DeviceInfo', nodes)
}

/** Answered in XML even on ?format=json (the reply is then labelled application/json). */
function deviceInfo (_req: IsapiRequest, ctx: SimContext): Reply {
  return xmlReply(200, deviceInfoXml(ctx.state.identity))
}

/** DeviceStatus fields named by the GUIDE; no capture of this reply exists. */
function status (_req: IsapiRequest, ctx: SimContext): Reply {
  const upSeconds = Math.max(0, Math.floor((ctx.now() - ctx.state.startedAt) / 1000))
  return xmlReply(200, renderIsapiXml('DeviceStatus', [
    ['currentDeviceTime', deviceLocalTime(ctx.state, ctx.now)],
    ['deviceUpTime', upSeconds],
    ['CPUList', [['CPU', [['cpuDescription', 'cpu0'], ['cpuUtilization', 12]]]]],
    ['MemoryList', [['Memory', [['memoryDescription', 'memory'], ['memoryUsage', '118.000000'], ['memoryAvailable', '138.000000']]]]],
  ]))
}

/** DeviceCap per the GUIDE's field names; a feature checklist, not a capture. */
function capabilities (): Reply {
  return xmlReply(200, renderIsapiXml('DeviceCap', [
    ['SysCap', [
      ['isSupportDst', true],
      ['NetworkCap', [['isSupportWireless', false], ['isSupportPPPoE', false], ['isSupportNTP', true], ['isSupportHttps', true]]],
      ['isSupportTimeCap', true],
      ['isSupportReboot', true],
    ]],
    ['isSupportSubscribeEvent', true],
    ['EventCap', [['isSupportHttpHostNotification', true]]],
    ['AccessControlCap', [['isSupport', true]]],
  ]))
}

/** The K1A sample with this terminal's MAC (lower-case, as that page prints it) and address. */
function networkInterfaces (_req: IsapiRequest, ctx: SimContext): Reply {
  const { identity } = ctx.state
  const body = fixture('network_interfaces_get_response_dsk1a340fwx.xml').toString('utf8')
    .replace('<MACAddress>40:24:b2:e7:46:04</MACAddress>', `<MACAddress>${identity.macAddress.toLowerCase()}</MACAddress>`)
    .replace('<ipAddress>192.0.0.64</ipAddress>', `<ipAddress>${identity.ipAddress}</ipAddress>`)
  return xmlReply(200, body)
}

/** The DS-K1T673 answers this ?format=json URL with XML labelled application/json. */
function accessControlCapabilities (): Reply {
  return xmlReply(200, fixture('accesscontrol_capabilities_dsk1t673.xml').toString('utf8'))
}

export const systemRoutes: Route[] = [
  { path: '/ISAPI/System/deviceInfo', json: false, methods: { GET: deviceInfo } },
  { path: '/ISAPI/System/status', json: false, methods: { GET: status } },
  { path: '/ISAPI/System/capabilities', json: false, methods: { GET: capabilities } },
  { path: '/ISAPI/System/Network/interfaces', json: false, methods: { GET: networkInterfaces } },
  { path: '/ISAPI/AccessControl/capabilities', json: false, methods: { GET: accessControlCapabilities } },
]
