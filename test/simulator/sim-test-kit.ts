import { afterEach } from 'vitest'
import { createManualClock, startSimulatedTerminal } from '../../src/simulator/index.js'
import type { ManualClock, SimulatedTerminal, SimulatedTerminalOptions } from '../../src/simulator/index.js'
import { createTestClient, userBody } from './digest-client.js'
import type { TestClient } from './digest-client.js'

export interface Kit {
  terminal: SimulatedTerminal
  client: TestClient
  clock: ManualClock
}

const open: Kit[] = []

afterEach(async () => {
  const kits = open.splice(0)
  await Promise.all(kits.map(async (k) => {
    await k.client.close()
    await k.terminal.close()
  }))
})

/** A terminal on 127.0.0.1:0 with a hand-driven clock; closed after each test. */
export async function startKit (options: SimulatedTerminalOptions = {}, start = '2026-04-17T21:40:26Z'): Promise<Kit> {
  const clock = createManualClock(start)
  const terminal = await startSimulatedTerminal({ now: clock.now, ...options })
  const client = createTestClient({ baseUrl: terminal.url, username: terminal.username, password: terminal.password })
  const kit = { terminal, client, clock }
  open.push(kit)
  return kit
}

/** Text of the first <tag> element, namespace-agnostic enough for ISAPI replies. */
export function xmlValue (xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]
}

export async function addUsers (client: TestClient, employeeNos: string[]) {
  for (const no of employeeNos) {
    const res = await client.call('POST', '/ISAPI/AccessControl/UserInfo/Record?format=json', { json: userBody(no) })
    if (res.status !== 200) throw new Error(`adding ${no} failed: ${res.status} ${res.text}`)
  }
}
