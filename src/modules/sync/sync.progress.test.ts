import { beforeAll, describe, expect, it } from 'vitest'
import { createSchool } from '../../../test/factories/index.js'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import type { SqlRunner } from './sync.repository.js'
import { createShareProgress } from './sync.progress.js'

describe('share progress counters', () => {
  let app: TestApp
  let sql: SqlRunner

  beforeAll(async () => {
    app = await buildTestApp()
    sql = async (_name, text, values) => ({ rows: await app.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(text, ...values) })
  })

  async function runningJob () {
    const school = await createSchool(app)
    return app.prisma.syncJob.create({ data: { schoolId: school.id, type: 'sync', params: {}, status: 'running', total: 10 } })
  }

  it('adds what a share counted to its job, and learns of a cancel', async () => {
    const job = await runningJob()
    const progress = createShareProgress(sql, job.id, app.log)
    progress.add('success', null)
    progress.add('failed', 'employeeNo too long')
    progress.add('skipped', 'unchanged')
    await progress.flushNow()
    expect(await app.prisma.syncJob.findUniqueOrThrow({ where: { id: job.id } }))
      .toMatchObject({ done: 3, success: 1, failed: 1, skipped: 1, lastError: 'employeeNo too long' })
    expect(progress.checkpoint()).toBe(false)

    await app.prisma.syncJob.update({ where: { id: job.id }, data: { cancelledAt: new Date() } })
    const idle = createShareProgress(sql, job.id, app.log)
    await idle.flushNow()
    expect(idle.checkpoint(), 'a flush with nothing counted still reads the cancel').toBe(true)
    progress.add('success', null)
    await progress.flushNow()
    expect(progress.checkpoint(), 'a flush that adds counts reads the cancel').toBe(true)
    expect(await app.prisma.syncJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ done: 4, success: 2 })
  })

  it('leaves a closed job alone: closing recounted it from its items', async () => {
    const job = await runningJob()
    await app.prisma.syncJob.update({ where: { id: job.id }, data: { status: 'succeeded', done: 10, success: 10, finishedAt: new Date() } })
    const progress = createShareProgress(sql, job.id, app.log)
    progress.add('success', null)
    await progress.settle()
    expect(await app.prisma.syncJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ done: 10, success: 10 })
  })
})
