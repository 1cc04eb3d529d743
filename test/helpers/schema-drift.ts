import internals from '@prisma/internals'
import type pg from 'pg'

/**
 * Compares a Prisma datamodel (schema.prisma text) with a live Postgres
 * database and lists every difference that `prisma migrate diff` would turn
 * into a migration step. Prisma's schema engine cannot be downloaded here, so
 * this is our replacement for `migrate diff --exit-code`.
 *
 * Covered: tables (@@map), columns (@map), types (incl. native types, lists and
 * enums), nullability, defaults, primary keys, indexes and unique constraints
 * (columns in order, sort order, uniqueness, names), foreign keys (columns,
 * referenced table/columns, ON DELETE/ON UPDATE, names) and enums (values in
 * order); plus the reverse direction: no extra tables, columns, indexes,
 * foreign keys or enums. Schema features the checker does not understand are
 * reported as differences, so they fail loudly rather than pass silently.
 */

type Document = Awaited<ReturnType<typeof internals.getDMMF>>
type Model = Document['datamodel']['models'][number]
type Field = Model['fields'][number]

const PG_MAX_IDENTIFIER = 63
const PRISMA_TABLE = '_prisma_migrations'

export interface Queryable { query: pg.Client['query'] }

export async function loadDatamodel (datamodel: string) {
  return (await internals.getDMMF({ datamodel })).datamodel
}

