import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, signedInAs } from '../../../test/factories/index.js'
import { createInboxWriter, type InboxRow } from './webhook.routes.js'

const row = (n: number): InboxRow => ({ schoolId: 's', direction: 'in', remoteIp: '127.0.0.1', contentType: null, body: Buffer.from(String(n)), bodyTruncated: false })

describe('inbox writer', () => {
  it('writes at once when idle and batches what arrives while its writers are busy', async () => {
    const statements: number[][] = []
    const write = createInboxWriter(async (rows) => {
      statements.push(rows.map((r) => Number(r.body.toString())))
      await sleep(20)
    }, { writers: 1, maxBatch: 3 })
    await write(row(0))
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => write(row(n))))
    expect(statements).toEqual([[0], [1], [2, 3, 4], [5, 6]])
  })

  it('retries a failed batch row by row, so only the bad row fails', async () => {
    const write = createInboxWriter(async (rows) => {
      await sleep(5)
      if (rows.some((r) => r.body.toString() === '2')) throw new Error('bad row')
    }, { writers: 1 })
    const results = await Promise.allSettled([0, 1, 2, 3].map((n) => write(row(n))))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  })
})

describe('webhook intake under concurrency', () => {
  let app: TestApp
  beforeAll(async () => { app = await buildTestApp() })

  it('keeps every concurrently acknowledged push byte for byte, with its direction, content type and source', async () => {
    const school = await createSchool(app)
    const admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
    const info = (await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/webhook-info`, headers: admin })).json()
    const secret = (d: string) => info.directions.find((x: { direction: string }) => x.direction === d).secret as string
    const bodies = Array.from({ length: 60 }, (_, i) => JSON.stringify({
      macAddress: 'aa:bb:cc:00:00:01', dateTime: '2026-09-01T07:55:00+05:00', eventType: 'AccessControllerEvent', eventState: 'active', note: 'é'.repeat(i),
      AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: `E${i}`, serialNo: 1000 + i },
    }))
    const answers = await Promise.all(bodies.map((body, i) => app.inject({
      method: 'POST', url: `/webhook/${school.id}/${i % 2 ? 'out' : 'in'}/${secret(i % 2 ? 'out' : 'in')}`, payload: body,
      headers: { 'content-type': i % 3 ? 'application/json' : 'text/plain' },
    })))
    expect(answers.map((a) => a.statusCode)).toEqual(Array(60).fill(200))
    const rows = await app.prisma.eventInbox.findMany({ where: { schoolId: school.id } })
    expect(rows).toHaveLength(60)
    const byBody = new Map(rows.map((r) => [Buffer.from(r.body).toString('utf8'), r]))
    bodies.forEach((body, i) => {
      expect(byBody.get(body)).toMatchObject({ direction: i % 2 ? 'out' : 'in', contentType: i % 3 ? 'application/json' : 'text/plain', remoteIp: '127.0.0.1', bodyTruncated: false })
    })
  })
})
