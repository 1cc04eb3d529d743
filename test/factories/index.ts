import { randomUUID } from 'node:crypto'
import type { Prisma } from '../../src/generated/prisma/client.js'
import type { Role } from '../../src/generated/prisma/enums.js'
import { hashPassword } from '../../src/lib/password.js'
import type { TestApp } from '../helpers/build-test-app.js'

export const TEST_PASSWORD = 'correct-horse-battery'
let passwordHash: Promise<string> | undefined
const testPasswordHash = () => (passwordHash ??= hashPassword(TEST_PASSWORD))

const unique = () => randomUUID().slice(0, 8)

export function createSchool (app: TestApp, overrides: Partial<Prisma.SchoolCreateInput> = {}) {
  return app.prisma.school.create({ data: { name: `School ${unique()}`, code: `S-${unique()}`, timezone: 'Asia/Tashkent', ...overrides } })
}

export function createClass (app: TestApp, schoolId: string, overrides: Partial<Prisma.ClassUncheckedCreateInput> = {}) {
  return app.prisma.class.create({ data: { schoolId, name: `${1 + Math.floor(Math.random() * 11)}-${unique()}`, grade: 5, startTime: '08:00', ...overrides } })
}

let employeeNo = 5000
export function createStudent (app: TestApp, schoolId: string, overrides: Partial<Prisma.StudentUncheckedCreateInput> = {}) {
  return app.prisma.student.create({
    data: { schoolId, firstName: 'Ali', lastName: `Valiyev${unique()}`, gender: 'male', employeeNo: String(employeeNo++), ...overrides },
  })
}

export async function createUser (app: TestApp, role: Role, schoolId: string | null, overrides: Partial<Prisma.UserUncheckedCreateInput> = {}) {
  return app.prisma.user.create({
    data: { email: `${role.toLowerCase()}-${unique()}@example.test`, name: `${role} user`, role, schoolId, passwordHash: await testPasswordHash(), ...overrides },
  })
}

/** Signs in through the real login route and returns the bearer headers. */
export async function login (app: TestApp, email: string, password = TEST_PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const body = res.json<{ accessToken: string, refreshToken: string }>()
  return { ...body, headers: { authorization: `Bearer ${body.accessToken}` } }
}

export async function signedInAs (app: TestApp, role: Role, schoolId: string | null) {
  const user = await createUser(app, role, schoolId)
  return { user, ...(await login(app, user.email)) }
}