export async function diffSchemaAgainstDatabase (datamodelText: string, db: Queryable): Promise<string[]> {
  const dm = await loadDatamodel(datamodelText)
  const actual = await introspect(db)
  const problems: string[] = []
  const report = (msg: string) => problems.push(msg)

  if (dm.types.length > 0) report(`composite types are not supported by this checker: ${dm.types.map((t) => t.name).join(', ')}`)

  const models = new Map(dm.models.map((m) => [m.name, m]))
  const tableOf = (m: Model) => m.dbName ?? m.name
  const columnOf = (m: Model, fieldName: string) => {
    const f = m.fields.find((x) => x.name === fieldName)
    if (!f) throw new Error(`model ${m.name} has no field ${fieldName}`)
    return f.dbName ?? f.name
  }
  const enumDbName = new Map(dm.enums.map((e) => [e.name, e.dbName ?? e.name]))

  // Enums
  const expectedEnums = new Map(dm.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]))
  for (const [name, values] of expectedEnums) {
    const found = actual.enums.get(name)
    if (!found) report(`enum "${name}" is missing`)
    else if (JSON.stringify(found) !== JSON.stringify(values)) report(`enum "${name}" has values ${JSON.stringify(found)}, expected ${JSON.stringify(values)}`)
  }
  for (const name of actual.enums.keys()) if (!expectedEnums.has(name)) report(`enum "${name}" exists in the database but not in the schema`)

  // Tables
  const expectedTables = new Set(dm.models.map(tableOf))
  for (const t of actual.tables.keys()) {
    if (t !== PRISMA_TABLE && !expectedTables.has(t)) report(`table "${t}" exists in the database but not in the schema`)
  }

  const expectedIndexNames = new Set<string>()
  const expectedFkNames = new Set<string>()

  for (const model of dm.models) {
    const table = tableOf(model)
    if (model.schema) report(`model ${model.name}: multiSchema is not supported by this checker`)
    const columns = actual.tables.get(table)
    if (!columns) {
      report(`table "${table}" (model ${model.name}) is missing`)
      continue
    }
    const storedFields = model.fields.filter((f) => f.kind !== 'object')
    const expectedColumns = new Set<string>()
    for (const field of storedFields) {
      const column = field.dbName ?? field.name
      expectedColumns.add(column)
      const where = `column "${table}"."${column}" (${model.name}.${field.name})`
      const col = columns.get(column)
      if (!col) {
        report(`${where} is missing`)
        continue
      }
      const type = expectedType(field, enumDbName)
      if (type.error) report(`${where}: ${type.error}`)
      else if (col.type !== type.type) report(`${where} has type ${col.type}, expected ${type.type}`)

      const notNull = field.isRequired && !field.isList
      if (col.notNull !== notNull) report(`${where} is ${col.notNull ? 'NOT NULL' : 'nullable'}, expected ${notNull ? 'NOT NULL' : 'nullable'}`)

      const def = await compareDefault(db, field, col.default)
      if (def) report(`${where}: ${def}`)
    }
    for (const column of columns.keys()) {
      if (!expectedColumns.has(column)) report(`column "${table}"."${column}" exists in the database but not in model ${model.name}`)
    }

    // Primary key
    const idIndex = dm.indexes.find((i) => i.model === model.name && i.type === 'id')
    const pkFields = model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name)
    const pk = actual.primaryKeys.get(table)
    if (pkFields.length === 0) {
      if (pk) report(`table "${table}" has a primary key ${JSON.stringify(pk.columns)} but model ${model.name} has none`)
    } else {
      const pkColumns = pkFields.map((f) => columnOf(model, f))
      const pkName = idIndex?.dbName ?? model.primaryKey?.name ?? defaultName(table, [], 'pkey')
      if (!pk) report(`table "${table}" has no primary key, expected ${JSON.stringify(pkColumns)}`)
      else {
        if (JSON.stringify(pk.columns) !== JSON.stringify(pkColumns)) report(`table "${table}" has primary key ${JSON.stringify(pk.columns)}, expected ${JSON.stringify(pkColumns)}`)
        if (pk.name !== pkName) report(`table "${table}" primary key is named "${pk.name}", expected "${pkName}"`)
      }
    }

    // Indexes and unique constraints
    for (const index of dm.indexes.filter((i) => i.model === model.name && i.type !== 'id')) {
      if (index.type !== 'normal' && index.type !== 'unique') {
        report(`model ${model.name}: ${index.type} indexes are not supported by this checker`)
        continue
      }
      if (index.algorithm && index.algorithm !== 'BTree') report(`model ${model.name}: index algorithm ${index.algorithm} is not supported by this checker`)
      const cols = index.fields.map((f) => {
        if (f.length !== undefined || f.operatorClass !== undefined) report(`model ${model.name}: index length/operator classes are not supported by this checker`)
        return columnOf(model, f.name) + (f.sortOrder === 'desc' ? ' DESC' : '')
      })
      const unique = index.type === 'unique'
      const name = index.dbName ?? defaultName(table, index.fields.map((f) => columnOf(model, f.name)), unique ? 'key' : 'idx')
      expectedIndexNames.add(name)
      const found = actual.indexes.get(name)
      const what = `${unique ? 'unique index' : 'index'} "${name}" on "${table}"(${cols.join(', ')})`
      if (!found) report(`${what} is missing`)
      else {
        if (found.table !== table) report(`${what} is on table "${found.table}"`)
        if (JSON.stringify(found.columns) !== JSON.stringify(cols)) report(`${what} has columns (${found.columns.join(', ')})`)
        if (found.unique !== unique) report(`${what} is ${found.unique ? '' : 'not '}unique in the database`)
        if (found.partialOrExpression) report(`${what} is a partial or expression index in the database`)
      }
    }

    // Foreign keys
    for (const field of model.fields.filter((f) => f.kind === 'object' && (f.relationFromFields?.length ?? 0) > 0)) {
      const target = models.get(field.type)
      if (!target) {
        report(`model ${model.name}.${field.name}: unknown related model ${field.type}`)
        continue
      }
      const from = field.relationFromFields!.map((f) => columnOf(model, f))
      const to = (field.relationToFields ?? []).map((f) => columnOf(target, f))
      const fromRequired = field.relationFromFields!.every((f) => model.fields.find((x) => x.name === f)?.isRequired)
      const onDelete = field.relationOnDelete ?? (fromRequired ? 'Restrict' : 'SetNull')
      const onUpdate = field.relationOnUpdate ?? 'Cascade'
      const name = defaultName(table, from, 'fkey')
      expectedFkNames.add(name)
      const what = `foreign key "${name}" "${table}"(${from.join(', ')}) -> "${tableOf(target)}"(${to.join(', ')})`
      const fk = actual.foreignKeys.get(name)
      if (!fk) {
        report(`${what} is missing`)
        continue
      }
      if (fk.table !== table || JSON.stringify(fk.columns) !== JSON.stringify(from)) report(`${what} is on "${fk.table}"(${fk.columns.join(', ')})`)
      if (fk.refTable !== tableOf(target) || JSON.stringify(fk.refColumns) !== JSON.stringify(to)) report(`${what} references "${fk.refTable}"(${fk.refColumns.join(', ')})`)
      if (fk.onDelete !== onDelete) report(`${what} has ON DELETE ${fk.onDelete}, expected ${onDelete}`)
      if (fk.onUpdate !== onUpdate) report(`${what} has ON UPDATE ${fk.onUpdate}, expected ${onUpdate}`)
    }
  }

  for (const [name, idx] of actual.indexes) {
    if (idx.table === PRISMA_TABLE || idx.primary) continue
    if (!expectedIndexNames.has(name)) report(`index "${name}" on "${idx.table}"(${idx.columns.join(', ')}) exists in the database but not in the schema`)
  }
  for (const [name, fk] of actual.foreignKeys) {
    if (!expectedFkNames.has(name)) report(`foreign key "${name}" on "${fk.table}"(${fk.columns.join(', ')}) exists in the database but not in the schema`)
  }
  return problems
}

