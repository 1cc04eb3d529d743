import type { PersonDevice, Student } from '../../generated/prisma/client.js'
import { localDateOf } from '../../lib/timezone.js'
import { isIsapiError, type FaceSource, type IsapiClient, type IsapiUserInput } from '../../integrations/isapi/index.js'

/** The widest validity terminals accept; begin is set per person. */
const VALID_END = '2037-12-31T23:59:59'

/** `YYYY-MM-DDT00:00:00` of the day `at` falls on in `timeZone`: terminals want local time without offset. */
export function localDayStart (at: Date, timeZone: string) {
  const day = localDateOf(at, timeZone)
  return `${day >= '2000-01-01' ? day : '2000-01-01'}T00:00:00`
}

export const displayName = (s: Pick<Student, 'firstName' | 'lastName'>, maxLength = 32) =>
  `${s.firstName} ${s.lastName}`.trim().slice(0, maxLength)

export function userRecordOf (s: Student, o: { timeZone: string, enabled?: boolean, nameMaxLength?: number }): IsapiUserInput {
  return {
    employeeNo: s.employeeNo,
    name: displayName(s, o.nameMaxLength),
    gender: s.gender,
    valid: { enable: o.enabled ?? true, beginTime: localDayStart(s.createdAt, o.timeZone), endTime: VALID_END },
  }
}

export interface PersonSyncOptions {
  timeZone: string
  supportsSetUp: boolean
  nameMaxLength?: number
  full: boolean
  photosOnly: boolean
  /** Reads a student's photo for upload, or builds the URL a terminal fetches it from. */
  faceSource: (photoUrl: string) => Promise<FaceSource>
}

export type Step = 'user' | 'face' | 'delete' | 'disable' | 'read' | 'copy'
export type PersonOutcome =
  /** `recordVersion`: the person's version now on the device when the record was not sent (photos only). */
  | { status: 'success', faceOnDevice: boolean, facePhotoVersion: number | null, recordVersion?: number | null }
  | { status: 'skipped', reason: string, faceOnDevice?: boolean, facePhotoVersion?: number | null }

/** Thrown with the step it happened in, so a failed item says where it failed. */
export class StepError extends Error {
  constructor (readonly step: Step, override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause))
  }
}

export async function inStep<T> (step: Step, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    throw err instanceof StepError ? err : new StepError(step, err)
  }
}

/** Record, or Modify when the number exists; SetUp in one call where the firmware has it. Idempotent. */
export async function putUser (client: IsapiClient, record: IsapiUserInput, supportsSetUp: boolean) {
  if (supportsSetUp) {
    try {
      return await client.setUpUser(record)
    } catch (err) {
      if (!isIsapiError(err, 'DEVICE_NOT_SUPPORTED')) throw err
    }
  }
  try {
    await client.createUser(record)
  } catch (err) {
    if (!isIsapiError(err, 'USER_EXISTS')) throw err
    await client.modifyUser(record)
  }
}

/** Add the face; a face already there is replaced (we only get here when the photo changed). */
export async function putFace (client: IsapiClient, employeeNo: string, source: FaceSource) {
  try {
    await client.addFace(employeeNo, source)
  } catch (err) {
    if (!isIsapiError(err, 'FACE_EXISTS')) throw err
    await client.replaceFace(employeeNo, source)
  }
}

/**
 * Brings one active student up to date on one device. Unchanged persons are skipped unless `full`;
 * a face is sent only when the photo version differs from what the device got last.
 */
export async function syncPerson (client: IsapiClient, s: Student, pd: PersonDevice | null, o: PersonSyncOptions): Promise<PersonOutcome> {
  const photoVersion = s.photoUrl ? s.photoVersion : null
  // `pending`: the device holds the person at an older version.
  const onDevice = pd?.state === 'synced' || pd?.state === 'pending'
  const faceCurrent = onDevice && pd.faceOnDevice && pd.facePhotoVersion === photoVersion
  const userCurrent = onDevice && pd.syncedVersion === s.version
  if (!o.full && userCurrent && (faceCurrent || photoVersion === null)) {
    return { status: 'skipped', reason: 'unchanged' }
  }
  if (o.photosOnly) {
    if (!s.photoUrl) return { status: 'skipped', reason: 'no photo' }
    if (!o.full && faceCurrent) return { status: 'skipped', reason: 'unchanged' }
  }
  // Photos only: the record goes only where the person is not on the device yet.
  const sendRecord = !o.photosOnly || !onDevice
  if (sendRecord) {
    await inStep('user', () => putUser(client, userRecordOf(s, o), o.supportsSetUp))
  }
  const record = sendRecord ? {} : { recordVersion: pd?.syncedVersion ?? null }
  if (!s.photoUrl) return { status: 'success', faceOnDevice: pd?.faceOnDevice ?? false, facePhotoVersion: null, ...record }
  if (!o.full && faceCurrent) return { status: 'success', faceOnDevice: true, facePhotoVersion: photoVersion, ...record }
  const source = await inStep('face', () => o.faceSource(s.photoUrl as string))
  await inStep('face', () => putFace(client, s.employeeNo, source))
  return { status: 'success', faceOnDevice: true, facePhotoVersion: photoVersion, ...record }
}

/** Deletes the person (and with it the face); absent already counts as done. */
export async function removePerson (client: IsapiClient, employeeNo: string) {
  await inStep('delete', () => client.deleteUsers([employeeNo]))
}

/** Keeps the person and face but stops the door opening for them. */
export async function disablePerson (client: IsapiClient, s: Student, o: { timeZone: string, nameMaxLength?: number }): Promise<PersonOutcome> {
  try {
    await inStep('disable', () => client.modifyUser(userRecordOf(s, { ...o, enabled: false })))
  } catch (err) {
    if (err instanceof StepError && isIsapiError(err.cause, 'USER_NOT_FOUND')) return { status: 'skipped', reason: 'not on device' }
    throw err
  }
  return { status: 'success', faceOnDevice: false, facePhotoVersion: null }
}
