import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { userBody } from '../../test/simulator/digest-client.js'
import type { TestClient } from '../../test/simulator/digest-client.js'
import { addUsers, startKit, xmlValue } from '../../test/simulator/sim-test-kit.js'

const U = '/ISAPI/AccessControl/UserInfo'
const sample = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'))

const search = (client: TestClient, cond: Record<string, unknown>) =>
  client.call('POST', `${U}/Search?format=json`, { json: { UserInfoSearchCond: { searchID: 'scan-1', ...cond } } })

describe('simulated terminal: UserInfo/Record', () => {
  it('adds a user and answers the tab-indented OK of the GFE capture', async () => {
    const { client } = await startKit()
    const res = await client.call('POST', `${U}/Record?format=json`, { json: userBody('1024', 'Ali Valiyev') })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.text).toBe('{\n\t"statusCode":\t1,\n\t"statusString":\t"OK",\n\t"subStatusCode":\t"ok"\n}')
  })

  it('refuses a duplicate employeeNo with HTTP 400 employeeNoAlreadyExist', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1024'])
    const res = await client.call('POST', `${U}/Record?format=json`, { json: userBody('1024') })
    expect(res.status).toBe(400)
    expect(res.json()).toEqual({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'employeeNoAlreadyExist', errorCode: 1610637344, errorMsg: 'checkUser' })
  })

  it('answers {} with the MessageParametersLack/UserInfo body of the K1A sample', async () => {
    const { client } = await startKit()
    const res = await client.call('POST', `${U}/Record?format=json`, { json: {} })
    expect(res.status).toBe(400)
    expect(res.json()).toEqual(sample('responsestatus_json_statuscode6_MessageParametersLack_UserInfo.json'))
  })

  it('validates employeeNo length, name bytes, gender and JSON syntax', async () => {
    const { client } = await startKit()
    const post = (json: unknown) => client.call('POST', `${U}/Record?format=json`, { json })
    expect((await post(userBody('x'.repeat(33)))).json()).toMatchObject({ subStatusCode: 'badJsonContent', errorMsg: 'employeeNo' })
    expect((await post(userBody('x'.repeat(32)))).status).toBe(200)
    expect((await post(userBody('7', 'n'.repeat(129)))).json()).toMatchObject({ subStatusCode: 'badJsonContent', errorMsg: 'name' })
    expect((await post(userBody('8', 'ж'.repeat(65)))).json()).toMatchObject({ errorMsg: 'name' })
    expect((await post(userBody('9', 'x', { gender: 'other' }))).json()).toMatchObject({ errorMsg: 'gender' })
    const { Valid: _omit, ...noValid } = userBody('10').UserInfo
    expect((await post({ UserInfo: noValid })).json()).toMatchObject({ subStatusCode: 'MessageParametersLack', errorMsg: 'Valid' })
    const broken = await client.call('POST', `${U}/Record?format=json`, { body: '{"UserInfo":', headers: { 'content-type': 'application/json' } })
    expect([broken.status, broken.json().statusCode, broken.json().subStatusCode]).toEqual([400, 5, 'badJsonFormat'])
  })

  it('does not know the JSON endpoints without ?format=json', async () => {
    const { client } = await startKit()
    const res = await client.call('POST', `${U}/Record`, { json: userBody('1') })
    expect(res.status).toBe(404)
    expect([xmlValue(res.text, 'statusCode'), xmlValue(res.text, 'subStatusCode')]).toEqual(['4', 'notSupport'])
  })
})

describe('simulated terminal: UserInfo/Modify and SetUp', () => {
  it('rejects POST on Modify as methodNotAllowed and Modify of an absent user as employeeNoNotExist', async () => {
    const { client } = await startKit()
    const viaPost = await client.call('POST', `${U}/Modify?format=json`, { json: userBody('5') })
    expect(viaPost.status).toBe(405)
    expect(viaPost.json()).toMatchObject({ statusCode: 4, subStatusCode: 'methodNotAllowed' })
    const absent = await client.call('PUT', `${U}/Modify?format=json`, { json: userBody('5') })
    expect([absent.status, absent.json().subStatusCode]).toEqual([400, 'employeeNoNotExist'])
  })

  it('modifies only the given fields of an existing user', async () => {
    const { client } = await startKit()
    await addUsers(client, ['5'])
    const res = await client.call('PUT', `${U}/Modify?format=json`, { json: { UserInfo: { employeeNo: '5', name: 'Renamed', gender: 'female' } } })
    expect(res.json()).toMatchObject({ statusCode: 1 })
    const user = (await search(client, { searchResultPosition: 0, maxResults: 5 })).json().UserInfoSearch.UserInfo[0]
    expect(user).toMatchObject({ employeeNo: '5', name: 'Renamed', gender: 'female', doorRight: '1' })
  })

  it('upserts through SetUp', async () => {
    const { client } = await startKit()
    expect((await client.call('PUT', `${U}/SetUp?format=json`, { json: userBody('6', 'First') })).status).toBe(200)
    expect((await client.call('PUT', `${U}/SetUp?format=json`, { json: { UserInfo: { employeeNo: '6', name: 'Second' } } })).status).toBe(200)
    const found = (await search(client, { searchResultPosition: 0, maxResults: 5 })).json().UserInfoSearch
    expect([found.totalMatches, found.UserInfo[0].name]).toEqual([1, 'Second'])
  })

  it('answers SetUp with HTTP 200 + notSupport on firmware without it, and hides setUp in the capabilities', async () => {
    const { client } = await startKit({ supportsSetUp: false })
    const res = await client.call('PUT', `${U}/SetUp?format=json`, { json: userBody('6') })
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({ statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'notSupport', errorCode: 1073741825, errorMsg: 'notSupport' })
    const caps = (await client.call('GET', `${U}/capabilities?format=json`)).json()
    expect(caps.UserInfo.supportFunction['@opt']).toBe('post,delete,put,get')
  })

  it('answers Modify with 404 + XML notSupport on firmware without it, and hides put in the capabilities', async () => {
    const { client } = await startKit({ supportsModify: false })
    await addUsers(client, ['5'])
    const res = await client.call('PUT', `${U}/Modify?format=json`, { json: userBody('5', 'Renamed') })
    expect(res.status).toBe(404)
    expect(xmlValue(res.text, 'subStatusCode')).toBe('notSupport')
    const caps = (await client.call('GET', `${U}/capabilities?format=json`)).json()
    expect(caps.UserInfo.supportFunction['@opt']).toBe('post,delete,get,setUp')
  })

  it('serves the capabilities sample as-is when SetUp is supported', async () => {
    const { client } = await startKit()
    const caps = await client.call('GET', `${U}/capabilities?format=json`)
    expect(caps.text).toBe(readFileSync(new URL('./fixtures/userinfo_capabilities_json_dsk1a340fwx.json', import.meta.url), 'utf8'))
  })
})

