import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js'

type Json = Record<string, any>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const PATH_ITEM_KEYS = new Set([...METHODS, 'summary', 'description', 'servers', 'parameters', '$ref'])

// The Schema Object of OpenAPI 3.0 (a JSON Schema subset plus a few keywords).
// Keywords outside it (const, type arrays, prefixItems, $schema, …) are not valid 3.0.
const SCHEMA_KEYWORDS = new Set([
  'title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength',
  'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties', 'required', 'enum', 'type',
  'allOf', 'oneOf', 'anyOf', 'not', 'items', 'properties', 'additionalProperties', 'description', 'format',
  'default', 'nullable', 'discriminator', 'readOnly', 'writeOnly', 'xml', 'externalDocs', 'example', 'deprecated', '$ref',
])
const SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object'])

/**
 * Structural validation of an OpenAPI 3.0 document: the rules of the 3.0.3
 * specification that a generator can realistically get wrong. Returns problems.
 */
function validateOpenApi3 (doc: Json): string[] {
  const problems: string[] = []
  const bad = (where: string, msg: string) => { problems.push(`${where}: ${msg}`) }

  if (typeof doc.openapi !== 'string' || !/^3\.0\.\d+$/.test(doc.openapi)) bad('openapi', `is ${JSON.stringify(doc.openapi)}, expected 3.0.x`)
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') bad('info', 'needs title and version strings')
  if (typeof doc.paths !== 'object' || doc.paths === null) bad('paths', 'is required')

  const resolveRef = (ref: string) => {
    if (!ref.startsWith('#/')) return undefined
    return ref.slice(2).split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc)
  }

  const checkSchema = (schema: unknown, where: string): void => {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return bad(where, 'schema must be an object')
    const s = schema as Json
    for (const key of Object.keys(s)) {
      if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) bad(where, `keyword "${key}" is not allowed in an OpenAPI 3.0 schema`)
    }
    if (s.$ref !== undefined) {
      if (typeof s.$ref !== 'string' || resolveRef(s.$ref) === undefined) bad(where, `unresolvable $ref ${JSON.stringify(s.$ref)}`)
      return
    }
    if (s.type !== undefined && !(typeof s.type === 'string' && SCHEMA_TYPES.has(s.type))) bad(where, `invalid type ${JSON.stringify(s.type)}`)
    if (s.type === 'array' && s.items === undefined) bad(where, 'array schema without items')
    for (const k of ['exclusiveMinimum', 'exclusiveMaximum', 'nullable', 'uniqueItems', 'readOnly', 'writeOnly', 'deprecated']) {
      if (s[k] !== undefined && typeof s[k] !== 'boolean') bad(where, `${k} must be a boolean in OpenAPI 3.0`)
    }
    if (s.required !== undefined && !(Array.isArray(s.required) && s.required.length > 0 && s.required.every((r: unknown) => typeof r === 'string'))) {
      bad(where, 'required must be a non-empty array of strings')
    }
    if (s.enum !== undefined && !(Array.isArray(s.enum) && s.enum.length > 0)) bad(where, 'enum must be a non-empty array')
    if (s.pattern !== undefined) {
      try { new RegExp(s.pattern) } catch { bad(where, `invalid pattern ${s.pattern}`) } // eslint-disable-line no-new
    }
    for (const [name, sub] of Object.entries((s.properties ?? {}) as Json)) checkSchema(sub, `${where}.properties.${name}`)
    if (s.items !== undefined) checkSchema(s.items, `${where}.items`)
    if (s.not !== undefined) checkSchema(s.not, `${where}.not`)
    if (typeof s.additionalProperties === 'object') checkSchema(s.additionalProperties, `${where}.additionalProperties`)
    for (const k of ['allOf', 'anyOf', 'oneOf']) {
      if (s[k] === undefined) continue
      if (!Array.isArray(s[k]) || s[k].length === 0) bad(where, `${k} must be a non-empty array`)
      else s[k].forEach((sub: unknown, i: number) => checkSchema(sub, `${where}.${k}[${i}]`))
    }
  }

  const checkContent = (content: unknown, where: string) => {
    if (typeof content !== 'object' || content === null || Object.keys(content).length === 0) return bad(where, 'content must be a non-empty map')
    for (const [type, media] of Object.entries(content as Json)) {
      if (!/^[\w.+-]+\/[\w.+*-]+$/.test(type) && type !== '*/*') bad(where, `invalid media type ${type}`)
      if (media.schema !== undefined) checkSchema(media.schema, `${where}.${type}.schema`)
    }
  }

  const schemes = doc.components?.securitySchemes ?? {}
  const checkSecurity = (security: unknown, where: string) => {
    if (security === undefined) return
    if (!Array.isArray(security)) return bad(where, 'security must be an array')
    for (const req of security) {
      for (const name of Object.keys(req)) if (!(name in schemes)) bad(where, `security scheme "${name}" is not defined`)
    }
  }
  checkSecurity(doc.security, 'security')
  for (const [name, scheme] of Object.entries(schemes as Json)) {
    if (!['apiKey', 'http', 'oauth2', 'openIdConnect'].includes(scheme.type)) bad(`securitySchemes.${name}`, `invalid type ${scheme.type}`)
    if (scheme.type === 'http' && typeof scheme.scheme !== 'string') bad(`securitySchemes.${name}`, 'http scheme needs "scheme"')
  }
  for (const [name, schema] of Object.entries((doc.components?.schemas ?? {}) as Json)) {
    if (!/^[a-zA-Z0-9.\-_]+$/.test(name)) bad(`components.schemas.${name}`, 'invalid component name')
    checkSchema(schema, `components.schemas.${name}`)
  }

  for (const [route, item] of Object.entries((doc.paths ?? {}) as Json)) {
    if (!route.startsWith('/')) bad(route, 'path must start with /')
    if (/\/:/.test(route)) bad(route, 'uses :param instead of {param}')
    const templated = [...route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort()
    for (const key of Object.keys(item)) if (!PATH_ITEM_KEYS.has(key) && !key.startsWith('x-')) bad(route, `unknown path item key ${key}`)
    for (const method of METHODS.filter((m) => item[m])) {
      const op = item[method]
      const where = `${method.toUpperCase()} ${route}`
      const params: Json[] = [...(item.parameters ?? []), ...(op.parameters ?? [])]
      const seen = new Set<string>()
      for (const p of params) {
        if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in)) { bad(where, `invalid parameter ${JSON.stringify(p)}`); continue }
        if (seen.has(`${p.in}:${p.name}`)) bad(where, `duplicate parameter ${p.in}:${p.name}`)
        seen.add(`${p.in}:${p.name}`)
        if (p.in === 'path' && p.required !== true) bad(where, `path parameter ${p.name} must be required`)
        if ((p.schema === undefined) === (p.content === undefined)) bad(where, `parameter ${p.name} needs exactly one of schema/content`)
        if (p.schema !== undefined) checkSchema(p.schema, `${where} parameter ${p.name}`)
      }
      const declared = params.filter((p) => p.in === 'path').map((p) => p.name).sort()
      if (JSON.stringify(declared) !== JSON.stringify(templated)) bad(where, `path parameters ${JSON.stringify(declared)} do not match the template ${JSON.stringify(templated)}`)
      if (op.requestBody !== undefined) checkContent(op.requestBody.content, `${where} requestBody`)
      if (typeof op.responses !== 'object' || op.responses === null || Object.keys(op.responses).length === 0) bad(where, 'responses are required')
      for (const [status, res] of Object.entries((op.responses ?? {}) as Json)) {
        if (!/^([1-5](\d\d|XX)|default)$/.test(status)) bad(where, `invalid response key ${status}`)
        if (res.$ref !== undefined) continue
        if (typeof res.description !== 'string') bad(`${where} ${status}`, 'response needs a description')
        if (res.content !== undefined) checkContent(res.content, `${where} ${status}`)
      }
      if (op.tags !== undefined && !(Array.isArray(op.tags) && op.tags.every((t: unknown) => typeof t === 'string'))) bad(where, 'tags must be strings')
      checkSecurity(op.security, where)
    }
  }
  return problems
}

