import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { startRawListener, splitPush } from '../../test/simulator/raw-listener.js'
import { faceMultipart, fakeJpeg } from '../../test/simulator/digest-client.js'
import { addUsers, startKit } from '../../test/simulator/sim-test-kit.js'
import type { Kit } from '../../test/simulator/sim-test-kit.js'
import { printCJson } from './cjson.js'
import { pushEnvelope, pushEventObject } from './event-shapes.js'
import { CAPTURE_JPEG } from './fixtures.js'
import { buildEventLogRequest } from './push.js'
import type { SimEvent } from './sim-state.js'

const GOLDEN = readFileSync(new URL('./fixtures/push_httphosts_event_log_dsk1t673_RECONSTRUCTED_bytes.http', import.meta.url))

const listeners: Array<Awaited<ReturnType<typeof startRawListener>>> = []
afterEach(async () => { await Promise.all(listeners.splice(0).map((l) => l.close())) })

async function listener () {
  const l = await startRawListener()
  listeners.push(l)
  return l
}

const slotXml = (id: string, port: number, extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<HttpHostNotification version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><id>${id}</id><url>/w-access</url>
<protocolType>HTTP</protocolType><parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType>
<ipAddress>127.0.0.1</ipAddress><portNo>${port}</portNo><userName></userName><httpAuthenticationMethod>none</httpAuthenticationMethod>${extra}</HttpHostNotification>`

async function enrolled (kit: Kit, employeeNo: string) {
  await addUsers(kit.client, [employeeNo])
  const mp = faceMultipart({ faceLibType: 'blackFD', FDID: '1', FPID: employeeNo }, fakeJpeg())
  await kit.client.call('POST', '/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json', mp)
}

describe('httpHosts push: golden bytes', () => {
  it('rebuilds the DS-K1T673 push capture byte for byte from its values', () => {
    const identity = {
      model: 'DS-K1T673DX-BR', firmwareVersion: 'V3.18.0', firmwareReleasedDate: 'build 260305', deviceName: 'subdoorOne', shortSerial: 'AA8066966',
      serialNumber: 'DS-K1T673DX-BR20260305V031800ENAA8066966', macAddress: 'BC:5E:33:57:A5:CB', ipAddress: '192.168.1.81', ipv6Address: 'fe80::be5e:33ff:fe57:a5cb', realm: 'DS-4D43F695',
    }
    const ev: SimEvent = {
      serialNo: 572, frontSerialNo: 571, major: 3, minor: 1025, epochMs: 0, time: '2026-04-17T18:40:26-03:00',
      currentVerifyMode: 'invalid', remoteHostAddr: '192.168.1.138', cardReaderKind: 1, doorNo: 1, verifyNo: 244,
    }
    const payload = pushEnvelope({
      identity, portNo: 15501, dateTime: ev.time, eventType: 'AccessControllerEvent', eventState: 'active',
      eventDescription: 'Access Controller Event', accessControllerEvent: pushEventObject(ev, identity.deviceName),
    })
    const bytes = buildEventLogRequest({ ipAddress: '192.168.1.138', portNo: 15501, url: '/w-access' }, payload)
    expect(bytes.toString('latin1')).toBe(GOLDEN.toString('latin1'))
    expect(bytes.equals(GOLDEN)).toBe(true)
  })
})

describe('httpHosts push: live', () => {
  it('pushes a face pass with its picture to the configured slot in the capture structure', async () => {
    const kit = await startKit({ timeZone: 'CST-5:00:00' })
    const l = await listener()
    expect((await kit.client.call('PUT', '/ISAPI/Event/notification/httpHosts/1', { xml: slotXml('1', l.port) })).status).toBe(200)
    await enrolled(kit, '1024')
    const res = await fetch(`${kit.terminal.url}/_sim/events/face`, { method: 'POST', body: JSON.stringify({ employeeNo: '1024', picture: true }) })
    const outcome = await res.json() as { recognised: boolean, pushes: Array<{ status: number }>, event: { serialNo: number } }
    expect(outcome.recognised).toBe(true)
    expect(outcome.pushes).toMatchObject([{ slotId: '1', status: 200, serialNo: 2 }])
    expect(l.requests).toHaveLength(1)

    const got = splitPush(l.requests[0])
    const golden = splitPush(GOLDEN)
    expect(got.requestLine).toBe(golden.requestLine)
    const names = (hs: string[]) => hs.map((h) => h.slice(0, h.indexOf(':')))
    expect(names(got.headers)).toEqual(names(golden.headers))
    expect(got.headers).toContain(`Host: 127.0.0.1:${l.port}`)
    expect(got.headers).toContain(`Content-Length: ${got.body.length}`)
    expect(got.headers.filter((h) => !/^(Host|Content-Length):/.test(h))).toEqual(golden.headers.filter((h) => !/^(Host|Content-Length):/.test(h)))

    const [json, picture] = got.parts
    expect(json.headers.slice(0, 2)).toEqual(golden.parts[0].headers.slice(0, 2))
    const text = json.data.toString('utf8')
    expect(text).not.toContain('\r')
    expect(printCJson(JSON.parse(text))).toBe(text)
    const payload = JSON.parse(text)
    expect(Object.keys(payload)).toEqual(Object.keys(JSON.parse(golden.parts[0].data.toString('utf8'))))
    expect(payload).toMatchObject({
      ipAddress: '127.0.0.1', portNo: l.port, protocol: 'HTTP', macAddress: kit.terminal.identity.macAddress.toLowerCase(),
      dateTime: '2026-04-18T02:40:26+05:00', eventType: 'AccessControllerEvent', shortSerialNumber: kit.terminal.identity.shortSerial,
    })
    expect(payload.AccessControllerEvent).toMatchObject({
      deviceName: kit.terminal.identity.deviceName, majorEventType: 5, subEventType: 75, employeeNoString: '1024', name: 'Pupil 1024',
      serialNo: 2, frontSerialNo: 1, currentVerifyMode: 'faceOrFpOrCardOrPw', attendanceStatus: 'undefined', picturesNumber: 1,
    })
    expect(payload.AccessControllerEvent).not.toHaveProperty('currentEvent')
    expect(picture.headers).toEqual([
      'Content-Disposition: form-data; name="Picture"; filename="Picture.jpg"', 'Content-Type: image/jpeg',
      `Content-Length: ${CAPTURE_JPEG.length}`, 'Content-ID: pictureImage',
    ])
    expect(picture.data.equals(CAPTURE_JPEG)).toBe(true)
  })

  it('pushes a videoloss heartbeat to every configured slot and skips non-loopback or XML slots', async () => {
    const kit = await startKit()
    const [a, b] = [await listener(), await listener()]
    await kit.client.call('PUT', '/ISAPI/Event/notification/httpHosts/1', { xml: slotXml('1', a.port) })
    await kit.client.call('PUT', '/ISAPI/Event/notification/httpHosts/2', { xml: slotXml('2', b.port) })
    const pushes = await kit.terminal.pushHeartbeat()
    expect(pushes.map((p) => [p.slotId, p.status])).toEqual([['1', 200], ['2', 200]])
    const hb = JSON.parse(splitPush(a.requests[0]).parts[0].data.toString('utf8'))
    expect(hb).toMatchObject({ eventType: 'videoloss', eventState: 'inactive', eventDescription: 'videoloss alarm', portNo: a.port })
    expect(hb).not.toHaveProperty('AccessControllerEvent')

    await kit.client.call('PUT', '/ISAPI/Event/notification/httpHosts/1', { xml: slotXml('1', a.port).replace('127.0.0.1', '192.0.2.10') })
    await kit.client.call('PUT', '/ISAPI/Event/notification/httpHosts/2', { xml: slotXml('2', b.port).replace('>JSON<', '>XML<') })
    const skipped = await kit.terminal.recordFaceEvent({})
    expect(skipped.pushes.map((p) => p.skipped)).toEqual(['only loopback listeners are contacted', 'parameterFormatType XML is not simulated'])
    expect([a.requests.length, b.requests.length]).toEqual([1, 1])
  })

  it('records a failed delivery without retrying', async () => {
    const kit = await startKit()
    const l = await listener()
    await kit.client.call('PUT', '/ISAPI/Event/notification/httpHosts/1', { xml: slotXml('1', l.port) })
    await l.close()
    const outcome = await kit.terminal.recordFaceEvent({})
    expect(outcome.pushes).toHaveLength(1)
    expect(outcome.pushes[0].error).toBeTruthy()
    expect(kit.terminal.snapshot().pushes).toHaveLength(1)
  })
})
