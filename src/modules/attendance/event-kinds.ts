/** What an access-control event is, and whether it is a person passing (and so makes attendance). */
export interface EventKind { kind: string, countsForAttendance: boolean }

// Major 5 subtypes that mean "this person was verified" (HCNetSDK MAJOR_EVENT 0x5; ISAPI.md §6.6).
const PASSES: Record<number, string> = {
  1: 'card_pass',
  38: 'fingerprint_pass',
  75: 'face_pass',
  77: 'employee_face_pass',
}
const DENIED = new Set([6, 9, 39, 76, 78, 79, 80, 104, 151, 152])
const DOOR = new Set([21, 22, 23, 24, 25, 26])

export function classifyEvent (major: number, minor: number): EventKind {
  if (major === 5) {
    if (PASSES[minor]) return { kind: PASSES[minor], countsForAttendance: true }
    if (DENIED.has(minor)) return { kind: 'access_denied', countsForAttendance: false }
    if (DOOR.has(minor)) return { kind: 'door', countsForAttendance: false }
    return { kind: 'access_other', countsForAttendance: false }
  }
  if (major === 1) return { kind: 'alarm', countsForAttendance: false }
  if (major === 2) return { kind: 'exception', countsForAttendance: false }
  if (major === 3) return { kind: 'operation', countsForAttendance: false }
  return { kind: 'other', countsForAttendance: false }
}