function operations (doc: Json) {
  return Object.entries(doc.paths as Json).flatMap(([route, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ route, method, op: item[method] as Json })))
}

describe('OpenAPI document', () => {
  let app: TestApp
  let doc: Json
  beforeAll(async () => {
    app = await buildTestApp()
    const res = await app.inject({ method: 'GET', url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    doc = res.json()
  })

  it('is a valid OpenAPI 3.0 document', () => {
    expect(validateOpenApi3(doc)).toEqual([])
  })

  it('declares bearer JWT security, required by default', () => {
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    expect(doc.security).toEqual([{ bearerAuth: [] }])
  })

  it('gives every /api/v1 operation a unique operationId and tags', () => {
    const ops = operations(doc)
    const api = ops.filter((o) => o.route.startsWith('/api/v1/'))
    expect(api.length).toBeGreaterThan(0)
    const missing = api.filter(({ op }) => typeof op.operationId !== 'string' || op.operationId === '' || !Array.isArray(op.tags) || op.tags.length === 0)
    expect(missing.map((o) => `${o.method.toUpperCase()} ${o.route}`)).toEqual([])
    const ids = ops.map((o) => o.op.operationId).filter((id) => id !== undefined)
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([])
  })

  it('documents the public auth endpoints as needing no token, and the rest as needing one', () => {
    const ops = operations(doc)
    const login = ops.find((o) => o.route === '/api/v1/auth/login' && o.method === 'post')
    expect(login?.op.security).toEqual([])
    const schools = ops.find((o) => o.route === '/api/v1/schools' && o.method === 'get')
    expect(schools).toBeDefined()
    expect(schools?.op.security ?? doc.security).toEqual([{ bearerAuth: [] }])
  })

  it('the validator itself rejects broken documents', () => {
    const broken: Json = structuredClone(doc)
    broken.openapi = '2.0'
    const [route, item] = Object.entries(broken.paths as Json).find(([r]) => r.includes('{'))!
    const method = METHODS.find((m) => item[m])!
    item[method].parameters = item[method].parameters.filter((p: Json) => p.in !== 'path')
    item[method].responses['200'] = { content: { 'application/json': { schema: { type: ['string', 'null'], const: 'x' } } } }
    item[method].security = [{ apiKey: [] }]
    broken.components.schemas.Broken = { $ref: '#/components/schemas/Nope' }
    const problems = validateOpenApi3(broken).join('\n')
    expect(problems).toMatch(/openapi: is "2\.0"/)
    expect(problems).toMatch(/path parameters \[\] do not match the template/)
    expect(problems).toMatch(/response needs a description/)
    expect(problems).toMatch(/keyword "const" is not allowed/)
    expect(problems).toMatch(/invalid type \["string","null"\]/)
    expect(problems).toMatch(/security scheme "apiKey" is not defined/)
    expect(problems).toMatch(/unresolvable \$ref "#\/components\/schemas\/Nope"/)
    expect(route).toMatch(/^\//)
  })

  it('serves Swagger UI at /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.body).toContain('<title>Swagger UI</title>')
    const bundle = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' })
    expect(bundle.statusCode).toBe(200)
    // The UI loads the same document that /openapi.json serves.
    const uiDoc = await app.inject({ method: 'GET', url: '/docs/json' })
    expect(uiDoc.statusCode).toBe(200)
    expect(uiDoc.json()).toEqual(doc)
  })
})

describe('with DOCS_ENABLED=false', () => {
  it('does not serve Swagger UI but still serves /openapi.json', async () => {
    const app = await buildTestApp({ DOCS_ENABLED: 'false' })
    const docs = await app.inject({ method: 'GET', url: '/docs' })
    expect(docs.statusCode).toBe(404)
    expect(docs.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' })
    const spec = await app.inject({ method: 'GET', url: '/openapi.json' })
    expect(spec.statusCode).toBe(200)
    expect(spec.json().openapi).toMatch(/^3\./)
  })
})
