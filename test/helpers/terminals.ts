import sharp from 'sharp'
import { afterAll } from 'vitest'
import { createIsapiClient, createIsapiDispatchers, createIsapiDeviceRegistry } from '../../src/integrations/isapi/index.js'
import { startSimulatedTerminal, type SimulatedTerminal, type SimulatedTerminalOptions } from '../../src/simulator/index.js'
import { createSchool, signedInAs } from '../factories/index.js'
import type { TestApp } from './build-test-app.js'
import { freePort } from './until.js'

const started: SimulatedTerminal[] = []
const dispatchers = createIsapiDispatchers()
afterAll(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()))
  await dispatchers.close()
})

/** A simulated terminal on 127.0.0.1, closed after the file's tests. */
export async function startTerminal (options: SimulatedTerminalOptions = {}) {
  const terminal = await startSimulatedTerminal(options)
  started.push(terminal)
  return terminal
}

const quietLog = { info () {}, warn () {}, debug () {} }

/** A direct ISAPI client for seeding and inspecting a terminal outside the app (own queue registry). */
export function seedClient (terminal: SimulatedTerminal, password = terminal.password) {
  return createIsapiClient({
    baseUrl: terminal.url, username: terminal.username, password,
    dispatcher: dispatchers.dispatcher, registry: createIsapiDeviceRegistry(), log: quietLog,
  })
}

export async function seedUsers (terminal: SimulatedTerminal, employeeNos: string[], name = (no: string) => `Pupil ${no}`) {
  const client = seedClient(terminal)
  for (const employeeNo of employeeNos) {
    await client.createUser({ employeeNo, name: name(employeeNo), gender: 'female', valid: { beginTime: '2026-09-01T00:00:00', endTime: '2037-12-31T23:59:59' } })
  }
  return client
}

/** A real JPEG face of the given side, with noise so its size is realistic. */
export async function faceJpeg (side = 240, seed = 1) {
  const raw = Buffer.alloc(side * side * 3)
  let x = seed
  for (let i = 0; i < raw.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    raw[i] = x >> 23
  }
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 80 }).toBuffer()
}

/** Registers `terminal` as a device of `schoolId` through the API. */
export async function addDevice (app: TestApp, headers: Record<string, string>, schoolId: string, terminal: SimulatedTerminal, over: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'POST', url: `/api/v1/schools/${schoolId}/devices`, headers,
    payload: { name: `Gate ${terminal.port}`, direction: 'in', host: terminal.host, port: terminal.port, username: terminal.username, password: terminal.password, ...over },
  })
  if (res.statusCode !== 201) throw new Error(`device create failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: string, deviceId: string | null }
}

/**
 * A terminal registered in the school whose connection test passed (so its serial and MAC are
 * known), holding these persons, each with a face.
 */
export async function connectedTerminal (app: TestApp, headers: Record<string, string>, schoolId: string, options: SimulatedTerminalOptions, employeeNos: string[] = []) {
  const terminal = await startTerminal(options)
  const device = await addDevice(app, headers, schoolId, terminal)
  const test = await app.inject({ method: 'POST', url: `/api/v1/schools/${schoolId}/devices/${device.id}/test-connection`, headers })
  if (test.statusCode !== 200) throw new Error(`test-connection: ${test.statusCode} ${test.body}`)
  const seed = await seedUsers(terminal, employeeNos)
  for (const no of employeeNos) await seed.addFace(no, { image: await faceJpeg(240, Number(no)) })
  return { terminal, device }
}

let nextIndex = 200
/** A distinct terminal index (serial, MAC) for this test file. */
export const nextTerminalIndex = () => nextIndex++

/** A school and its admin with `n` simulated terminals as devices, plus one device on a closed port when `offline`. */
export async function schoolWithTerminals (app: TestApp, n: number, o: { offline?: boolean } = {}) {
  const school = await createSchool(app)
  const admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
  const terminals: Array<{ id: string, t: SimulatedTerminal }> = []
  for (let i = 0; i < n; i++) {
    const t = await startTerminal({ index: nextTerminalIndex() })
    terminals.push({ id: (await addDevice(app, admin, school.id, t)).id, t })
  }
  let offline: { id: string, port: number } | undefined
  if (o.offline) {
    const port = await freePort()
    const template = terminals[0]?.t ?? await startTerminal({ index: nextTerminalIndex() })
    offline = { id: (await addDevice(app, admin, school.id, template, { port, name: 'Gate offline' })).id, port }
  }
  return { school, admin, terminals, offline }
}
