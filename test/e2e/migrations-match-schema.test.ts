import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/db.js'
import { diffSchemaAgainstDatabase, loadDatamodel } from '../helpers/schema-drift.js'

const SCHEMA_PATH = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url))

let schema: string
let client: pg.Client
let database: Awaited<ReturnType<typeof createTestDatabase>>

beforeAll(async () => {
  schema = await readFile(SCHEMA_PATH, 'utf8')
  database = await createTestDatabase()
  client = new pg.Client({ connectionString: database.url })
  await client.connect()
})

afterAll(async () => {
  await client?.end()
  await database?.drop()
})

/** Replaces exactly one occurrence, so a schema edit cannot make a case silently vacuous. */
function edit (text: string, from: string | RegExp, to: string) {
  const matches = typeof from === 'string' ? text.split(from).length - 1 : (text.match(new RegExp(from.source, from.flags.replace('g', '') + 'g')) ?? []).length
  if (matches !== 1) throw new Error(`expected exactly one match for ${String(from)}, found ${matches}`)
  return text.replace(from, to)
}

/** Like edit, but only inside one block (`model School`, `enum Role`), so new models elsewhere cannot interfere. */
function editIn (text: string, header: string, from: string | RegExp, to: string) {
  const start = text.indexOf(`\n${header} {`)
  if (start < 0 || text.indexOf(`\n${header} {`, start + 1) >= 0) throw new Error(`expected exactly one "${header}" block in schema.prisma`)
  const end = text.indexOf('\n}', start) + 1
  return text.slice(0, start) + edit(text.slice(start, end), from, to) + text.slice(end)
}

function removeBlock (text: string, header: string) {
  const start = text.indexOf(`\n${header} {`)
  if (start < 0) throw new Error(`no "${header}" block in schema.prisma`)
  return text.slice(0, start) + text.slice(text.indexOf('\n}', start) + 2)
}

describe('migrations match schema.prisma', () => {
  it('the migrated database is exactly what schema.prisma describes', async () => {
    expect(await diffSchemaAgainstDatabase(schema, client)).toEqual([])
  })

  it('information_schema lists exactly the schema\'s tables plus _prisma_migrations', async () => {
    const models = (await loadDatamodel(schema)).models
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    expect(rows.map((r) => r.table_name).sort()).toEqual(['_prisma_migrations', ...models.map((m) => m.dbName ?? m.name)].sort())
    expect(models.length).toBeGreaterThan(0)
  })
})

