import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { zBool, zInt, zStr } from './isapi.decode.js'
import { isIsapiError } from './isapi.errors.js'
import { MAX_PAGE_SIZE, chunk, clampPageSize, collect, scanPages, searchPageSchema } from './isapi.paging.js'
import { jsonBody, localError, type IsapiRequester, type IsapiTimeouts } from './isapi.request.js'
import { LOCAL_DATE_TIME } from './isapi.time.js'

export type IsapiGender = 'male' | 'female'

/** Device gender values; anything else (`unknown`, absent) reads as null. */
export const readGender = (v: unknown): IsapiGender | null => {
  const g = typeof v === 'string' ? v.trim().toLowerCase() : ''
  return g === 'male' || g === 'female' ? g : null
}

export const employeeNoSchema = z.string().min(1).max(32).refine((s) => s.trim() === s && ![...s].some((c) => c.charCodeAt(0) < 0x20), 'employeeNo must have no surrounding spaces or control characters')

const localTime = z.string().regex(LOCAL_DATE_TIME, 'expected YYYY-MM-DDTHH:mm:ss (local, no offset)')
  .refine((s) => Number(s.slice(0, 4)) >= 2000 && Number(s.slice(0, 4)) <= 2037, 'terminals accept years 2000..2037')

export const userInputSchema = z.object({
  employeeNo: employeeNoSchema,
  name: z.string().max(128),
  gender: z.enum(['male', 'female']).nullable().optional(),
  valid: z.object({ enable: z.boolean().default(true), beginTime: localTime, endTime: localTime }),
  userType: z.enum(['normal', 'visitor', 'blackList']).default('normal'),
  doorRight: z.string().default('1'),
  rightPlan: z.array(z.object({ doorNo: z.number().int().min(1), planTemplateNo: z.string() })).default([{ doorNo: 1, planTemplateNo: '1' }]),
  localUIRight: z.boolean().default(false),
})
export type IsapiUserInput = z.input<typeof userInputSchema>

/** The UserInfo body every working client sends; without doorRight + RightPlan the person cannot open the door. */
export function encodeUserInfo (u: z.output<typeof userInputSchema>) {
  return {
    UserInfo: {
      employeeNo: u.employeeNo,
      name: u.name,
      userType: u.userType,
      Valid: { enable: u.valid.enable, beginTime: u.valid.beginTime, endTime: u.valid.endTime, timeType: 'local' },
      doorRight: u.doorRight,
      RightPlan: u.rightPlan,
      localUIRight: u.localUIRight,
      ...(u.gender ? { gender: u.gender } : {}),
    },
  }
}

const userSchema = z.object({
  employeeNo: zStr,
  name: zStr.optional(),
  userType: zStr.optional(),
  gender: z.unknown(),
  Valid: z.object({ enable: zBool.optional(), beginTime: zStr.optional(), endTime: zStr.optional(), timeType: zStr.optional() }).optional(),
  doorRight: zStr.optional(),
  RightPlan: z.array(z.object({ doorNo: zInt, planTemplateNo: zStr })).optional(),
  localUIRight: zBool.optional(),
  numOfCard: zInt.optional(),
  numOfFP: zInt.optional(),
  numOfFace: zInt.optional(),
  faceURL: zStr.optional(),
}).transform((u) => ({
  employeeNo: u.employeeNo,
  name: u.name ?? '',
  userType: u.userType ?? null,
  gender: readGender(u.gender),
  valid: u.Valid
    ? { enable: u.Valid.enable ?? true, beginTime: u.Valid.beginTime ?? null, endTime: u.Valid.endTime ?? null, timeType: u.Valid.timeType ?? null }
    : null,
  doorRight: u.doorRight ?? null,
  rightPlan: u.RightPlan ?? [],
  localUIRight: u.localUIRight ?? null,
  numOfCard: u.numOfCard ?? null,
  numOfFP: u.numOfFP ?? null,
  numOfFace: u.numOfFace ?? null,
  faceURL: u.faceURL || null,
}))
export type IsapiUser = z.output<typeof userSchema>

export const userSearchSchema = searchPageSchema('UserInfoSearch', 'UserInfo', userSchema)

export const userCountSchema = z.object({
  UserInfoCount: z.object({ userNumber: zInt, bindFaceUserNumber: zInt.optional() }),
}).transform(({ UserInfoCount: c }) => ({ userNumber: c.userNumber, bindFaceUserNumber: c.bindFaceUserNumber ?? null }))

export interface UserSearchOptions {
  searchId?: string
  position?: number
  maxResults?: number
  employeeNos?: string[]
}

const USERS = '/ISAPI/AccessControl/UserInfo'

function checkEmployeeNos (r: IsapiRequester, operation: string, list: readonly string[]) {
  for (const e of list) if (!employeeNoSchema.safeParse(e).success) throw localError(r.deviceKey, operation, `invalid employeeNo ${JSON.stringify(e)}`)
  return [...new Set(list)]
}

