import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createIsapiDispatchers } from './isapi.client.js'
import { registerIsapiMetrics } from './isapi.metrics.js'
import { json, startFakeDevice, xml, type FakeDevice } from './test/fake-device.js'
import { DEVICE_INFO_XML, captureError, clientFactory } from './test/helpers.js'

const f = clientFactory()
const devices: FakeDevice[] = []
const servers: Server[] = []
const fake = async (o: Parameters<typeof startFakeDevice>[0]) => {
  const d = await startFakeDevice(o)
  devices.push(d)
  return d
}
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()))
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve) })))
})
afterAll(() => f.close())

const listen = async (server: Server) => {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

describe('ISAPI transport: answers, failures and serialisation', () => {
  it('parses an XML body labelled application/json', async () => {
    const dev = await fake({ route: () => ({ status: 200, body: DEVICE_INFO_XML, contentType: 'application/json' }) })
    const info = await f.make(dev.url).getDeviceInfo()
    expect(info).toMatchObject({ macAddress: 'bc:5e:33:57:a5:cb', shortSerial: 'AA8066966', deviceID: '255' })
  })

  it('HTTP 200 carrying statusCode 4 notSupport is DEVICE_NOT_SUPPORTED; a 404 too', async () => {
    const dev = await fake({ route: (req) => (req.path.endsWith('FDSearch') ? json({ statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'notSupport', errorCode: 1073741825, errorMsg: 'notSupport' }) : { status: 404, body: '' }) })
    const client = f.make(dev.url)
    expect(await captureError(client.searchFaces())).toMatchObject({ code: 'DEVICE_NOT_SUPPORTED', httpStatus: 200, statusCode: 4, subStatusCode: 'notSupport' })
    expect(await captureError(client.getStatus())).toMatchObject({ code: 'DEVICE_NOT_SUPPORTED', httpStatus: 404 })
  })

  it('busy (503 deviceBusy, or statusCode 2) is DEVICE_BUSY; other content errors are DEVICE_REJECTED with details', async () => {
    let answer = json({ statusCode: 2, statusString: 'Device Busy', subStatusCode: 'deviceBusy' }, 503)
    const dev = await fake({ route: () => answer })
    const client = f.make(dev.url)
    expect((await captureError(client.countUsers())).code).toBe('DEVICE_BUSY')
    answer = json({ statusCode: 2, statusString: 'Device Busy' })
    expect((await captureError(client.countUsers())).code).toBe('DEVICE_BUSY')
    answer = json({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'badJsonContent', errorMsg: 'startTime' }, 400)
    expect(await captureError(client.countUsers())).toMatchObject({ code: 'DEVICE_REJECTED', subStatusCode: 'badJsonContent', errorMsg: 'startTime', statusCode: 6 })
    answer = json({ UserInfoCount: { userNumber: 'lots' } })
    expect((await captureError(client.countUsers())).code).toBe('DEVICE_BAD_RESPONSE')
  })

  it('a device that never answers is DEVICE_TIMEOUT', async () => {
    const dev = await fake({ route: () => undefined })
    const err = await captureError(f.make(dev.url, { timeouts: { defaultMs: 300 } }).getDeviceInfo())
    expect(err.code).toBe('DEVICE_TIMEOUT')
  })

  it('a refused connection is DEVICE_UNREACHABLE', async () => {
    const port = await listen(createServer())
    await new Promise((resolve) => servers.pop()?.close(resolve))
    const err = await captureError(f.make(`http://127.0.0.1:${port}`).getDeviceInfo())
    expect(err).toMatchObject({ code: 'DEVICE_UNREACHABLE', deviceKey: `127.0.0.1:${port}` })
  })

  it('a connection reset mid-request is DEVICE_UNREACHABLE', async () => {
    const dev = await fake({ route: (req) => { req.raw.req.socket.destroy(); return undefined } })
    expect((await captureError(f.make(dev.url).getDeviceInfo())).code).toBe('DEVICE_UNREACHABLE')
  })

  it('runs one request at a time per device across client instances, while two devices run in parallel', async () => {
    const slow = () => new Promise<ReturnType<typeof xml>>((resolve) => setTimeout(() => resolve(xml(DEVICE_INFO_XML)), 5))
    const dev = await fake({ route: slow })
    const a = f.make(dev.url, { registry: undefined })
    const b = f.make(dev.url, { registry: undefined })
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).getDeviceInfo()))
    expect(dev.requests.length).toBeGreaterThanOrEqual(10)
    expect(dev.maxInFlight).toBe(1)

    let seenA!: () => void
    let seenB!: () => void
    const aSeen = new Promise<void>((resolve) => { seenA = resolve })
    const bSeen = new Promise<void>((resolve) => { seenB = resolve })
    // Each device answers only once the other one has a request in flight: serialising them would deadlock.
    const devA = await fake({ requireAuth: false, route: async () => { seenA(); await bSeen; return xml(DEVICE_INFO_XML) } })
    const devB = await fake({ requireAuth: false, route: async () => { seenB(); await aSeen; return xml(DEVICE_INFO_XML) } })
    const both = await Promise.all([f.make(devA.url, { registry: undefined }).getDeviceInfo(), f.make(devB.url, { registry: undefined }).getDeviceInfo()])
    expect(both).toHaveLength(2)
  })

  it('logs every call without secrets and counts it in Prometheus metrics', async () => {
    const registry = new Registry()
    const metrics = registerIsapiMetrics(registry)
    expect(registerIsapiMetrics(registry)).toBeDefined()
    const dev = await fake({ route: (req) => (req.path.endsWith('Count') ? json({ UserInfoCount: { userNumber: 3 } }) : { status: 503, body: '' }) })
    const client = f.make(dev.url, { metrics, password: 'Sup3r-Secret!' })
    dev.setPassword('Sup3r-Secret!')
    expect((await client.countUsers()).userNumber).toBe(3)
    await captureError(client.getStatus())
    const text = await registry.metrics()
    expect(text).toMatch(/isapi_requests_total\{operation="userCount",outcome="ok"\} 1/)
    expect(text).toMatch(/isapi_requests_total\{operation="status",outcome="DEVICE_BUSY"\} 1/)
    expect(text).toMatch(/isapi_request_duration_seconds_count\{operation="userCount",outcome="ok"\} 1/)
    const logged = JSON.stringify(f.logs)
    expect(f.logs.filter((l) => l.obj.device === `127.0.0.1:${dev.port}`).map((l) => [l.level, l.obj.operation, l.obj.outcome]))
      .toEqual(expect.arrayContaining([['info', 'userCount', 'ok'], ['warn', 'status', 'DEVICE_BUSY']]))
    expect(logged).not.toContain('Sup3r-Secret!')
    expect(logged).not.toMatch(/Digest |response=|authorization/i)
  })

  it('HTTPS: a self-signed certificate is refused by default and accepted only via the insecure dispatcher', async () => {
    const dir = new URL('./test/fixtures/', import.meta.url)
    const server = createHttpsServer({ key: readFileSync(new URL('self-signed.key', dir)), cert: readFileSync(new URL('self-signed.crt', dir)) },
      (_req, res) => { res.writeHead(200, { 'content-type': 'application/xml' }); res.end(DEVICE_INFO_XML) })
    const port = await listen(server as unknown as Server)
    const tls = createIsapiDispatchers({ connectTimeoutMs: 2_000 })
    try {
      const strict = f.make(`https://127.0.0.1:${port}`, { dispatcher: tls.dispatcher, insecureDispatcher: tls.insecureDispatcher })
      expect((await captureError(strict.getDeviceInfo())).code).toBe('DEVICE_UNREACHABLE')
      const lenient = f.make(`https://127.0.0.1:${port}`, { dispatcher: tls.dispatcher, insecureDispatcher: tls.insecureDispatcher, acceptSelfSignedCert: true })
      expect((await lenient.getDeviceInfo()).model).toBe('DS-K1T673DX-BR')
      expect(() => f.make(`https://127.0.0.1:${port}`, { acceptSelfSignedCert: true })).toThrow(/insecureDispatcher/)
    } finally {
      await tls.close()
    }
  })
})