describe('simulated terminal: UserInfo/Search', () => {
  it('pages 75 users by at most 30 with MORE, OK and an array-less NO MATCH', async () => {
    const { client } = await startKit()
    const ids = Array.from({ length: 75 }, (_, i) => String(2000 + i))
    await addUsers(client, ids)
    const seen: string[] = []
    const statuses: string[] = []
    for (let pos = 0; ;) {
      const page = (await search(client, { searchResultPosition: pos, maxResults: 50 })).json().UserInfoSearch
      statuses.push(`${page.responseStatusStrg}:${page.numOfMatches}/${page.totalMatches}`)
      if (page.responseStatusStrg === 'NO MATCH') {
        expect(page).not.toHaveProperty('UserInfo')
        break
      }
      seen.push(...page.UserInfo.map((u: { employeeNo: string }) => u.employeeNo))
      pos += page.numOfMatches
    }
    expect(statuses).toEqual(['MORE:30/75', 'MORE:30/75', 'OK:15/75', 'NO MATCH:0/75'])
    expect(seen).toEqual(ids)
  })

  it('returns users shaped like the K1A sample, filtered by EmployeeNoList', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1', '2', '3'])
    const res = await search(client, { searchResultPosition: 0, maxResults: 30, EmployeeNoList: [{ employeeNo: '2' }, { employeeNo: '404' }] })
    const body = res.json().UserInfoSearch
    expect([body.searchID, body.responseStatusStrg, body.numOfMatches, body.totalMatches]).toEqual(['scan-1', 'OK', 1, 1])
    const sampleUser = sample('userinfo_search_response_ok_dsk1a340fwx.json').UserInfoSearch.UserInfo[0]
    expect(Object.keys(body.UserInfo[0])).toEqual(Object.keys(sampleUser))
    expect(body.UserInfo[0]).toMatchObject({ employeeNo: '2', gender: 'male', numOfFace: 0 })
    const none = (await search(client, { searchResultPosition: 0, maxResults: 30, EmployeeNoList: [{ employeeNo: '404' }] })).json()
    expect(none).toEqual({ UserInfoSearch: { searchID: 'scan-1', responseStatusStrg: 'NO MATCH', numOfMatches: 0, totalMatches: 0 } })
  })

  it('requires searchID and the paging fields', async () => {
    const { client } = await startKit()
    const res = await client.call('POST', `${U}/Search?format=json`, { json: { UserInfoSearchCond: { searchResultPosition: 0, maxResults: 5 } } })
    expect(res.json()).toMatchObject({ subStatusCode: 'MessageParametersLack', errorMsg: 'searchID' })
    expect((await search(client, { maxResults: 5 })).json()).toMatchObject({ errorMsg: 'searchResultPosition' })
  })
})

describe('simulated terminal: UserInfo/Delete and Count', () => {
  it('deletes listed users, ignores absent ones and counts the rest', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1', '2', '3'])
    const del = await client.call('PUT', `${U}/Delete?format=json`, { json: { UserInfoDelCond: { EmployeeNoList: [{ employeeNo: '2' }, { employeeNo: '99' }] } } })
    expect(del.json()).toMatchObject({ statusCode: 1 })
    const count = await client.call('GET', `${U}/Count?format=json`)
    expect(count.json()).toEqual({ UserInfoCount: { userNumber: 2, bindFaceUserNumber: 0 } })
  })

  it('answers {} with MessageParametersLack/UserInfoDelCond and keeps everyone', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1'])
    const res = await client.call('PUT', `${U}/Delete?format=json`, { json: {} })
    expect([res.status, res.json().subStatusCode, res.json().errorMsg]).toEqual([400, 'MessageParametersLack', 'UserInfoDelCond'])
    expect((await client.call('GET', `${U}/Count?format=json`)).json().UserInfoCount.userNumber).toBe(1)
  })

  it('deletes EVERY user when EmployeeNoList is empty', async () => {
    const { client } = await startKit()
    await addUsers(client, ['1', '2', '3', '4'])
    const res = await client.call('PUT', `${U}/Delete?format=json`, { json: { UserInfoDelCond: { EmployeeNoList: [] } } })
    expect(res.status).toBe(200)
    expect((await client.call('GET', `${U}/Count?format=json`)).json().UserInfoCount.userNumber).toBe(0)
  })
})
