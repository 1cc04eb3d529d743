import { badJsonContent, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { JsonObject } from './sim-context.js'
import { isObject } from './sim-context.js'
import type { Gender, UserRecord } from './sim-state.js'

/** Limits from userinfo_capabilities_json_dsk1a340fwx.json. */
const EMPLOYEE_NO_MAX = 32
const NAME_MAX_BYTES = 128
const GENDERS: Gender[] = ['male', 'female', 'unknown']
const USER_TYPES = ['normal']
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/
const UTC_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?$/

type Result<T> = { ok: true, value: T } | { ok: false, reply: Reply }
const fail = (reply: Reply): { ok: false, reply: Reply } => ({ ok: false, reply })

export function validateEmployeeNo (v: unknown, field = 'employeeNo'): Reply | undefined {
  if (v === undefined) return parametersLack(field)
  if (typeof v !== 'string' || v.length < 1 || v.length > EMPLOYEE_NO_MAX) return badJsonContent(field)
  return undefined
}

function validTime (v: unknown, timeType: string) {
  if (typeof v !== 'string') return false
  const m = (timeType === 'UTC' ? UTC_TIME : LOCAL_TIME).exec(v)
  if (!m) return false
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number)
  return y >= 2000 && y <= 2037 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 59
}

function validateValid (v: unknown, required: boolean): Result<UserRecord['Valid'] | undefined> {
  if (v === undefined) return required ? fail(parametersLack('Valid')) : { ok: true, value: undefined }
  if (!isObject(v)) return fail(badJsonContent('Valid'))
  for (const key of ['enable', 'beginTime', 'endTime']) if (v[key] === undefined) return fail(parametersLack(key))
  const timeType = v.timeType ?? 'local'
  if (timeType !== 'local' && timeType !== 'UTC') return fail(badJsonContent('timeType'))
  if (typeof v.enable !== 'boolean') return fail(badJsonContent('enable'))
  if (!validTime(v.beginTime, timeType)) return fail(badJsonContent('beginTime'))
  if (!validTime(v.endTime, timeType)) return fail(badJsonContent('endTime'))
  return { ok: true, value: { enable: v.enable, beginTime: v.beginTime as string, endTime: v.endTime as string, timeType } }
}

function validateRightPlan (v: unknown): boolean {
  return Array.isArray(v) && v.every((p) => isObject(p) && Number.isInteger(p.doorNo) && typeof p.planTemplateNo === 'string')
}

const intIn = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max

/** Field checks shared by Record, Modify and SetUp; the offending field goes in errorMsg. */
function checkScalars (u: JsonObject): Reply | undefined {
  if (u.name !== undefined && (typeof u.name !== 'string' || Buffer.byteLength(u.name) > NAME_MAX_BYTES)) return badJsonContent('name')
  if (u.userType !== undefined && !USER_TYPES.includes(u.userType as string)) return badJsonContent('userType')
  if (u.gender !== undefined && !GENDERS.includes(u.gender as Gender)) return badJsonContent('gender')
  if (u.doorRight !== undefined && typeof u.doorRight !== 'string') return badJsonContent('doorRight')
  if (u.RightPlan !== undefined && !validateRightPlan(u.RightPlan)) return badJsonContent('RightPlan')
  if (u.belongGroup !== undefined && typeof u.belongGroup !== 'string') return badJsonContent('belongGroup')
  for (const key of ['localUIRight', 'closeDelayEnabled']) if (u[key] !== undefined && typeof u[key] !== 'boolean') return badJsonContent(key)
  for (const key of ['maxOpenDoorTime', 'openDoorTime']) if (u[key] !== undefined && !intIn(u[key], 0, 255)) return badJsonContent(key)
  for (const key of ['roomNumber', 'floorNumber']) if (u[key] !== undefined && !intIn(u[key], 0, 99)) return badJsonContent(key)
  return undefined
}

/** Extracts the UserInfo object of a write body; `{}` gives MessageParametersLack/UserInfo like the K1A. */
export function userInfoOf (body: JsonObject): Result<JsonObject> {
  if (body.UserInfo === undefined) return fail(parametersLack('UserInfo'))
  if (!isObject(body.UserInfo)) return fail(badJsonContent('UserInfo'))
  const bad = validateEmployeeNo(body.UserInfo.employeeNo)
  return bad ? fail(bad) : { ok: true, value: body.UserInfo }
}

/** A complete new user; userType and Valid are required as in the ISAPI schema. */
export function buildNewUser (u: JsonObject): Result<UserRecord> {
  if (u.userType === undefined) return fail(parametersLack('userType'))
  const bad = checkScalars(u)
  if (bad) return fail(bad)
  const valid = validateValid(u.Valid, true)
  if (!valid.ok) return valid
  return {
    ok: true,
    value: {
      employeeNo: u.employeeNo as string,
      name: (u.name as string | undefined) ?? '',
      userType: u.userType as string,
      closeDelayEnabled: (u.closeDelayEnabled as boolean | undefined) ?? false,
      Valid: valid.value!,
      belongGroup: (u.belongGroup as string | undefined) ?? '',
      doorRight: (u.doorRight as string | undefined) ?? '',
      RightPlan: (u.RightPlan as UserRecord['RightPlan'] | undefined) ?? [],
      maxOpenDoorTime: (u.maxOpenDoorTime as number | undefined) ?? 0,
      openDoorTime: (u.openDoorTime as number | undefined) ?? 0,
      roomNumber: (u.roomNumber as number | undefined) ?? 0,
      floorNumber: (u.floorNumber as number | undefined) ?? 0,
      localUIRight: (u.localUIRight as boolean | undefined) ?? false,
      gender: (u.gender as Gender | undefined) ?? 'unknown',
    },
  }
}

/** Modify changes only the fields it is given. */
export function mergeUser (existing: UserRecord, u: JsonObject): Result<UserRecord> {
  const bad = checkScalars(u)
  if (bad) return fail(bad)
  const valid = validateValid(u.Valid, false)
  if (!valid.ok) return valid
  const merged: UserRecord = { ...existing, Valid: valid.value ?? existing.Valid }
  const keys = ['name', 'userType', 'closeDelayEnabled', 'belongGroup', 'doorRight', 'RightPlan', 'maxOpenDoorTime', 'openDoorTime', 'roomNumber', 'floorNumber', 'localUIRight', 'gender'] as const
  for (const key of keys) if (u[key] !== undefined) (merged as unknown as JsonObject)[key] = u[key]
  return { ok: true, value: merged }
}
