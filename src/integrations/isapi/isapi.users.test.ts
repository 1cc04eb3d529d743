import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { json, okJson, startFakeDevice, statusJson, type FakeDevice, type FakeRequest } from './test/fake-device.js'
import { captureError, clientFactory } from './test/helpers.js'

const f = clientFactory()
const devices: FakeDevice[] = []
afterEach(async () => { await Promise.all(devices.splice(0).map((d) => d.close())) })
afterAll(() => f.close())

interface Cond { searchID: string, searchResultPosition: number, maxResults: number, EmployeeNoList?: Array<{ employeeNo: string }> }

/** A UserInfo/Search that clamps to `cap` per page and omits the list on NO MATCH, like real terminals. */
async function userDevice (count: number, cap = 30) {
  const users = Array.from({ length: count }, (_, i) => ({ employeeNo: String(i + 1).padStart(4, '0'), name: `User ${i + 1}`, gender: i % 2 ? 'female' : 'unknown' }))
  const conds: Cond[] = []
  const dev = await startFakeDevice({
    route: (req: FakeRequest) => {
      if (req.path !== '/ISAPI/AccessControl/UserInfo/Search') return json({ statusCode: 4, subStatusCode: 'notSupport' }, 404)
      const cond = req.json<{ UserInfoSearchCond: Cond }>().UserInfoSearchCond
      conds.push(cond)
      const wanted = cond.EmployeeNoList?.map((e) => e.employeeNo)
      const matching = wanted ? users.filter((u) => wanted.includes(u.employeeNo)) : users
      const page = matching.slice(cond.searchResultPosition, cond.searchResultPosition + Math.min(cap, cond.maxResults))
      const more = cond.searchResultPosition + page.length < matching.length
      const status = page.length === 0 ? 'NO MATCH' : more ? 'MORE' : 'OK'
      const base = { searchID: cond.searchID, responseStatusStrg: status, numOfMatches: page.length, totalMatches: matching.length }
      return json({ UserInfoSearch: page.length ? { ...base, UserInfo: page } : base })
    },
  })
  devices.push(dev)
  return { dev, conds }
}

