import type { SimState } from './sim-state.js'

/** The suffix real terminals append to LOCALS picture URLs; it is part of the path. */
export const WEB_SUFFIX = '@WEB000000000029'

export function nextPicturePath (state: SimState, dir: string) {
  state.fileNo += 1
  return `/LOCALS/pic/${dir}/${String(state.fileNo).padStart(10, '0')}.jpg${WEB_SUFFIX}`
}

// Simulated terminals in one process often hold the same pictures (every person's photo on every
// terminal): identical bytes are kept once, so a big simulated fleet does not hold a copy per terminal
// (and its allocator and garbage collector do not pay for one either). Invisible to clients.
const pictures = new Map<string, WeakRef<Buffer>>()
const released = new FinalizationRegistry<string>((key) => {
  if (pictures.get(key)?.deref() === undefined) pictures.delete(key)
})

/** The already-held buffer with these bytes, else `bytes` itself (then held for the next caller). */
function shared (bytes: Buffer) {
  // JPEG headers look alike: a key from the size and the last bytes; equals() settles it.
  const key = `${bytes.length}:${bytes.toString('base64', Math.max(0, bytes.length - 48))}`
  const held = pictures.get(key)?.deref()
  if (held) return held.equals(bytes) ? held : bytes
  pictures.set(key, new WeakRef(bytes))
  released.register(bytes, key)
  return bytes
}

/** Stores (or replaces) a person's face under a new file name, as a re-enrolment gets a new picture. */
export function storeFace (state: SimState, fpid: string, image: Buffer) {
  const bytes = shared(image)
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
