import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { faceMultipart, fakeJpeg } from '../../test/simulator/digest-client.js'
import type { TestClient } from '../../test/simulator/digest-client.js'
import { addUsers, startKit } from '../../test/simulator/sim-test-kit.js'
import type { Kit } from '../../test/simulator/sim-test-kit.js'

const ACS = '/ISAPI/AccessControl/AcsEvent?format=json'
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)

const acsSearch = (client: TestClient, cond: Record<string, unknown>) =>
  client.call('POST', ACS, { json: { AcsEventCond: { searchID: 'ev-1', searchResultPosition: 0, maxResults: 30, major: 0, minor: 0, ...cond } } })

async function enrol (kit: Kit, employeeNo: string) {
  await addUsers(kit.client, [employeeNo])
  const mp = faceMultipart({ faceLibType: 'blackFD', FDID: '1', FPID: employeeNo }, fakeJpeg())
  await kit.client.call('POST', '/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json', mp)
}

async function allSerials (client: TestClient, cond: Record<string, unknown> = {}) {
  const serials: number[] = []
  for (let pos = 0; ;) {
    const page = (await acsSearch(client, { ...cond, searchResultPosition: pos, maxResults: 50 })).json().AcsEvent
    if (page.responseStatusStrg === 'NO MATCH') return serials
    serials.push(...page.InfoList.map((e: { serialNo: number }) => e.serialNo))
    pos += page.numOfMatches
  }
}

describe('simulated terminal: AcsEvent search', () => {
  it('returns every event exactly once across pages, in an order that is not serial order', async () => {
    const kit = await startKit()
    await enrol(kit, '1024')
    for (let i = 0; i < 40; i++) await kit.terminal.recordFaceEvent({ employeeNo: '1024' })
    const serials = await allSerials(kit.client)
    expect(serials).toHaveLength(41)
    expect(sorted(serials)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1))
    expect(serials).not.toEqual(sorted(serials))
    expect(await allSerials(kit.client)).toEqual(serials)
  })

  it('reports MORE and OK pages of at most 30 and omits InfoList on NO MATCH', async () => {
    const kit = await startKit()
    for (let i = 0; i < 34; i++) await kit.terminal.recordFaceEvent({})
    const first = (await acsSearch(kit.client, { maxResults: 100 })).json().AcsEvent
    expect([first.searchID, first.responseStatusStrg, first.numOfMatches, first.totalMatches]).toEqual(['ev-1', 'MORE', 30, 35])
    const last = (await acsSearch(kit.client, { searchResultPosition: 30 })).json().AcsEvent
    expect([last.responseStatusStrg, last.numOfMatches]).toEqual(['OK', 5])
    const none = (await acsSearch(kit.client, { major: 1 })).json()
    expect(none).toEqual({ AcsEvent: { searchID: 'ev-1', responseStatusStrg: 'NO MATCH', numOfMatches: 0, totalMatches: 0 } })
  })

  it('rejects startTime/endTime with Z or milliseconds as badJsonContent, and requires major', async () => {
    const { client } = await startKit()
    const z = await acsSearch(client, { startTime: '2026-04-17T00:00:00Z', endTime: '2026-04-18T00:00:00+05:00' })
    expect([z.status, z.json()]).toEqual([400, { statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'badJsonContent', errorMsg: 'startTime' }])
    const ms = await acsSearch(client, { startTime: '2026-04-17T00:00:00+05:00', endTime: '2026-04-25T04:20:09.812+05:00' })
    expect(ms.json()).toMatchObject({ subStatusCode: 'badJsonContent', errorMsg: 'endTime' })
    const noMajor = await client.call('POST', ACS, { json: { AcsEventCond: { searchID: '1', searchResultPosition: 0, maxResults: 5 } } })
    expect(noMajor.json()).toMatchObject({ subStatusCode: 'MessageParametersLack', errorMsg: 'major' })
  })

  it('filters by offset time window, serial range, major/minor and employee', async () => {
    const kit = await startKit()
    await enrol(kit, '7')
    for (let i = 0; i < 6; i++) {
      kit.clock.advance(60_000)
      await kit.terminal.recordFaceEvent({ employeeNo: i % 2 === 0 ? '7' : undefined })
    }
    const window = await allSerials(kit.client, { startTime: '2026-04-18T02:42:26+05:00', endTime: '2026-04-17T21:44:26+00:00' })
    expect(sorted(window)).toEqual([3, 4, 5])
    expect(sorted(await allSerials(kit.client, { beginSerialNo: 4, endSerialNo: 6 }))).toEqual([4, 5, 6])
    expect(sorted(await allSerials(kit.client, { major: 5, minor: 75 }))).toEqual([2, 4, 6])
    expect(sorted(await allSerials(kit.client, { major: 5, minor: 76 }))).toEqual([3, 5, 7])
    expect(sorted(await allSerials(kit.client, { employeeNoString: '7' }))).toEqual([2, 4, 6])
    const total = await kit.client.call('POST', '/ISAPI/AccessControl/AcsEventTotalNum?format=json', { json: { AcsEventTotalNumCond: { major: 5, minor: 0 } } })
    expect(total.json()).toEqual({ AcsEventTotalNum: { totalNum: 6 } })
  })

  it('shapes InfoList entries like the K1A sample and serves the capture picture behind digest', async () => {
    const kit = await startKit()
    await enrol(kit, '1024')
    await kit.terminal.recordFaceEvent({ employeeNo: '1024', picture: true })
    const info = (await acsSearch(kit.client, { major: 5, minor: 75 })).json().AcsEvent.InfoList[0]
    const sample = JSON.parse(readFileSync(new URL('./fixtures/acsevent_search_response_more_dsk1a340fwx.json', import.meta.url), 'utf8'))
    expect(Object.keys(info).slice(0, -2)).toEqual(Object.keys(sample.AcsEvent.InfoList[0]))
    expect(info).toMatchObject({ major: 5, minor: 75, employeeNoString: '1024', name: 'Pupil 1024', serialNo: 2, time: '2026-04-18T02:40:26+05:00', picturesNumber: 1 })
    const path = (info.pictureURL as string).replace(/^http:\/\/[^/]+/, '')
    expect((await kit.client.raw('GET', path)).status).toBe(401)
    const pic = await kit.client.call('GET', path)
    expect([pic.status, pic.headers['content-type'], pic.body.subarray(0, 3).toString('hex')]).toEqual([200, 'image/jpeg', 'ffd8ff'])
  })

  it('records an unrecognised face (5/76, no name) for someone without an enrolled face', async () => {
    const kit = await startKit()
    await addUsers(kit.client, ['55'])
    const outcome = await kit.terminal.recordFaceEvent({ employeeNo: '55' })
    expect(outcome.recognised).toBe(false)
    expect(outcome.event).toMatchObject({ major: 5, minor: 76, serialNo: 2, frontSerialNo: 1 })
    expect(outcome.event.employeeNoString).toBeUndefined()
  })
})
