import { describe, expect, it, vi } from 'vitest'
import { startKit, xmlValue } from '../../test/simulator/sim-test-kit.js'

const INFO = '/ISAPI/System/deviceInfo'

const control = async (url: string, method: string, body?: unknown) => {
  const res = await fetch(url, { method, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, any> }
}

describe('simulated terminal: faults', () => {
  it('answers the next n requests with 503 deviceBusy, XML or JSON by URL', async () => {
    const { client, terminal } = await startKit()
    expect((await control(`${terminal.url}/_sim/faults`, 'POST', { busy: 2 })).json.faults).toMatchObject({ busy: 2 })
    const xml = await client.raw('GET', INFO)
    expect([xml.status, xmlValue(xml.text, 'statusCode'), xmlValue(xml.text, 'subStatusCode')]).toEqual([503, '2', 'deviceBusy'])
    const json = await client.raw('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json')
    expect([json.status, json.json().statusCode, json.json().subStatusCode]).toEqual([503, 2, 'deviceBusy'])
    expect((await client.call('GET', INFO)).status).toBe(200)
  })

  it('destroys the connection of the next n requests without a response', async () => {
    const { client, terminal } = await startKit()
    terminal.setFaults({ reset: 1 })
    await expect(client.raw('GET', INFO)).rejects.toThrow()
    expect((await client.call('GET', INFO)).status).toBe(200)
    expect(terminal.snapshot().requests[0]).toMatchObject({ path: INFO, status: 0, outcome: 'reset' })
  })

  it('hangs until the client gives up, then recovers when the fault is cleared', async () => {
    const { client, terminal } = await startKit()
    await control(`${terminal.url}/_sim/faults`, 'POST', { hang: true })
    await expect(client.raw('GET', INFO, { timeoutMs: 300 })).rejects.toThrow()
    await vi.waitFor(() => expect(terminal.snapshot().requests.at(-1)).toMatchObject({ outcome: 'dropped' }))
    expect((await control(`${terminal.url}/_sim/faults`, 'DELETE')).json.faults).toEqual({ hung: false })
    expect((await client.call('GET', INFO)).status).toBe(200)
  })

  it('answers requests held by a timed hang once it ends', async () => {
    const { client, terminal } = await startKit()
    terminal.setFaults({ hang: 50 })
    expect((await client.raw('GET', INFO)).status).toBe(401)
    expect(terminal.snapshot().faults.hung).toBe(false)
  })

  it('latency is the time from an accepted request to its answer; an operation done while the client gave up is logged as done', async () => {
    const { client, terminal } = await startKit()
    terminal.setFaults({ latencyUserMs: 300 })
    const user = '/ISAPI/AccessControl/UserInfo/Record?format=json'
    const body = { json: { UserInfo: { employeeNo: '77', name: 'Late', userType: 'normal', Valid: { enable: true, beginTime: '2026-01-01T00:00:00', endTime: '2030-01-01T00:00:00' } } } }
    await expect(client.call('POST', user, { ...body, timeoutMs: 100 })).rejects.toThrow()
    await vi.waitFor(() => expect(terminal.snapshot().requests.at(-1)).toMatchObject({ path: user, status: 200, outcome: 'dropped' }))
    // The terminal did the work: the person is there although the answer never arrived.
    expect(terminal.snapshot().users.map((u) => u.employeeNo)).toEqual(['77'])
  })

  it('refuses an invalid fault spec on the control API', async () => {
    const { terminal } = await startKit()
    const res = await control(`${terminal.url}/_sim/faults`, 'POST', { busy: -1 })
    expect(res.status).toBe(400)
    expect(res.json.error).toMatch(/busy/)
    expect((await control(`${terminal.url}/_sim/nope`, 'GET')).status).toBe(404)
  })
})

describe('simulated terminal: one request at a time', () => {
  it('processes 5 parallel requests strictly one after another and records that they overlapped', async () => {
    const { client, terminal } = await startKit()
    terminal.setFaults({ hang: true, latencyMs: 20 })
    const calls = Array.from({ length: 5 }, () => client.raw('GET', INFO))
    await vi.waitFor(() => expect(terminal.snapshot().maxConcurrentRequests).toBe(5))
    terminal.setFaults({ hang: false })
    const results = await Promise.all(calls)
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401, 401])
    expect(terminal.snapshot()).toMatchObject({ maxProcessingRequests: 1, maxConcurrentRequests: 5 })
    expect(terminal.snapshot().faults).toMatchObject({ latencyMs: 20, hung: false })
  })

  it('keeps maxConcurrentRequests at 1 for a client that waits for each answer', async () => {
    const { client, terminal } = await startKit()
    for (let i = 0; i < 10; i++) expect((await client.call('GET', INFO)).status).toBe(200)
    expect(terminal.snapshot()).toMatchObject({ maxConcurrentRequests: 1, maxProcessingRequests: 1 })
    expect(terminal.snapshot().requests).toHaveLength(20)
  })

  it('keeps control requests out of the device queue', async () => {
    const { terminal } = await startKit()
    terminal.setFaults({ hang: true })
    const state = await control(`${terminal.url}/_sim/state`, 'GET')
    expect(state.status).toBe(200)
    expect(state.json.faults.hung).toBe(true)
    expect(state.json.requests).toEqual([])
  })
})
