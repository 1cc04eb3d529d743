import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { startKit, xmlValue } from '../../test/simulator/sim-test-kit.js'

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
const HOSTS = '/ISAPI/Event/notification/httpHosts'
const OK_XML = '<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema">\n' +
  '<requestURL></requestURL>\n<statusCode>1</statusCode>\n<statusString>OK</statusString>\n<subStatusCode>ok</subStatusCode>\n</ResponseStatus>\r\n'

const CAPTURE_IDENTITY = {
  deviceName: 'subdoorOne', shortSerial: 'AA8066966', macAddress: 'bc:5e:33:57:a5:cb', model: 'DS-K1T673DX-BR', firmwareVersion: 'V3.18.0', firmwareReleasedDate: 'build 260305',
}

const slots = (xml: string) => [...xml.matchAll(/<HttpHostNotification>([\s\S]*?)<\/HttpHostNotification>/g)].map((m) => m[1])

describe('simulated terminal: deviceInfo and capabilities', () => {
  it('reproduces the captured DS-K1T673 deviceInfo byte for byte, and stays XML on ?format=json', async () => {
    const { client } = await startKit(CAPTURE_IDENTITY)
    const res = await client.call('GET', '/ISAPI/System/deviceInfo')
    expect(res.headers['content-type']).toBe('application/xml')
    expect(res.text).toBe(fixture('deviceinfo_dsk1t673.xml'))
    expect(res.body.length).toBe(1071)
    const json = await client.call('GET', '/ISAPI/System/deviceInfo?format=json')
    expect([json.headers['content-type'], json.text]).toEqual(['application/json', res.text])
  })

  it('derives a distinct long serial, upper-case MAC and realm per terminal index', async () => {
    const a = await startKit({ index: 0 })
    const b = await startKit({ index: 1 })
    const info = (await b.client.call('GET', '/ISAPI/System/deviceInfo')).text
    expect(xmlValue(info, 'serialNumber')).toMatch(/^DS-K1T673DX-BR20260305V031800EN[A-Z0-9]{9}$/)
    expect(xmlValue(info, 'serialNumber')!.endsWith(b.terminal.identity.shortSerial)).toBe(true)
    expect(xmlValue(info, 'macAddress')).toMatch(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/)
    expect(xmlValue(info, 'deviceID')).toBe('255')
    expect(a.terminal.identity.serialNumber).not.toBe(b.terminal.identity.serialNumber)
    expect(a.terminal.identity.realm).not.toBe(b.terminal.identity.realm)
  })

  it('answers AccessControl/capabilities?format=json with the captured XML labelled application/json', async () => {
    const { client } = await startKit()
    const res = await client.call('GET', '/ISAPI/AccessControl/capabilities?format=json')
    expect([res.status, res.headers['content-type'], res.body.length]).toEqual([200, 'application/json', 6147])
    expect(res.text).toBe(fixture('accesscontrol_capabilities_dsk1t673.xml'))
  })

  it('serves status, DeviceCap, network interfaces with its own MAC, and the capability samples', async () => {
    const { client, terminal } = await startKit()
    expect((await client.call('GET', '/ISAPI/System/status')).text).toContain('<DeviceStatus version="2.0"')
    expect((await client.call('GET', '/ISAPI/System/capabilities')).text).toContain('<isSupportSubscribeEvent>true</isSupportSubscribeEvent>')
    const net = (await client.call('GET', '/ISAPI/System/Network/interfaces')).text
    expect(xmlValue(net, 'MACAddress')).toBe(terminal.identity.macAddress.toLowerCase())
    expect((await client.call('GET', '/ISAPI/Event/notification/subscribeEventCap')).text).toBe(fixture('subscribeeventcap_xml_dsk1a340fwx.xml'))
    expect((await client.call('GET', '/ISAPI/AccessControl/AcsEvent/capabilities?format=json')).text).toBe(fixture('acsevent_capabilities_json_dsk1a340fwx_SHORTENED.json'))
    expect((await client.call('GET', '/ISAPI/System/time/capabilities')).text).toBe(fixture('system_time_capabilities_dsk1a340fwx.xml'))
  })

  it('answers an unknown ISAPI path with 404 + XML notSupport', async () => {
    const { client } = await startKit()
    const res = await client.call('GET', '/ISAPI/Intelligent/FDLib/capabilities?format=json')
    expect(res.status).toBe(404)
    expect(res.text).toContain('<ResponseStatus version="1.0"')
    expect([xmlValue(res.text, 'statusCode'), xmlValue(res.text, 'subStatusCode')]).toEqual(['4', 'notSupport'])
  })
})

