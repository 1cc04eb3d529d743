import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { faceMultipart, fakeJpeg } from '../../test/simulator/digest-client.js'
import type { TestClient } from '../../test/simulator/digest-client.js'
import { addUsers, startKit } from '../../test/simulator/sim-test-kit.js'

const FD = '/ISAPI/Intelligent/FDLib'
const record = (fpid: string, extra: Record<string, unknown> = {}) => ({ faceLibType: 'blackFD', FDID: '1', FPID: fpid, ...extra })

const upload = (client: TestClient, method: 'POST' | 'PUT', fpid: string, image: Buffer, name?: string) => {
  const mp = faceMultipart(record(fpid), image, name)
  return client.call(method, method === 'POST' ? `${FD}/FaceDataRecord?format=json` : `${FD}/FDSetUp?format=json`, mp)
}

const fdSearch = (client: TestClient, extra: Record<string, unknown> = {}) =>
  client.call('POST', `${FD}/FDSearch?format=json`, { json: { searchResultPosition: 0, maxResults: 30, faceLibType: 'blackFD', FDID: '1', ...extra } })

/** Path + the @WEB suffix, as clients must request a faceURL (the reported host may be unreachable). */
const pathOf = (faceURL: string) => faceURL.replace(/^http:\/\/[^/]+/, '')

const servers: Array<ReturnType<typeof createServer>> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

async function imageServer (routes: Record<string, Buffer>) {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    const body = routes[req.url ?? '']
    res.writeHead(body ? 200 : 404, { 'content-type': 'image/jpeg' })
    res.end(body ?? '')
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

describe('simulated terminal: face upload', () => {
  it('stores a multipart face, counts it, and refuses a second one with deviceUserAlreadyExistFace', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1001'])
    expect((await upload(client, 'POST', '1001', fakeJpeg(4000))).json()).toMatchObject({ statusCode: 1 })
    const count = (await client.call('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json')).json()
    expect(count.UserInfoCount).toEqual({ userNumber: 1, bindFaceUserNumber: 1 })
    const again = await upload(client, 'POST', '1001', fakeJpeg(3000))
    expect([again.status, again.json().statusCode, again.json().subStatusCode]).toEqual([400, 6, 'deviceUserAlreadyExistFace'])
  })

  it('replaces the face through FDSetUp and serves the new bytes at the new faceURL only', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1001'])
    await upload(client, 'POST', '1001', fakeJpeg(4000, 0x11))
    const first = (await fdSearch(client)).json().MatchList[0].faceURL
    const replacement = fakeJpeg(5000, 0x22)
    expect((await upload(client, 'PUT', '1001', replacement, 'img')).status).toBe(200)
    const found = (await fdSearch(client, { FPID: '1001' })).json()
    expect(found).toMatchObject({ responseStatusStrg: 'OK', numOfMatches: 1, totalMatches: 1 })
    const faceURL: string = found.MatchList[0].faceURL
    expect(faceURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/LOCALS\/pic\/enrlFace\/0\/\d{10}\.jpg@WEB000000000029$/)
    expect(faceURL).not.toBe(first)
    const pic = await client.call('GET', pathOf(faceURL))
    expect(pic.status).toBe(200)
    expect(pic.headers['content-type']).toBe('image/jpeg')
    expect(pic.body.equals(replacement)).toBe(true)
    expect((await client.call('GET', pathOf(first))).status).toBe(404)
  })

  it('needs the user to exist, a JPEG, and at most 200 KB', async () => {
    const { client } = await startKit()
    expect((await upload(client, 'POST', '77', fakeJpeg())).json()).toMatchObject({ subStatusCode: 'employeeNoNotExist' })
    await addUsers(client, ['77'])
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
    const notJpeg = await upload(client, 'POST', '77', png)
    expect([notJpeg.status, notJpeg.json().statusCode, notJpeg.json().subStatusCode]).toEqual([400, 6, 'faceQualityTooLow'])
    expect((await upload(client, 'POST', '77', fakeJpeg(200 * 1024 + 1))).json()).toMatchObject({ subStatusCode: 'faceQualityTooLow' })
    expect((await upload(client, 'POST', '77', fakeJpeg(200 * 1024))).status).toBe(200)
  })

  it('rejects a multipart body whose first part is the picture', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1'])
    const boundary = 'b0undary'
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="img"; filename="f.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      fakeJpeg(), Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    const res = await client.call('POST', `${FD}/FaceDataRecord?format=json`, { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } })
    expect(res.json()).toMatchObject({ statusCode: 5, subStatusCode: 'badJsonFormat' })
  })
})