/** Prisma's default constraint names: {table}_{columns}_{suffix}, cut to Postgres' identifier limit. */
function defaultName (table: string, columns: string[], suffix: string) {
  const base = [table, ...columns].join('_')
  return base.slice(0, PG_MAX_IDENTIFIER - suffix.length - 1) + '_' + suffix
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
}

function nativeTypeName ([name, args]: readonly [string, readonly string[]]): string | undefined {
  const a = args.join(',')
  switch (name) {
    case 'Uuid': return 'uuid'
    case 'Text': return 'text'
    case 'VarChar': return a ? `character varying(${a})` : 'character varying'
    case 'Char': return a ? `character(${a})` : 'character'
    case 'Citext': return 'citext'
    case 'Integer': return 'integer'
    case 'SmallInt': return 'smallint'
    case 'BigInt': return 'bigint'
    case 'Real': return 'real'
    case 'DoublePrecision': return 'double precision'
    case 'Decimal': return a ? `numeric(${a})` : 'numeric'
    case 'Money': return 'money'
    case 'Boolean': return 'boolean'
    case 'Date': return 'date'
    case 'Timestamp': return `timestamp${a ? `(${a})` : ''} without time zone`
    case 'Timestamptz': return `timestamp${a ? `(${a})` : ''} with time zone`
    case 'Time': return `time${a ? `(${a})` : ''} without time zone`
    case 'Timetz': return `time${a ? `(${a})` : ''} with time zone`
    case 'Json': return 'json'
    case 'JsonB': return 'jsonb'
    case 'ByteA': return 'bytea'
    case 'Inet': return 'inet'
    case 'Xml': return 'xml'
    default: return undefined
  }
}

function expectedType (field: Field, enumDbName: Map<string, string>): { type?: string, error?: string } {
  let base: string | undefined
  if (field.kind === 'enum') base = `enum ${enumDbName.get(field.type) ?? field.type}`
  else if (field.kind === 'scalar') base = field.nativeType ? nativeTypeName(field.nativeType) : SCALAR_TYPES[field.type]
  if (!base) return { error: `type ${field.type}${field.nativeType ? ` @db.${field.nativeType[0]}` : ''} (kind ${field.kind}) is not supported by this checker` }
  return { type: field.isList ? `${base}[]` : base }
}

const ID_GENERATORS = new Set(['uuid', 'cuid', 'nanoid', 'ulid'])

async function compareDefault (db: Queryable, field: Field, actualDefault: string | null): Promise<string | undefined> {
  const describe = (d: string | null) => d === null ? 'no default' : `DEFAULT ${d}`
  if (field.isUpdatedAt || !field.hasDefaultValue || field.default === undefined) {
    return actualDefault === null ? undefined : `has ${describe(actualDefault)}, expected no default${field.isUpdatedAt ? ' (@updatedAt is set by Prisma)' : ''}`
  }
  const def = field.default
  if (typeof def === 'object' && def !== null && !Array.isArray(def)) {
    const fn = def as { name: string, args: ReadonlyArray<string | number> }
    if (ID_GENERATORS.has(fn.name)) {
      return actualDefault === null ? undefined : `has ${describe(actualDefault)}, expected no default (${fn.name}() is generated by Prisma)`
    }
    if (fn.name === 'now') {
      return actualDefault === 'CURRENT_TIMESTAMP' ? undefined : `has ${describe(actualDefault)}, expected DEFAULT CURRENT_TIMESTAMP`
    }
    if (fn.name === 'autoincrement') {
      return actualDefault?.startsWith('nextval(') ? undefined : `has ${describe(actualDefault)}, expected a sequence (autoincrement())`
    }
    if (fn.name === 'dbgenerated') {
      const expr = String(fn.args[0] ?? '')
      return actualDefault === expr ? undefined : `has ${describe(actualDefault)}, expected DEFAULT ${expr}`
    }
    return `default ${fn.name}() is not supported by this checker`
  }
  // A literal (or a list of literals): evaluate the database's default expression and compare values.
  if (actualDefault === null) return `has no default, expected DEFAULT ${JSON.stringify(def)}`
  const { rows } = await db.query<{ v: unknown }>(`SELECT (${actualDefault}) AS v`)
  const got = normaliseValue(rows[0].v, field.type)
  const want = Array.isArray(def) ? def.map((v) => normaliseValue(v, field.type)) : normaliseValue(def, field.type)
  return JSON.stringify(got) === JSON.stringify(want) ? undefined : `has ${describe(actualDefault)} (= ${JSON.stringify(got)}), expected ${JSON.stringify(want)}`
}