describe('the schema checker reports drift', () => {
  const cases: Array<{ name: string, mutate: (s: string) => string, expected: RegExp }> = [
    {
      name: 'a field added without a migration',
      mutate: (s) => editIn(s, 'model School', '{\n', '{\n  nickname String?\n'),
      expected: /column "schools"\."nickname" \(School\.nickname\) is missing/,
    },
    {
      name: 'a field removed without a migration',
      mutate: (s) => editIn(s, 'model School', /\n {2}phone +String\?/, ''),
      expected: /column "schools"\."phone" exists in the database but not in model School/,
    },
    {
      name: 'a changed type',
      mutate: (s) => editIn(s, 'model Class', /grade +Int/, 'grade String'),
      expected: /column "classes"\."grade" \(Class\.grade\) has type integer, expected text/,
    },
    {
      name: 'a changed native type',
      mutate: (s) => editIn(s, 'model Holiday', /date +DateTime @db\.Date/, 'date DateTime'),
      expected: /column "holidays"\."date" \(Holiday\.date\) has type date, expected timestamp\(3\) without time zone/,
    },
    {
      name: 'a changed nullability',
      mutate: (s) => editIn(s, 'model School', /timezone +String\n/, 'timezone String?\n'),
      expected: /column "schools"\."timezone" \(School\.timezone\) is NOT NULL, expected nullable/,
    },
    {
      name: 'a changed literal default',
      mutate: (s) => editIn(s, 'model School', '@default(15)', '@default(20)'),
      expected: /column "schools"\."late_threshold_minutes" .* \(= 15\), expected 20/,
    },
    {
      name: 'a changed list default',
      mutate: (s) => editIn(s, 'model School', '@default([0])', '@default([0, 6])'),
      expected: /column "schools"\."weekend_days" .* \(= \[0\]\), expected \[0,6\]/,
    },
    {
      name: 'a removed now() default',
      mutate: (s) => editIn(s, 'model Holiday', /(createdAt +DateTime) @default\(now\(\)\)/, '$1'),
      expected: /column "holidays"\."created_at" .* has DEFAULT CURRENT_TIMESTAMP, expected no default/,
    },
    {
      name: 'an enum value added',
      mutate: (s) => editIn(s, 'enum Role', '  GUARD\n', '  GUARD\n  AUDITOR\n'),
      expected: /enum "Role" has values .*, expected .*"AUDITOR"/,
    },
    {
      name: 'enum values reordered',
      mutate: (s) => editIn(s, 'enum Gender', '  male\n  female\n', '  female\n  male\n'),
      expected: /enum "Gender" has values \["male","female"\], expected \["female","male"\]/,
    },
    {
      name: 'a model added',
      mutate: (s) => s + '\nmodel ZzDriftProbe {\n  id String @id @default(uuid()) @db.Uuid\n  @@map("zz_drift_probe")\n}\n',
      expected: /table "zz_drift_probe" \(model ZzDriftProbe\) is missing/,
    },
    {
      name: 'a model removed',
      mutate: (s) => removeBlock(editIn(s, 'model School', /\n {2}audits +AuditLog\[\]/, ''), 'model AuditLog'),
      expected: /table "audit_logs" exists in the database but not in the schema/,
    },
    {
      name: 'an index added',
      mutate: (s) => editIn(s, 'model Holiday', '  @@map("holidays")', '  @@index([name])\n  @@map("holidays")'),
      expected: /index "holidays_name_idx" on "holidays"\(name\) is missing/,
    },
    {
      name: 'an index removed',
      mutate: (s) => editIn(s, 'model RefreshToken', '  @@index([familyId])\n', ''),
      expected: /index "refresh_tokens_family_id_idx" on "refresh_tokens"\(family_id\) exists in the database but not in the schema/,
    },
    {
      name: 'index columns reordered',
      mutate: (s) => editIn(s, 'model Student', '@@index([schoolId, lastName, firstName])', '@@index([schoolId, firstName, lastName], map: "students_school_id_last_name_first_name_idx")'),
      expected: /index "students_school_id_last_name_first_name_idx" on "students"\(school_id, first_name, last_name\) has columns \(school_id, last_name, first_name\)/,
    },
    {
      name: 'a unique constraint made a plain index',
      mutate: (s) => editIn(s, 'model Holiday', '@@unique([schoolId, date])', '@@index([schoolId, date], map: "holidays_school_id_date_key")'),
      expected: /index "holidays_school_id_date_key" .* is unique in the database/,
    },
    {
      name: 'a field-level @unique added',
      mutate: (s) => editIn(s, 'model School', /(\n {2}phone +String\?)/, '$1 @unique'),
      expected: /unique index "schools_phone_key" on "schools"\(phone\) is missing/,
    },
    {
      name: 'a changed ON DELETE action',
      mutate: (s) => editIn(s, 'model RefreshToken', 'onDelete: Cascade', 'onDelete: Restrict'),
      expected: /foreign key "refresh_tokens_user_id_fkey" .* has ON DELETE Cascade, expected Restrict/,
    },
    {
      name: 'a relation added',
      mutate: (s) => editIn(
        editIn(s, 'model AuditLog', /(\n {2}school +School\?[^\n]*)/, '$1\n  actor User? @relation(fields: [actorId], references: [id], onDelete: SetNull)'),
        'model User', /(\n {2}teacherClasses +TeacherClass\[\])/, '$1\n  audits AuditLog[]'),
      expected: /foreign key "audit_logs_actor_id_fkey" "audit_logs"\(actor_id\) -> "users"\(id\) is missing/,
    },
    {
      name: 'a relation removed',
      mutate: (s) => editIn(editIn(s, 'model AuditLog', /\n {2}school +School\?[^\n]*/, ''), 'model School', /\n {2}audits +AuditLog\[\]/, ''),
      expected: /foreign key "audit_logs_school_id_fkey" on "audit_logs"\(school_id\) exists in the database but not in the schema/,
    },
    {
      name: 'a changed primary key',
      mutate: (s) => editIn(s, 'model TeacherClass', '@@id([teacherId, classId])', '@@id([classId, teacherId], map: "teacher_classes_pkey")'),
      expected: /table "teacher_classes" has primary key \["teacher_id","class_id"\], expected \["class_id","teacher_id"\]/,
    },
    {
      name: 'a changed @updatedAt',
      mutate: (s) => editIn(s, 'model Class', /(updatedAt +DateTime) @updatedAt/, '$1 @default(now())'),
      expected: /column "classes"\."updated_at" .* has no default, expected DEFAULT CURRENT_TIMESTAMP/,
    },
  ]

  it.each(cases)('$name', async ({ mutate, expected }) => {
    const mutated = mutate(schema)
    expect(mutated).not.toBe(schema)
    const problems = await diffSchemaAgainstDatabase(mutated, client)
    expect(problems.length).toBeGreaterThan(0)
    expect(problems.join('\n')).toMatch(expected)
  })

  // The reverse direction, from the database side: changes made without touching
  // schema.prisma. DDL is transactional in Postgres, so each one is rolled back.
  const dbCases: Array<{ name: string, sql: string, expected: RegExp }> = [
    { name: 'an extra table', sql: 'CREATE TABLE "stray" (id int)', expected: /table "stray" exists in the database but not in the schema/ },
    { name: 'an extra column', sql: 'ALTER TABLE "users" ADD COLUMN "nickname" text', expected: /column "users"\."nickname" exists in the database but not in model User/ },
    { name: 'an extra index', sql: 'CREATE INDEX "users_name_idx" ON "users"("name")', expected: /index "users_name_idx" on "users"\(name\) exists in the database but not in the schema/ },
    { name: 'an extra enum', sql: 'CREATE TYPE "Mood" AS ENUM (\'happy\')', expected: /enum "Mood" exists in the database but not in the schema/ },
    { name: 'an extra foreign key', sql: 'ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_actor_id_fkey" FOREIGN KEY ("actor_id") REFERENCES "users"("id")', expected: /foreign key "audit_logs_actor_id_fkey" .* exists in the database but not in the schema/ },
    { name: 'a dropped NOT NULL', sql: 'ALTER TABLE "users" ALTER COLUMN "email" DROP NOT NULL', expected: /column "users"\."email" \(User\.email\) is nullable, expected NOT NULL/ },
    { name: 'a default added to an @updatedAt column', sql: 'ALTER TABLE "users" ALTER COLUMN "updated_at" SET DEFAULT now()', expected: /column "users"\."updated_at" .* expected no default \(@updatedAt is set by Prisma\)/ },
    { name: 'a default added to a uuid() id', sql: 'ALTER TABLE "users" ALTER COLUMN "id" SET DEFAULT gen_random_uuid()', expected: /column "users"\."id" .* expected no default \(uuid\(\) is generated by Prisma\)/ },
    { name: 'a timestamp with the wrong precision', sql: 'ALTER TABLE "users" ALTER COLUMN "deleted_at" TYPE timestamptz(6)', expected: /column "users"\."deleted_at" .* has type timestamp\(6\) with time zone, expected timestamp\(3\) with time zone/ },
    { name: 'a list turned NOT NULL', sql: 'ALTER TABLE "schools" ALTER COLUMN "weekend_days" SET NOT NULL', expected: /column "schools"\."weekend_days" .* is NOT NULL, expected nullable/ },
  ]

  it.each(dbCases)('$name in the database', async ({ sql, expected }) => {
    await client.query('BEGIN')
    try {
      await client.query(sql)
      const problems = await diffSchemaAgainstDatabase(schema, client)
      expect(problems.join('\n')).toMatch(expected)
    } finally {
      await client.query('ROLLBACK')
    }
    expect(await diffSchemaAgainstDatabase(schema, client)).toEqual([])
  })
})
