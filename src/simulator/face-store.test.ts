import { describe, expect, it } from 'vitest'
import { removeFace, storeFace } from './face-store.js'
import { buildIdentity } from './sim-identity.js'
import { createState } from './sim-state.js'

const newState = () => createState(buildIdentity({}, '127.0.0.1'), { timeZone: 'CST-8:00:00', offsetMinutes: 480 }, Date.now(), 1)

describe('simulator face store', () => {
  it('keeps identical pictures once across terminals, and different ones apart even when size and tail match', () => {
    const a = newState()
    const b = newState()
    const photo = Buffer.alloc(70_000, 7)
    storeFace(a, '1', photo)
    storeFace(b, '1', Buffer.from(photo))
    expect(b.faces.get('1')!.bytes).toBe(a.faces.get('1')!.bytes)

    const lookalike = Buffer.from(photo)
    lookalike[10] = 8 // same size, same last bytes, other picture
    storeFace(b, '2', lookalike)
    expect(b.faces.get('2')!.bytes).not.toBe(photo)
    expect(b.faces.get('2')!.bytes.equals(lookalike)).toBe(true)
    expect(a.faces.get('1')!.bytes.equals(photo)).toBe(true)

    removeFace(a, '1')
    expect(a.faces.size).toBe(0)
    expect(b.faces.get('1')!.bytes.equals(photo)).toBe(true)
  })
})
