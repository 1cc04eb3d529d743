import type { DeviceIdentity } from './sim-identity.js'
import { formatLocalTime } from './sim-time.js'

export type Gender = 'male' | 'female' | 'unknown'

export interface UserRecord {
  employeeNo: string
  name: string
  userType: string
  closeDelayEnabled: boolean
  Valid: { enable: boolean, beginTime: string, endTime: string, timeType: string }
  belongGroup: string
  doorRight: string
  RightPlan: Array<{ doorNo: number, planTemplateNo: string }>
  maxOpenDoorTime: number
  openDoorTime: number
  roomNumber: number
  floorNumber: number
  localUIRight: boolean
  gender: Gender
}

export interface FaceRecord {
  fpid: string
  bytes: Buffer
  /** /LOCALS/... path (with the @WEB suffix) that serves the bytes. */
  path: string
}

/** One entry of the device event log; optional fields appear only on the events that carry them. */
export interface SimEvent {
  serialNo: number
  frontSerialNo: number
  major: number
  minor: number
  epochMs: number
  /** Device-local time with offset, fixed when the event was recorded. */
  time: string
  currentVerifyMode: string
  name?: string
  employeeNoString?: string
  userType?: string
  remoteHostAddr?: string
  cardReaderKind?: number
  cardReaderNo?: number
  doorNo?: number
  verifyNo?: number
  turnstileTurned?: boolean
  attendanceStatus?: string
  mask?: string
  picturesNumber?: number
  pictureURL?: string
  FaceRect?: { height: number, width: number, x: number, y: number }
}

export interface HttpHostSlot {
  id: string
  url: string
  protocolType: string
  parameterFormatType: string
  addressingFormatType: string
  ipAddress: string
  portNo: number
  userName?: string
  httpAuthenticationMethod: string
  heartbeat?: number
  eventMode?: string
}

export interface NtpServer {
  id: string
  addressingFormatType: string
  hostName: string
  ipAddress: string
  portNo: number
  synchronizeInterval: number
}

export interface TimeState {
  timeMode: string
  timeZone: string
  offsetMinutes: number
  /** Added to the injected clock: PUT /ISAPI/System/time in manual mode moves the device clock. */
  clockOffsetMs: number
  ntpServers: NtpServer[]
}

export interface RequestLogEntry {
  at: string
  method: string
  path: string
  status: number
  outcome: 'answered' | 'reset' | 'dropped'
}

export interface PushLogEntry {
  at: string
  slotId: string
  target: string
  eventType: string
  serialNo?: number
  status?: number
  error?: string
  skipped?: string
}

export interface SimState {
  identity: DeviceIdentity
  users: Map<string, UserRecord>
  faces: Map<string, FaceRecord>
  pictures: Map<string, Buffer>
  events: SimEvent[]
  lastSerialNo: number
  verifyNo: number
  fileNo: number
  httpHosts: HttpHostSlot[]
  time: TimeState
  startedAt: number
  requests: RequestLogEntry[]
  pushes: PushLogEntry[]
  /** Most requests in flight at once, counted at arrival: how parallel the client was. */
  maxConcurrentRequests: number
  /** Most requests being processed at once; the terminal is single-threaded, so this stays 1. */
  maxProcessingRequests: number
}

export function emptyHttpHost (id: string, protocolType = 'HTTP', parameterFormatType = 'XML'): HttpHostSlot {
  return { id, url: '', protocolType, parameterFormatType, addressingFormatType: 'ipaddress', ipAddress: '0.0.0.0', portNo: 0, httpAuthenticationMethod: 'none' }
}

/** Slot 1 empty (K1A sample), slot 2 reserved for EHome/ISUP (K1T342 notes: empty parameterFormatType). */
export function defaultHttpHosts (): HttpHostSlot[] {
  return [emptyHttpHost('1'), emptyHttpHost('2', 'EHome', '')]
}

export function createState (identity: DeviceIdentity, time: { timeZone: string, offsetMinutes: number }, now: number, firstSerialNo: number): SimState {
  return {
    identity,
    users: new Map(),
    faces: new Map(),
    pictures: new Map(),
    events: [],
    lastSerialNo: firstSerialNo - 1,
    verifyNo: 0,
    fileNo: 0,
    httpHosts: defaultHttpHosts(),
    time: {
      timeMode: 'NTP',
      timeZone: time.timeZone,
      offsetMinutes: time.offsetMinutes,
      clockOffsetMs: 0,
      ntpServers: [{ id: '1', addressingFormatType: 'hostname', hostName: 'pool.ntp.org', ipAddress: '0.0.0.0', portNo: 123, synchronizeInterval: 60 }],
    },
    startedAt: now,
    requests: [],
    pushes: [],
    maxConcurrentRequests: 0,
    maxProcessingRequests: 0,
  }
}

export function deviceNow (state: SimState, now: () => number) {
  return now() + state.time.clockOffsetMs
}

export function deviceLocalTime (state: SimState, now: () => number) {
  return formatLocalTime(deviceNow(state, now), state.time.offsetMinutes)
}