describe('simulated terminal: faceURL', () => {
  it('downloads the picture from a loopback URL', async () => {
    const { client, terminal } = await startKit()
    await addUsers(client, ['5'])
    const jpeg = fakeJpeg(6000, 0x33)
    const host = await imageServer({ '/faces/5.jpg': jpeg })
    const res = await client.call('POST', `${FD}/FaceDataRecord?format=json`, { json: record('5', { faceURL: `${host.url}/faces/5.jpg` }) })
    expect(res.status).toBe(200)
    expect(host.hits).toEqual(['/faces/5.jpg'])
    expect(terminal.snapshot().faces[0]).toMatchObject({ FPID: '5', size: 6000 })
  })

  it('answers urlDownloadFail for a missing picture and for any non-loopback URL, without fetching it', async () => {
    const { client } = await startKit()
    await addUsers(client, ['5'])
    const host = await imageServer({})
    const missing = await client.call('POST', `${FD}/FaceDataRecord?format=json`, { json: record('5', { faceURL: `${host.url}/nope.jpg` }) })
    expect([missing.status, missing.json().subStatusCode]).toEqual([400, 'urlDownloadFail'])
    const external = await client.call('POST', `${FD}/FaceDataRecord?format=json`, { json: record('5', { faceURL: 'http://203.0.113.7/face.jpg' }) })
    expect(external.json()).toMatchObject({ statusCode: 6, subStatusCode: 'urlDownloadFail' })
    const dataUrl = await client.call('POST', `${FD}/FaceDataRecord?format=json`, { json: record('5', { faceURL: 'data:image/jpeg;base64,/9j/' }) })
    expect(dataUrl.json()).toMatchObject({ subStatusCode: 'badJsonContent', errorMsg: 'faceURL' })
  })

  it("copies a face from the terminal's own LOCALS URL", async () => {
    const { client } = await startKit()
    await addUsers(client, ['1', '2'])
    await upload(client, 'POST', '1', fakeJpeg(3000, 0x44))
    const faceURL = (await fdSearch(client, { FPID: '1' })).json().MatchList[0].faceURL
    const res = await client.call('PUT', `${FD}/FDSetUp?format=json`, { json: record('2', { faceURL }) })
    expect(res.status).toBe(200)
    const copy = (await fdSearch(client, { FPID: '2' })).json().MatchList[0].faceURL
    expect((await client.call('GET', pathOf(copy))).body.equals(fakeJpeg(3000, 0x44))).toBe(true)
    const viaName = await client.call('PUT', `${FD}/FDSetUp?format=json`, { json: record('2', { faceURL: faceURL.replace('127.0.0.1', 'localhost') }) })
    expect(viaName.status).toBe(200)
  })
})

describe('simulated terminal: face search and delete', () => {
  it('pages faces, deletes by FPID, and drops a face with its user', async () => {
    const { client } = await startKit()
    const ids = Array.from({ length: 32 }, (_, i) => String(100 + i))
    await addUsers(client, ids)
    for (const id of ids) await upload(client, 'POST', id, fakeJpeg(500))
    const page1 = (await fdSearch(client, { maxResults: 100 })).json()
    expect([page1.responseStatusStrg, page1.numOfMatches, page1.totalMatches]).toEqual(['MORE', 30, 32])
    const del = await client.call('PUT', `${FD}/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD`, { json: { FPID: [{ value: '100' }] } })
    expect(del.json()).toMatchObject({ statusCode: 1 })
    await client.call('PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', { json: { UserInfoDelCond: { EmployeeNoList: [{ employeeNo: '101' }] } } })
    const rest = (await fdSearch(client, { searchResultPosition: 0 })).json()
    expect(rest.totalMatches).toBe(30)
    expect((await fdSearch(client, { FPID: '100' })).json()).not.toHaveProperty('MatchList')
    expect((await fdSearch(client, { FPID: '100' })).json().responseStatusStrg).toBe('NO MATCH')
  })

  it('requires FDID and faceLibType on the delete URL', async () => {
    const { client } = await startKit()
    const res = await client.call('PUT', `${FD}/FDSearch/Delete?format=json`, { json: { FPID: [{ value: '1' }] } })
    expect(res.json()).toMatchObject({ subStatusCode: 'MessageParametersLack', errorMsg: 'faceLibType' })
  })
})