describe('ISAPI users against a fake terminal', () => {
  it('pages 75 users in pages of at most 30 with one searchID, advancing by what came back', async () => {
    const { dev, conds } = await userDevice(75)
    const users = await f.make(dev.url).listUsers()
    expect(users.map((u) => u.employeeNo)).toEqual(Array.from({ length: 75 }, (_, i) => String(i + 1).padStart(4, '0')))
    expect(conds.map((c) => c.searchResultPosition)).toEqual([0, 30, 60])
    expect(conds.every((c) => c.maxResults <= 30)).toBe(true)
    expect(new Set(conds.map((c) => c.searchID)).size).toBe(1)
    expect(users[0].gender).toBeNull()
    expect(users[1].gender).toBe('female')
  })

  it('advances by numOfMatches when the device returns fewer than asked', async () => {
    const { dev, conds } = await userDevice(75, 20)
    const users = await f.make(dev.url).listUsers()
    expect(users).toHaveLength(75)
    expect(new Set(users.map((u) => u.employeeNo)).size).toBe(75)
    expect(conds.map((c) => c.searchResultPosition)).toEqual([0, 20, 40, 60])
  })

  it('NO MATCH without a list is an empty result, not an error', async () => {
    const { dev } = await userDevice(0)
    const client = f.make(dev.url)
    expect(await client.listUsers()).toEqual([])
    expect(await client.getUser('42')).toBeNull()
    const page = await client.searchUsers()
    expect(page).toMatchObject({ status: 'NO MATCH', items: [], totalMatches: 0 })
  })

  it('a new scan gets a new searchID; employeeNo lists go in batches of 30 and stay strings', async () => {
    const { dev, conds } = await userDevice(75)
    const client = f.make(dev.url)
    const wanted = Array.from({ length: 45 }, (_, i) => String(i + 1).padStart(4, '0'))
    const found = await client.getUsers(wanted)
    expect(found.map((u) => u.employeeNo)).toEqual(wanted)
    expect(conds.map((c) => c.EmployeeNoList?.length)).toEqual([30, 15])
    expect(new Set(conds.map((c) => c.searchID)).size).toBe(2)
    expect(await client.getUsers([])).toEqual([])
    expect(conds).toHaveLength(2)
  })

  it('MORE with zero records stops with DEVICE_BAD_RESPONSE instead of looping', async () => {
    const dev = await startFakeDevice({ route: () => json({ UserInfoSearch: { searchID: 'x', responseStatusStrg: 'MORE', numOfMatches: 0, totalMatches: 5 } }) })
    devices.push(dev)
    expect((await captureError(f.make(dev.url).listUsers())).code).toBe('DEVICE_BAD_RESPONSE')
  })

  it('refuses an empty delete list locally and sends nothing', async () => {
    const dev = await startFakeDevice({ route: okJson })
    devices.push(dev)
    const client = f.make(dev.url)
    expect(await captureError(client.deleteUsers([]))).toMatchObject({ code: 'INVALID_ARGUMENT', local: true })
    expect(await captureError(client.deleteUsers(['']))).toMatchObject({ code: 'INVALID_ARGUMENT', local: true })
    expect(await captureError(client.deleteFaces([]))).toMatchObject({ code: 'INVALID_ARGUMENT', local: true })
    expect(dev.requests).toHaveLength(0)
  })

  it('deletes in batches of ≤30; wipeAllUsers is the only path that sends the empty list', async () => {
    const bodies: unknown[] = []
    const dev = await startFakeDevice({ route: (req) => { bodies.push(req.json()); return okJson() } })
    devices.push(dev)
    const client = f.make(dev.url)
    await client.deleteUsers(Array.from({ length: 45 }, (_, i) => `e${i}`))
    const lists = bodies.map((b) => (b as { UserInfoDelCond: { EmployeeNoList: unknown[] } }).UserInfoDelCond.EmployeeNoList)
    expect(lists.map((l) => l.length)).toEqual([30, 15])
    await client.wipeAllUsers()
    expect(bodies.at(-1)).toEqual({ UserInfoDelCond: { EmployeeNoList: [] } })
    expect(dev.requests.filter((r) => r.authorization).every((r) => r.method === 'PUT' && r.url === '/ISAPI/AccessControl/UserInfo/Delete?format=json')).toBe(true)
  })

  it('sends the UserInfo record with local Valid times, door rights and the device gender value', async () => {
    const bodies: Array<{ path: string, body: unknown }> = []
    const dev = await startFakeDevice({ route: (req) => { bodies.push({ path: req.url, body: req.json() }); return okJson() } })
    devices.push(dev)
    await f.make(dev.url).createUser({ employeeNo: '007', name: 'Ali', gender: 'male', valid: { beginTime: '2024-09-01T00:00:00', endTime: '2037-12-31T23:59:59' } })
    expect(bodies[0]).toEqual({
      path: '/ISAPI/AccessControl/UserInfo/Record?format=json',
      body: {
        UserInfo: {
          employeeNo: '007', name: 'Ali', userType: 'normal', gender: 'male', localUIRight: false, doorRight: '1', RightPlan: [{ doorNo: 1, planTemplateNo: '1' }],
          Valid: { enable: true, beginTime: '2024-09-01T00:00:00', endTime: '2037-12-31T23:59:59', timeType: 'local' },
        },
      },
    })
    const bad = await captureError(f.make(dev.url).createUser({ employeeNo: '1', name: 'x', valid: { beginTime: '2024-09-01T00:00:00.000Z', endTime: '2037-12-31T23:59:59' } }))
    expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT', local: true })
  })

  it('maps employeeNoAlreadyExist / employeeNoNotExist, and upsert falls back SetUp → Record → Modify', async () => {
    const paths: string[] = []
    const dev = await startFakeDevice({
      route: (req) => {
        paths.push(`${req.method} ${req.path}`)
        if (req.path.endsWith('/SetUp')) return json({ statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'notSupport' })
        if (req.path.endsWith('/Record')) return statusJson(6, 'employeeNoAlreadyExist', 400, 'checkUser')
        return okJson()
      },
    })
    devices.push(dev)
    const client = f.make(dev.url)
    const user = { employeeNo: '5', name: 'B', valid: { beginTime: '2024-09-01T00:00:00', endTime: '2030-01-01T00:00:00' } }
    expect(await captureError(client.createUser(user))).toMatchObject({ code: 'USER_EXISTS', subStatusCode: 'employeeNoAlreadyExist', httpStatus: 400 })
    expect(await client.upsertUser(user, { setUp: true })).toBe('updated')
    expect(paths.slice(1)).toEqual(['PUT /ISAPI/AccessControl/UserInfo/SetUp', 'POST /ISAPI/AccessControl/UserInfo/Record', 'PUT /ISAPI/AccessControl/UserInfo/Modify'])
    const missing = await startFakeDevice({ route: () => statusJson(6, 'employeeNoNotExist') })
    devices.push(missing)
    expect((await captureError(f.make(missing.url).modifyUser(user))).code).toBe('USER_NOT_FOUND')
  })
})