function createUserReadOps (r: IsapiRequester, t: IsapiTimeouts) {
  const searchUsers = async (o: UserSearchOptions = {}) => {
    const cond = {
      searchID: o.searchId ?? randomUUID(),
      searchResultPosition: o.position ?? 0,
      maxResults: clampPageSize(o.maxResults),
      ...(o.employeeNos ? { EmployeeNoList: o.employeeNos.map((employeeNo) => ({ employeeNo })) } : {}),
    }
    return await r.doc({
      operation: 'userSearch', method: 'POST', path: `${USERS}/Search?format=json`, body: jsonBody({ UserInfoSearchCond: cond }), timeoutMs: t.searchMs,
    }, userSearchSchema)
  }
  const scan = (employeeNos?: string[], pageSize?: number) => {
    const searchId = randomUUID()
    return scanPages({ deviceKey: r.deviceKey, operation: 'userSearch' },
      (position) => searchUsers({ searchId, position, maxResults: pageSize, employeeNos }))
  }
  return {
    countUsers: () => r.doc({ operation: 'userCount', method: 'GET', path: `${USERS}/Count?format=json`, timeoutMs: t.defaultMs }, userCountSchema),
    /** One page (≤30). The list is absent on NO MATCH, so `items` is then empty. */
    searchUsers,
    /**
     * Up to `count` users from `position` in the device's order, over as many ≤30 pages as needed
     * (one search session), with the device's total.
     */
    async readUsersAt (position: number, count: number) {
      const searchId = randomUUID()
      const items: IsapiUser[] = []
      let total = 0
      while (items.length < count) {
        const page = await searchUsers({ searchId, position: position + items.length, maxResults: count - items.length })
        total = page.totalMatches
        items.push(...page.items.slice(0, count - items.length))
        if (page.status !== 'MORE' || page.numOfMatches <= 0) break
      }
      return { items, total }
    },
    /** Every user on the device, page by page. */
    iterateUsers: (opts: { pageSize?: number } = {}) => scan(undefined, opts.pageSize),
    listUsers: (opts: { pageSize?: number } = {}) => collect(scan(undefined, opts.pageSize)),
    /** Users among `employeeNos` (batches of ≤30); an empty list asks nothing (it would match everyone). */
    async getUsers (employeeNos: readonly string[]) {
      const out: IsapiUser[] = []
      for (const batch of chunk(checkEmployeeNos(r, 'userSearch', employeeNos), MAX_PAGE_SIZE)) out.push(...await collect(scan(batch)))
      return out
    },
    async getUser (employeeNo: string) {
      const [found] = await collect(scan(checkEmployeeNos(r, 'userSearch', [employeeNo])))
      return found ?? null
    },
  }
}

function createUserWriteOps (r: IsapiRequester, t: IsapiTimeouts) {
  const write = async (operation: string, method: 'POST' | 'PUT', endpoint: string, input: IsapiUserInput) => {
    const parsed = userInputSchema.safeParse(input)
    if (!parsed.success) throw localError(r.deviceKey, operation, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
    await r.ok({ operation, method, path: `${USERS}/${endpoint}?format=json`, body: jsonBody(encodeUserInfo(parsed.data)), timeoutMs: t.writeMs })
  }
  const tolerate = async (code: 'DEVICE_NOT_SUPPORTED' | 'USER_EXISTS', run: () => Promise<void>) => {
    try {
      await run()
      return true
    } catch (err) {
      if (!isIsapiError(err, code)) throw err
      return false
    }
  }
  return {
    /** POST Record: adds only; an existing employeeNo → USER_EXISTS. */
    createUser: (input: IsapiUserInput) => write('userCreate', 'POST', 'Record', input),
    /** PUT Modify: edits only; an absent employeeNo → USER_NOT_FOUND. */
    modifyUser: (input: IsapiUserInput) => write('userModify', 'PUT', 'Modify', input),
    /** PUT SetUp: add-or-update in one call; firmware without it → DEVICE_NOT_SUPPORTED. */
    setUpUser: (input: IsapiUserInput) => write('userUpsert', 'PUT', 'SetUp', input),
    /**
     * Add-or-update. With `setUp` (from capabilities.users.supportsSetUp) one PUT SetUp, falling back
     * when the firmware refuses it; otherwise Record, then Modify if the user exists.
     */
    async upsertUser (input: IsapiUserInput, opts: { setUp?: boolean } = {}): Promise<'created' | 'updated' | 'upserted'> {
      if (opts.setUp && await tolerate('DEVICE_NOT_SUPPORTED', () => write('userUpsert', 'PUT', 'SetUp', input))) return 'upserted'
      if (await tolerate('USER_EXISTS', () => write('userCreate', 'POST', 'Record', input))) return 'created'
      await write('userModify', 'PUT', 'Modify', input)
      return 'updated'
    },
    /** Deletes the listed users in batches of ≤30. An EMPTY list is refused: terminals read it as "delete everyone". */
    async deleteUsers (employeeNos: readonly string[]) {
      if (employeeNos.length === 0) throw localError(r.deviceKey, 'userDelete', 'refusing an empty employeeNo list (the device would delete every user); use wipeAllUsers()')
      for (const batch of chunk(checkEmployeeNos(r, 'userDelete', employeeNos), MAX_PAGE_SIZE)) {
        const body = jsonBody({ UserInfoDelCond: { EmployeeNoList: batch.map((employeeNo) => ({ employeeNo })) } })
        await r.ok({ operation: 'userDelete', method: 'PUT', path: `${USERS}/Delete?format=json`, body, timeoutMs: t.deleteMs })
      }
    },
    /** Deletes EVERY user (and their faces/cards) on the device: the empty-list form, on purpose. */
    async wipeAllUsers () {
      const body = jsonBody({ UserInfoDelCond: { EmployeeNoList: [] } })
      await r.ok({ operation: 'userWipeAll', method: 'PUT', path: `${USERS}/Delete?format=json`, body, timeoutMs: t.bulkMs })
    },
  }
}

export const createUserOps = (r: IsapiRequester, t: IsapiTimeouts) => ({ ...createUserReadOps(r, t), ...createUserWriteOps(r, t) })
