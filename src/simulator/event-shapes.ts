import type { DeviceIdentity } from './sim-identity.js'
import type { SimEvent } from './sim-state.js'

/** AcsEvent InfoList entry; key order of acsevent_search_response_more_dsk1a340fwx.json. */
export function infoListEntry (ev: SimEvent, origin: string) {
  return {
    major: ev.major,
    minor: ev.minor,
    time: ev.time,
    netUser: '',
    remoteHostAddr: ev.remoteHostAddr ?? '0.0.0.0',
    cardNo: '',
    cardType: 0,
    name: ev.name ?? '',
    reportChannel: 0,
    cardReaderKind: ev.cardReaderKind ?? 0,
    cardReaderNo: ev.cardReaderNo ?? 0,
    doorNo: ev.doorNo ?? 0,
    verifyNo: ev.verifyNo ?? 0,
    alarmInNo: 0,
    alarmOutNo: 0,
    caseSensorNo: 0,
    RS485No: 0,
    multiCardGroupNo: 0,
    deviceNo: 0,
    employeeNoString: ev.employeeNoString ?? '',
    InternetAccess: 0,
    type: 0,
    MACAddr: '',
    swipeCardType: 0,
    serialNo: ev.serialNo,
    userType: ev.userType ?? 'normal',
    currentVerifyMode: ev.currentVerifyMode,
    attendanceStatus: ev.attendanceStatus ?? 'undefined',
    statusValue: 0,
    pictureURL: ev.pictureURL === undefined ? undefined : `${origin}${ev.pictureURL}`,
    picturesNumber: ev.picturesNumber,
  }
}

/**
 * The AccessControllerEvent object of a DS-K1T673 push: fields in the order
 * the device prints them (push and alertStream captures), absent ones skipped.
 * The push never carries currentEvent (unlike alertStream).
 */
export function pushEventObject (ev: SimEvent, deviceName: string) {
  return {
    deviceName,
    majorEventType: ev.major,
    subEventType: ev.minor,
    name: ev.name,
    remoteHostAddr: ev.remoteHostAddr,
    cardReaderKind: ev.cardReaderKind,
    cardReaderNo: ev.cardReaderNo,
    doorNo: ev.doorNo,
    verifyNo: ev.verifyNo,
    employeeNoString: ev.employeeNoString,
    turnstileTurned: ev.turnstileTurned,
    serialNo: ev.serialNo,
    userType: ev.userType,
    currentVerifyMode: ev.currentVerifyMode,
    frontSerialNo: ev.frontSerialNo,
    attendanceStatus: ev.attendanceStatus ?? 'undefined',
    label: '',
    statusValue: 0,
    mask: ev.mask ?? 'unknown',
    helmet: 'unknown',
    picturesNumber: ev.picturesNumber,
    purePwdVerifyEnable: true,
    licensePlateNo: '',
    FaceRect: ev.FaceRect,
  }
}

export interface EnvelopeArgs {
  identity: DeviceIdentity
  /** The listener's port: the device reports the target port here, not its own. */
  portNo: number
  dateTime: string
  eventType: string
  eventState: string
  eventDescription: string
  accessControllerEvent?: Record<string, unknown>
}

/** Envelope keys in the order of push_httphosts_event_log_dsk1t673_RECONSTRUCTED_bytes.http. */
export function pushEnvelope (a: EnvelopeArgs) {
  return {
    ipAddress: a.identity.ipAddress,
    ipv6Address: a.identity.ipv6Address,
    portNo: a.portNo,
    protocol: 'HTTP',
    macAddress: a.identity.macAddress.toLowerCase(),
    channelID: 1,
    dateTime: a.dateTime,
    activePostCount: 1,
    eventType: a.eventType,
    eventState: a.eventState,
    eventDescription: a.eventDescription,
    shortSerialNumber: a.identity.shortSerial,
    AccessControllerEvent: a.accessControllerEvent,
  }
}
