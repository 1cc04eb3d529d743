import { z } from 'zod'
import { recordEvent } from './events.js'
import { nextPicturePath } from './face-store.js'
import { CAPTURE_JPEG } from './fixtures.js'
import type { SimContext } from './sim-context.js'
import type { SimEvent } from './sim-state.js'

export const faceEventInputSchema = z.strictObject({
  employeeNo: z.string().min(1).max(32).optional(),
  /** false forces an unrecognised face even for an enrolled person. */
  known: z.boolean().optional(),
  picture: z.boolean().optional(),
  /** Any ISO-8601 instant; the event is printed in the device's own offset. */
  time: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'not a date-time').optional(),
})

export type FaceEventInput = z.infer<typeof faceEventInputSchema>

export interface FaceEventResult {
  event: SimEvent
  recognised: boolean
  picture?: Buffer
}

/**
 * Someone stands in front of the terminal. Only a person who exists on the
 * device and has a face enrolled can be recognised (5/75); anyone else is a
 * failed face authentication (5/76) without a name, as on a real terminal.
 */
export function recordFaceEvent (ctx: SimContext, input: FaceEventInput): FaceEventResult {
  const { state } = ctx
  const user = input.employeeNo === undefined ? undefined : state.users.get(input.employeeNo)
  const recognised = input.known !== false && user !== undefined && state.faces.has(user.employeeNo)
  state.verifyNo += 1
  const picture = input.picture ? CAPTURE_JPEG : undefined
  const pictureURL = picture ? nextPicturePath(state, 'acsLinkCap') : undefined
  if (pictureURL && picture) state.pictures.set(pictureURL, picture)
  const common = {
    major: 5,
    epochMs: input.time === undefined ? undefined : Date.parse(input.time),
    cardReaderKind: 1,
    cardReaderNo: 1,
    verifyNo: state.verifyNo,
    currentVerifyMode: 'faceOrFpOrCardOrPw',
    attendanceStatus: 'undefined',
    mask: 'no',
    picturesNumber: picture ? 1 : undefined,
    pictureURL,
    FaceRect: { height: 0.172, width: 0.307, x: 0.444, y: 0.441 },
  }
  const event = recognised && user
    ? recordEvent(state, ctx.now, { ...common, minor: 75, name: user.name, employeeNoString: user.employeeNo, turnstileTurned: false, userType: user.userType })
    : recordEvent(state, ctx.now, { ...common, minor: 76 })
  return { event, recognised, picture }
}
