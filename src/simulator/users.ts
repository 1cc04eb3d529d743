import { fixture } from './fixtures.js'
import { badJsonContent, errorJson, jsonReply, notSupportJson, notSupportXml, okJson, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { Route } from './router.js'
import type { IsapiRequest, SimContext } from './sim-context.js'
import { isObject, parseJsonObject } from './sim-context.js'
import { removeFace } from './face-store.js'
import { searchUsers } from './user-search.js'
import { buildNewUser, mergeUser, userInfoOf, validateEmployeeNo } from './user-validate.js'

const duplicate = () => errorJson(400, 6, 'employeeNoAlreadyExist', 'checkUser')
const notExist = () => errorJson(400, 6, 'employeeNoNotExist', 'employeeNo')

function withUserInfo (req: IsapiRequest, fn: (u: Record<string, unknown>) => Reply): Reply {
  const parsed = parseJsonObject(req.body)
  if ('reply' in parsed) return parsed.reply
  const info = userInfoOf(parsed.value)
  return info.ok ? fn(info.value) : info.reply
}

/** POST Record adds only; an existing employeeNo is employeeNoAlreadyExist (HTTP 400). */
function record (req: IsapiRequest, ctx: SimContext): Reply {
  return withUserInfo(req, (u) => {
    const user = buildNewUser(u)
    if (!user.ok) return user.reply
    if (ctx.state.users.has(user.value.employeeNo)) return duplicate()
    ctx.state.users.set(user.value.employeeNo, user.value)
    return okJson()
  })
}

function modify (req: IsapiRequest, ctx: SimContext): Reply {
  if (!ctx.config.supportsModify) return notSupportXml(req.path)
  return withUserInfo(req, (u) => {
    const existing = ctx.state.users.get(u.employeeNo as string)
    if (!existing) return notExist()
    const merged = mergeUser(existing, u)
    if (!merged.ok) return merged.reply
    ctx.state.users.set(existing.employeeNo, merged.value)
    return okJson()
  })
}

/** Upsert; firmware without it answers HTTP 200 + statusCode 4 notSupport (K1A style). */
function setUp (req: IsapiRequest, ctx: SimContext): Reply {
  if (!ctx.config.supportsSetUp) return notSupportJson()
  return withUserInfo(req, (u) => {
    const existing = ctx.state.users.get(u.employeeNo as string)
    const next = existing ? mergeUser(existing, u) : buildNewUser(u)
    if (!next.ok) return next.reply
    ctx.state.users.set(next.value.employeeNo, next.value)
    return okJson()
  })
}

/** An empty or missing EmployeeNoList deletes every user, as the GUIDE documents; faces go with them. */
function remove (req: IsapiRequest, ctx: SimContext): Reply {
  const parsed = parseJsonObject(req.body)
  if ('reply' in parsed) return parsed.reply
  const cond = parsed.value.UserInfoDelCond
  if (cond === undefined) return parametersLack('UserInfoDelCond')
  if (!isObject(cond)) return badJsonContent('UserInfoDelCond')
  const list = cond.EmployeeNoList
  if (list !== undefined && !Array.isArray(list)) return badJsonContent('EmployeeNoList')
  const targets: string[] = []
  for (const item of list ?? []) {
    const bad = isObject(item) ? validateEmployeeNo(item.employeeNo) : badJsonContent('EmployeeNoList')
    if (bad) return bad
    targets.push((item as { employeeNo: string }).employeeNo)
  }
  const doomed = targets.length === 0 ? [...ctx.state.users.keys()] : targets
  for (const employeeNo of doomed) {
    ctx.state.users.delete(employeeNo)
    removeFace(ctx.state, employeeNo)
  }
  return okJson()
}

function count (_req: IsapiRequest, ctx: SimContext): Reply {
  const withFace = [...ctx.state.users.keys()].filter((no) => ctx.state.faces.has(no)).length
  return jsonReply(200, { UserInfoCount: { userNumber: ctx.state.users.size, bindFaceUserNumber: withFace } })
}

function capabilities (_req: IsapiRequest, ctx: SimContext): Reply {
  const caps = fixture('userinfo_capabilities_json_dsk1a340fwx.json').toString('utf8')
  const functions = ['post', 'delete', ...(ctx.config.supportsModify ? ['put'] : []), 'get', ...(ctx.config.supportsSetUp ? ['setUp'] : [])]
  const body = caps.replace('"post,delete,put,get,setUp"', `"${functions.join(',')}"`)
  return { status: 200, kind: 'json', body }
}

const base = '/ISAPI/AccessControl/UserInfo'

export const userRoutes: Route[] = [
  { path: `${base}/Record`, json: true, methods: { POST: record } },
  { path: `${base}/Modify`, json: true, methods: { PUT: modify } },
  { path: `${base}/SetUp`, json: true, methods: { PUT: setUp } },
  { path: `${base}/Search`, json: true, methods: { POST: searchUsers } },
  { path: `${base}/Delete`, json: true, methods: { PUT: remove } },
  { path: `${base}/Count`, json: true, methods: { GET: count } },
  { path: `${base}/capabilities`, json: true, methods: { GET: capabilities } },
]
