import { readPaging, MAX_RESULTS, takePage } from './paging.js'
import { badJsonContent, jsonReply, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { IsapiRequest, JsonObject, SimContext } from './sim-context.js'
import { isObject, parseJsonObject } from './sim-context.js'
import type { SimState, UserRecord } from './sim-state.js'
import { validateEmployeeNo } from './user-validate.js'

/** Key order of userinfo_search_response_ok_dsk1a340fwx.json. */
export function userSearchEntry (state: SimState, u: UserRecord) {
  return {
    employeeNo: u.employeeNo,
    name: u.name,
    userType: u.userType,
    closeDelayEnabled: u.closeDelayEnabled,
    Valid: { enable: u.Valid.enable, beginTime: u.Valid.beginTime, endTime: u.Valid.endTime, timeType: u.Valid.timeType },
    belongGroup: u.belongGroup,
    password: '',
    doorRight: u.doorRight,
    RightPlan: u.RightPlan.map((p) => ({ doorNo: p.doorNo, planTemplateNo: p.planTemplateNo })),
    maxOpenDoorTime: u.maxOpenDoorTime,
    openDoorTime: u.openDoorTime,
    roomNumber: u.roomNumber,
    floorNumber: u.floorNumber,
    localUIRight: u.localUIRight,
    gender: u.gender,
    numOfCard: 0,
    numOfFP: 0,
    numOfFace: state.faces.has(u.employeeNo) ? 1 : 0,
    groupId: 1,
    localAtndPlanTemplateId: 0,
  }
}

function employeeFilter (cond: JsonObject): { list?: Set<string> } | { reply: Reply } {
  const list = cond.EmployeeNoList
  if (list === undefined) return {}
  if (!Array.isArray(list) || list.length > MAX_RESULTS) return { reply: badJsonContent('EmployeeNoList') }
  const set = new Set<string>()
  for (const item of list) {
    const bad = isObject(item) ? validateEmployeeNo(item.employeeNo) : badJsonContent('EmployeeNoList')
    if (bad) return { reply: bad }
    set.add((item as { employeeNo: string }).employeeNo)
  }
  return { list: set }
}

function matches (u: UserRecord, list: Set<string> | undefined, fuzzy: string) {
  if (list && !list.has(u.employeeNo)) return false
  if (fuzzy && !u.name.toLowerCase().includes(fuzzy) && !u.employeeNo.toLowerCase().includes(fuzzy)) return false
  return true
}

/** Pages of ≤30 in storage order; "NO MATCH" carries no UserInfo array at all. */
export function searchUsers (req: IsapiRequest, ctx: SimContext): Reply {
  const parsed = parseJsonObject(req.body)
  if ('reply' in parsed) return parsed.reply
  const cond = parsed.value.UserInfoSearchCond
  if (cond === undefined) return parametersLack('UserInfoSearchCond')
  if (!isObject(cond)) return badJsonContent('UserInfoSearchCond')
  if (cond.searchID === undefined) return parametersLack('searchID')
  if (typeof cond.searchID !== 'string' || cond.searchID.length === 0) return badJsonContent('searchID')
  const paging = readPaging(cond)
  if ('reply' in paging) return paging.reply
  const filter = employeeFilter(cond)
  if ('reply' in filter) return filter.reply
  if (cond.fuzzySearch !== undefined && typeof cond.fuzzySearch !== 'string') return badJsonContent('fuzzySearch')
  const fuzzy = ((cond.fuzzySearch as string | undefined) ?? '').toLowerCase()
  const all = [...ctx.state.users.values()].filter((u) => matches(u, filter.list, fuzzy))
  const page = takePage(all, paging.page)
  return jsonReply(200, {
    UserInfoSearch: {
      searchID: cond.searchID,
      responseStatusStrg: page.responseStatusStrg,
      numOfMatches: page.numOfMatches,
      totalMatches: page.totalMatches,
      UserInfo: page.items.length ? page.items.map((u) => userSearchEntry(ctx.state, u)) : undefined,
    },
  })
}
