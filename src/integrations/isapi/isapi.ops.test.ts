import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { json, okJson, startFakeDevice, xml, type FakeDevice, type FakeReply, type FakeRequest } from './test/fake-device.js'
import { captureError, clientFactory } from './test/helpers.js'

const f = clientFactory()
const devices: FakeDevice[] = []
const fake = async (route: (req: FakeRequest) => FakeReply | undefined) => {
  const d = await startFakeDevice({ route })
  devices.push(d)
  return d
}
afterEach(async () => { await Promise.all(devices.splice(0).map((d) => d.close())) })
afterAll(() => f.close())

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('\r\n--not-a-boundary\r\n'), Buffer.alloc(64, 7), Buffer.from([0xff, 0xd9])])

describe('ISAPI faces, events, httpHosts and time against a fake terminal', () => {
  it('uploads a face as one multipart body with Content-Length, JSON part first, image as face.jpg', async () => {
    const dev = await fake(() => okJson())
    await f.make(dev.url).addFace('1024', { image: JPEG })
    const post = dev.requests.at(-1)!
    expect(post).toMatchObject({ method: 'POST', url: '/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json', outcome: 'ok' })
    const boundary = /boundary=(.+)$/.exec(post.contentType ?? '')?.[1] ?? ''
    expect(post.contentType).toBe(`multipart/form-data; boundary=${boundary}`)
    expect(Number(post.contentLength)).toBe(post.body.length)
    const expected = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="FaceDataRecord";\r\nContent-Type: application/json\r\n\r\n` +
        `{"faceLibType":"blackFD","FDID":"1","FPID":"1024"}\r\n--${boundary}\r\n` +
        'Content-Disposition: form-data; name="FaceImage"; filename="face.jpg";\r\nContent-Type: image/jpeg\r\n\r\n'),
      JPEG, Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    expect(post.body.equals(expected)).toBe(true)
    expect(dev.requests.filter((r) => !r.authorization).map((r) => `${r.method} ${r.url}`)).toEqual(['GET /ISAPI/System/deviceInfo'])
  })

  it('replaces via PUT FDSetUp, by URL too; maps face errors; refuses non-JPEG or oversized images locally', async () => {
    const seen: Array<{ method: string, url: string, body: string }> = []
    let answer: FakeReply = okJson()
    const dev = await fake((req) => { seen.push({ method: req.method, url: req.url, body: req.body.toString('latin1') }); return answer })
    const client = f.make(dev.url, { maxFaceBytes: 100 })
    await client.replaceFace('7', { image: JPEG })
    await client.replaceFace('7', { faceURL: 'http://10.0.0.5/faces/7.jpg' })
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['PUT /ISAPI/Intelligent/FDLib/FDSetUp?format=json', 'PUT /ISAPI/Intelligent/FDLib/FDSetUp?format=json'])
    expect(JSON.parse(seen[1].body)).toEqual({ faceLibType: 'blackFD', FDID: '1', FPID: '7', faceURL: 'http://10.0.0.5/faces/7.jpg' })
    answer = json({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'deviceUserAlreadyExistFace' }, 400)
    expect((await captureError(client.addFace('7', { image: JPEG }))).code).toBe('FACE_EXISTS')
    answer = json({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'SubpicAnalysisModelingError' }, 400)
    expect(await captureError(client.addFace('7', { image: JPEG }))).toMatchObject({ code: 'FACE_REJECTED', subStatusCode: 'SubpicAnalysisModelingError' })
    const count = dev.requests.length
    expect((await captureError(client.addFace('7', { image: Buffer.from('PNG....') }))).code).toBe('INVALID_ARGUMENT')
    expect((await captureError(client.addFace('7', { image: Buffer.concat([JPEG, Buffer.alloc(100)]) }))).code).toBe('INVALID_ARGUMENT')
    expect(dev.requests.length).toBe(count)
  })

  it('searches faces with the flat FDSearch body and downloads a faceURL by path only, keeping @WEB', async () => {
    const faceURL = 'http://192.168.1.64/LOCALS/pic/enrlFace/0/0000000001.jpg@WEB000000000029'
    const dev = await fake((req) => {
      if (req.path.endsWith('FDSearch')) {
        expect(req.json()).toMatchObject({ searchResultPosition: 0, maxResults: 30, FDID: '1', faceLibType: 'blackFD', FPID: '1024' })
        return json({ searchID: '1', responseStatusStrg: 'OK', numOfMatches: 1, totalMatches: 1, MatchList: [{ FPID: '1024', faceURL }] })
      }
      return { status: 200, body: JPEG, contentType: 'image/jpeg' }
    })
    const client = f.make(dev.url)
    const face = await client.getFace('1024')
    expect(face).toEqual({ employeeNo: '1024', faceURL, modelData: null })
    const image = await client.downloadFace(face!.faceURL!)
    expect(image.bytes.equals(JPEG)).toBe(true)
    const get = dev.requests.at(-1)!
    expect(get.url).toBe('/LOCALS/pic/enrlFace/0/0000000001.jpg@WEB000000000029')
    expect(get.authorization).toContain('uri="/LOCALS/pic/enrlFace/0/0000000001.jpg@WEB000000000029"')
    await client.deleteFaces(['1024'])
    expect(dev.requests.at(-1)).toMatchObject({ method: 'PUT', url: '/ISAPI/Intelligent/FDLib/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD' })
    expect(JSON.parse(dev.requests.at(-1)!.body.toString())).toEqual({ FPID: [{ value: '1024' }] })
  })

  it('AcsEvent: major always sent, times in the device offset without ms or Z, serial range, results sorted', async () => {
    const conds: Array<Record<string, unknown>> = []
    const dev = await fake((req) => {
      const cond = req.json<{ AcsEventCond: Record<string, unknown> }>().AcsEventCond
      conds.push(cond)
      const ev = (serialNo: number) => ({ major: 5, minor: 75, time: '2026-04-17T08:00:00+05:00', serialNo, employeeNoString: `00${serialNo}` })
      return cond.searchResultPosition === 0
        ? json({ AcsEvent: { searchID: cond.searchID, responseStatusStrg: 'MORE', numOfMatches: 3, totalMatches: 5, InfoList: [ev(12), ev(10), ev(11)] } })
        : json({ AcsEvent: { searchID: cond.searchID, responseStatusStrg: 'OK', numOfMatches: 2, totalMatches: 5, InfoList: [ev(14), ev(9)] } })
    })
    const client = f.make(dev.url)
    const start = new Date('2026-04-17T03:00:00.123Z')
    const events = await client.fetchEvents({ major: 5, beginSerialNo: 9, startTime: start, deviceUtcOffsetMinutes: 300 })
    expect(events.map((e) => e.serialNo)).toEqual([9, 10, 11, 12, 14])
    expect(events[0]).toMatchObject({ source: 'search', major: 5, minor: 75, employeeNo: '009', occurredAt: new Date('2026-04-17T03:00:00Z') })
    expect(conds[0]).toMatchObject({ major: 5, minor: 0, beginSerialNo: 9, startTime: '2026-04-17T08:00:00+05:00', maxResults: 30 })
    expect(conds.map((c) => c.searchResultPosition)).toEqual([0, 3])
    expect(conds[0].searchID).toBe(conds[1].searchID)
    const page = await client.searchEvents()
    expect(conds.at(-1)).toMatchObject({ major: 0, minor: 0 })
    expect(page.items.map((e) => e.serialNo)).toEqual([10, 11, 12])
    expect((await captureError(client.searchEvents({ startTime: start }))).code).toBe('INVALID_ARGUMENT')
  })

  it('httpHosts set changes ONE slot with PUT /httpHosts/<id> after a GET, keeping its other fields', async () => {
    const list = `<?xml version="1.0" encoding="UTF-8"?><HttpHostNotificationList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<HttpHostNotification><id>1</id><url>/vendor</url><protocolType>HTTP</protocolType><parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType><ipAddress>10.0.0.9</ipAddress><portNo>9000</portNo><httpAuthenticationMethod>none</httpAuthenticationMethod></HttpHostNotification>
<HttpHostNotification><id>2</id><url></url><protocolType>EHome</protocolType><parameterFormatType>XML</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType><ipAddress>0.0.0.0</ipAddress><portNo>0</portNo><httpAuthenticationMethod>none</httpAuthenticationMethod><SubscribeEvent><heartbeat>30</heartbeat><eventMode>all</eventMode></SubscribeEvent></HttpHostNotification>
</HttpHostNotificationList>`
    const puts: Array<{ url: string, body: string }> = []
    const dev = await fake((req) => {
      if (req.method === 'PUT') {
        puts.push({ url: req.url, body: req.body.toString() })
        return xml('<ResponseStatus><statusCode>1</statusCode><statusString>OK</statusString></ResponseStatus>')
      }
      return xml(list)
    })
    const client = f.make(dev.url)
    expect((await client.getHttpHosts()).map((h) => [h.id, h.isEmpty])).toEqual([['1', false], ['2', true]])
    await client.setHttpHost('2', { url: '/hik/events/tok', protocolType: 'HTTP', parameterFormatType: 'JSON', ipAddress: '10.0.0.2', portNo: 8080 })
    expect(puts).toHaveLength(1)
    expect(puts[0].url).toBe('/ISAPI/Event/notification/httpHosts/2')
    expect(puts[0].body).toContain('<HttpHostNotification version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><id>2</id><url>/hik/events/tok</url><protocolType>HTTP</protocolType><parameterFormatType>JSON</parameterFormatType>')
    expect(puts[0].body).toContain('<ipAddress>10.0.0.2</ipAddress><portNo>8080</portNo>')
    expect(puts[0].body).toContain('<SubscribeEvent><heartbeat>30</heartbeat><eventMode>all</eventMode></SubscribeEvent>')
    expect(puts[0].body).not.toContain('10.0.0.9')
    expect((await captureError(client.setHttpHost('3', { portNo: 1 }))).code).toBe('DEVICE_NOT_SUPPORTED')
    expect(dev.requests.some((r) => r.method === 'PUT' && r.url === '/ISAPI/Event/notification/httpHosts')).toBe(false)
  })

  it('sets the time with a POSIX-inverted zone and a localTime taken when the request is sent', async () => {
    const bodies: string[] = []
    const dev = await fake((req) => { bodies.push(req.body.toString()); return xml('<ResponseStatus><statusCode>1</statusCode></ResponseStatus>') })
    let now = Date.UTC(2026, 3, 17, 10, 0, 0)
    const client = f.make(dev.url, { now: () => now })
    const pending = client.setTime({ timeMode: 'manual', utcOffsetMinutes: 300 })
    now += 7_000
    await pending
    expect(bodies.at(-1)).toContain('<timeMode>manual</timeMode><localTime>2026-04-17T15:00:07+05:00</localTime><timeZone>CST-5:00:00</timeZone>')
  })
})
