import type { SimState } from './sim-state.js'

/** The suffix real terminals append to LOCALS picture URLs; it is part of the path. */
export const WEB_SUFFIX = '@WEB000000000029'

export function nextPicturePath (state: SimState, dir: string) {
  state.fileNo += 1
  return `/LOCALS/pic/${dir}/${String(state.fileNo).padStart(10, '0')}.jpg${WEB_SUFFIX}`
}

/** Stores (or replaces) a person's face under a new file name, as a re-enrolment gets a new picture. */
export function storeFace (state: SimState, fpid: string, bytes: Buffer) {
  removeFace(state, fpid)
  const path = nextPicturePath(state, 'enrlFace/0')
  state.pictures.set(path, bytes)
  state.faces.set(fpid, { fpid, bytes, path })
}

export function removeFace (state: SimState, fpid: string) {
  const face = state.faces.get(fpid)
  if (!face) return
  state.pictures.delete(face.path)
  state.faces.delete(fpid)
}
