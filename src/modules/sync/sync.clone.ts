import type { PrismaClient } from '../../generated/prisma/client.js'
import { isIsapiError, type IsapiClient, type IsapiUser, type IsapiUserInput } from '../../integrations/isapi/index.js'
import { inStep } from './sync.person.js'

export interface CloneContext {
  source: IsapiClient
  target: IsapiClient
}

const PLAN_BATCH = 500

/**
 * Lists the source's users into the job's items: those already on the target are recorded as
 * skipped at once. Idempotent, so a resumed share re-plans without touching items it already has.
 */
export async function planDeviceClone (db: PrismaClient, jobId: string, targetDeviceId: string, ctx: CloneContext) {
  const onTarget = new Set((await ctx.target.listUsers()).map((u) => u.employeeNo))
  let batch: string[] = []
  const flush = async () => {
    if (batch.length === 0) return
    const [row] = await db.$queryRawUnsafe<Array<{ pending: bigint, skipped: bigint }>>(`
      WITH ins AS (
        INSERT INTO sync_job_items (job_id, device_id, employee_no, action, status, error_message, finished_at)
        SELECT $1::uuid, $2::uuid, no, 'copy',
               (CASE WHEN no = ANY($4::text[]) THEN 'skipped' ELSE 'pending' END)::"SyncItemStatus",
               CASE WHEN no = ANY($4::text[]) THEN 'already on the target device' END,
               CASE WHEN no = ANY($4::text[]) THEN now() END
        FROM unnest($3::text[]) AS no
        ON CONFLICT (job_id, device_id, employee_no) DO NOTHING RETURNING status
      )
      SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'skipped') AS skipped FROM ins`,
    jobId, targetDeviceId, batch, batch.filter((no) => onTarget.has(no)))
    const pending = Number(row.pending)
    const skipped = Number(row.skipped)
    if (pending + skipped > 0) {
      await db.syncJob.update({ where: { id: jobId }, data: { total: { increment: pending + skipped }, done: { increment: skipped }, skipped: { increment: skipped } } })
    }
    batch = []
  }
  for await (const user of ctx.source.iterateUsers()) {
    batch.push(user.employeeNo)
    if (batch.length >= PLAN_BATCH) await flush()
  }
  await flush()
}

const copyRecord = (u: IsapiUser): IsapiUserInput => ({
  employeeNo: u.employeeNo,
  name: u.name,
  gender: u.gender,
  valid: {
    enable: u.valid?.enable ?? true,
    beginTime: u.valid?.beginTime ?? '2000-01-01T00:00:00',
    endTime: u.valid?.endTime ?? '2037-12-31T23:59:59',
  },
  ...(u.userType === 'normal' || u.userType === 'visitor' || u.userType === 'blackList' ? { userType: u.userType as 'normal' } : {}),
  ...(u.doorRight ? { doorRight: u.doorRight } : {}),
  ...(u.rightPlan.length > 0 ? { rightPlan: u.rightPlan } : {}),
})

/** Copies one person (record, then face) from source to target. */
export async function cloneDeviceItem (ctx: CloneContext, employeeNo: string): Promise<{ status: 'success' | 'skipped', errorMessage?: string }> {
  const user = await inStep('read', () => ctx.source.getUser(employeeNo))
  if (!user) return { status: 'skipped', errorMessage: 'no longer on the source device' }
  try {
    await inStep('user', () => ctx.target.createUser(copyRecord(user)))
  } catch (err) {
    // Created by the in-flight attempt before a restart: carry on with the face.
    if (!isIsapiError((err as { cause?: unknown }).cause, 'USER_EXISTS')) throw err
  }
  const face = await inStep('read', () => ctx.source.getFace(employeeNo))
  if (face?.faceURL) {
    const { bytes } = await inStep('read', () => ctx.source.downloadFace(face.faceURL as string))
    await inStep('face', async () => {
      try {
        await ctx.target.addFace(employeeNo, { image: bytes })
      } catch (err) {
        if (!isIsapiError(err, 'FACE_EXISTS')) throw err
        await ctx.target.replaceFace(employeeNo, { image: bytes })
      }
    })
  }
  return { status: 'success' }
}