function normaliseValue (v: unknown, type: string): unknown {
  if (Array.isArray(v)) return v.map((x) => normaliseValue(x, type))
  switch (type) {
    case 'Json': return typeof v === 'string' ? JSON.parse(v) : v
    case 'DateTime': return new Date(v as string | Date).toISOString()
    case 'BigInt':
    case 'Decimal':
    case 'Float': return String(Number(v))
    default: return v
  }
}

interface Column { type: string, notNull: boolean, default: string | null }
interface IndexInfo { table: string, columns: string[], unique: boolean, primary: boolean, partialOrExpression: boolean }
interface ForeignKey { table: string, columns: string[], refTable: string, refColumns: string[], onDelete: string, onUpdate: string }

const FK_ACTIONS: Record<string, string> = { a: 'NoAction', r: 'Restrict', c: 'Cascade', n: 'SetNull', d: 'SetDefault' }

/** What the database actually contains, from pg_catalog (schema `public`). */
export async function introspect (db: Queryable) {
  const tables = new Map<string, Map<string, Column>>()
  const tableRows = await db.query<{ table: string }>(`
    SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`)
  for (const r of tableRows.rows) tables.set(r.table, new Map())

  const columnRows = await db.query<{ table: string, column: string, not_null: boolean, format: string, typtype: string, typname: string, is_array: boolean, default: string | null }>(`
    SELECT c.relname AS table, a.attname AS column, a.attnotnull AS not_null,
           format_type(a.atttypid, a.atttypmod) AS format,
           bt.typtype, bt.typname, t.typcategory = 'A' AS is_array,
           pg_get_expr(d.adbin, d.adrelid) AS default
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_type bt ON bt.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`)
  for (const r of columnRows.rows) {
    const type = r.typtype === 'e' ? `enum ${r.typname}${r.is_array ? '[]' : ''}` : r.format
    tables.get(r.table)!.set(r.column, { type, notNull: r.not_null, default: r.default })
  }

  const enums = new Map<string, string[]>()
  const enumRows = await db.query<{ name: string, values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname = 'public' GROUP BY t.typname`)
  for (const r of enumRows.rows) enums.set(r.name, r.values)

  const primaryKeys = new Map<string, { name: string, columns: string[] }>()
  const pkRows = await db.query<{ table: string, name: string, columns: string[] }>(`
    SELECT c.relname AS table, con.conname AS name,
           array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND con.contype = 'p'`)
  for (const r of pkRows.rows) primaryKeys.set(r.table, { name: r.name, columns: r.columns })

  const indexes = new Map<string, IndexInfo>()
  const indexRows = await db.query<{ name: string, table: string, columns: string[], unique: boolean, primary: boolean, partial_or_expression: boolean }>(`
    SELECT ic.relname AS name, tc.relname AS table, i.indisunique AS unique, i.indisprimary AS primary,
           (i.indpred IS NOT NULL OR i.indexprs IS NOT NULL) AS partial_or_expression,
           array(SELECT coalesce(a.attname, '?expr') || CASE WHEN (i.indoption[k.ord - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                 FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)::text[] AS columns
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class tc ON tc.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = tc.relnamespace
    WHERE n.nspname = 'public'`)
  for (const r of indexRows.rows) {
    indexes.set(r.name, { table: r.table, columns: r.columns, unique: r.unique, primary: r.primary, partialOrExpression: r.partial_or_expression })
  }

  const foreignKeys = new Map<string, ForeignKey>()
  const fkRows = await db.query<{ name: string, table: string, ref_table: string, columns: string[], ref_columns: string[], on_delete: string, on_update: string }>(`
    SELECT con.conname AS name, c.relname AS table, rc.relname AS ref_table,
           con.confdeltype AS on_delete, con.confupdtype AS on_update,
           array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
           array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS ref_columns
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_class rc ON rc.oid = con.confrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND con.contype = 'f'`)
  for (const r of fkRows.rows) {
    foreignKeys.set(r.name, {
      table: r.table,
      columns: r.columns,
      refTable: r.ref_table,
      refColumns: r.ref_columns,
      onDelete: FK_ACTIONS[r.on_delete] ?? r.on_delete,
      onUpdate: FK_ACTIONS[r.on_update] ?? r.on_update,
    })
  }

  return { tables, enums, primaryKeys, indexes, foreignKeys }
}