describe('simulated terminal: httpHosts', () => {
  it('lists two slots: slot 1 empty like the K1A sample, slot 2 EHome', async () => {
    const { client } = await startKit()
    const list = slots((await client.call('GET', HOSTS)).text)
    expect(list).toHaveLength(2)
    const sampleSlot = slots(fixture('httphosts_get_response_empty_slot_dsk1a340fwx.xml'))[0].replace(/\s+</g, '<').trim()
    expect(list[0].replace(/\r\n/g, '').trim()).toBe(sampleSlot)
    expect(xmlValue(list[1], 'protocolType')).toBe('EHome')
  })

  it('PUT /httpHosts/1 changes slot 1 only and answers the captured ResponseStatus', async () => {
    const { client } = await startKit()
    const res = await client.call('PUT', `${HOSTS}/1`, { xml: fixture('httphosts_put_single_request_dsk1a340fwx.xml') })
    expect([res.status, res.text, res.body.length]).toEqual([200, OK_XML, 257])
    const list = slots((await client.call('GET', HOSTS)).text)
    expect([xmlValue(list[0], 'ipAddress'), xmlValue(list[0], 'portNo')]).toEqual(['192.168.1.2', '8088'])
    expect(xmlValue(list[1], 'protocolType')).toBe('EHome')
    expect(xmlValue((await client.call('GET', `${HOSTS}/1`)).text, 'portNo')).toBe('8088')
  })

  it('rejects hostname addressing with badXmlContent/ipAddress and malformed XML with badXmlContent', async () => {
    const { client } = await startKit()
    const byName = fixture('httphosts_put_single_request_dsk1a340fwx.xml')
      .replace('<addressingFormatType>ipaddress</addressingFormatType>', '<addressingFormatType>hostname</addressingFormatType><hostName>facegate.lan</hostName>')
    const res = await client.call('PUT', `${HOSTS}/1`, { xml: byName })
    expect(res.status).toBe(400)
    expect([xmlValue(res.text, 'statusCode'), xmlValue(res.text, 'subStatusCode'), xmlValue(res.text, 'errorMsg')]).toEqual(['6', 'badXmlContent', 'ipAddress'])
    const broken = await client.call('PUT', `${HOSTS}/1`, { xml: '<HttpHostNotification><id>1</id>' })
    expect([broken.status, xmlValue(broken.text, 'subStatusCode')]).toEqual([400, 'badXmlContent'])
    expect((await client.call('POST', HOSTS, { xml: '<x/>' })).status).toBe(405)
  })

  it('PUT of the whole list replaces every slot, wiping the EHome one', async () => {
    const { client } = await startKit()
    const single = fixture('httphosts_put_single_request_dsk1a340fwx.xml').replace(/<\?xml[^>]*>\s*/, '').replace(/ version="2.0" xmlns="[^"]+"/, '')
    const res = await client.call('PUT', HOSTS, { xml: `<HttpHostNotificationList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">${single}</HttpHostNotificationList>` })
    expect(res.status).toBe(200)
    const list = slots((await client.call('GET', HOSTS)).text)
    expect(xmlValue(list[0], 'ipAddress')).toBe('192.168.1.2')
    expect([xmlValue(list[1], 'protocolType'), xmlValue(list[1], 'ipAddress')]).toEqual(['HTTP', '0.0.0.0'])
  })
})

describe('simulated terminal: time', () => {
  it('reports local time with the offset of the POSIX-inverted zone', async () => {
    const { client } = await startKit()
    const t = (await client.call('GET', '/ISAPI/System/time')).text
    expect([xmlValue(t, 'timeZone'), xmlValue(t, 'localTime'), xmlValue(t, 'timeMode')]).toEqual(['CST-5:00:00', '2026-04-18T02:40:26+05:00', 'NTP'])
  })

  it('accepts the captured manual PUT and keeps running from the new time', async () => {
    const { client, clock } = await startKit()
    const body = "<?xml version='1.0' encoding='UTF-8'?>\n<Time version='2.0' xmlns='http://www.isapi.org/ver20/XMLSchema'>\n    <timeMode>manual</timeMode>\n" +
      '    <localTime>2026-04-17T19:23:42-03:00</localTime>\n    <timeZone>CST+3:00:00</timeZone>\n</Time>\n'
    expect((await client.call('PUT', '/ISAPI/System/time', { xml: body })).text).toBe(OK_XML)
    clock.advance(10_000)
    const t = (await client.call('GET', '/ISAPI/System/time')).text
    expect([xmlValue(t, 'timeMode'), xmlValue(t, 'localTime'), xmlValue(t, 'timeZone')]).toEqual(['manual', '2026-04-17T19:23:52-03:00', 'CST+3:00:00'])
    const bad = await client.call('PUT', '/ISAPI/System/time', { xml: body.replace('CST+3:00:00', 'UTC+25') })
    expect([bad.status, xmlValue(bad.text, 'errorMsg')]).toEqual([400, 'timeZone'])
  })

  it('reads and writes the NTP server', async () => {
    const { client } = await startKit()
    expect(xmlValue((await client.call('GET', '/ISAPI/System/time/ntpServers')).text, 'hostName')).toBe('pool.ntp.org')
    const put = '<NTPServer><id>1</id><addressingFormatType>ipaddress</addressingFormatType><ipAddress>192.168.1.1</ipAddress><portNo>123</portNo><synchronizeInterval>30</synchronizeInterval></NTPServer>'
    expect((await client.call('PUT', '/ISAPI/System/time/ntpServers/1', { xml: put })).status).toBe(200)
    const one = (await client.call('GET', '/ISAPI/System/time/ntpServers/1')).text
    expect([xmlValue(one, 'ipAddress'), xmlValue(one, 'synchronizeInterval')]).toEqual(['192.168.1.1', '30'])
  })
})
