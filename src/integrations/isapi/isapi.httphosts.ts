import { z } from 'zod'
import { asArray, isRecord, textOf } from './isapi.decode.js'
import { IsapiError } from './isapi.errors.js'
import { localError, xmlBody, type IsapiRequester, type IsapiTimeouts } from './isapi.request.js'

type RawSlot = Record<string, unknown>

const text = (v: unknown) => {
  const t = textOf(v)
  return typeof t === 'string' ? t : typeof t === 'number' ? String(t) : null
}

function normaliseSlot (raw: RawSlot) {
  const port = text(raw.portNo)
  return {
    id: text(raw.id) ?? '',
    url: text(raw.url) || null,
    protocolType: text(raw.protocolType),
    parameterFormatType: text(raw.parameterFormatType),
    addressingFormatType: text(raw.addressingFormatType),
    hostName: text(raw.hostName) || null,
    ipAddress: text(raw.ipAddress) || null,
    portNo: port && /^\d+$/.test(port) ? Number(port) : null,
    httpAuthenticationMethod: text(raw.httpAuthenticationMethod),
    /** 0.0.0.0 / port 0 / no URL: nobody uses this slot. */
    isEmpty: (!text(raw.ipAddress) || text(raw.ipAddress) === '0.0.0.0') && !text(raw.hostName) && (!port || port === '0'),
  }
}
export type IsapiHttpHost = ReturnType<typeof normaliseSlot>

const rawListSchema = z.object({
  HttpHostNotificationList: z.union([z.object({ HttpHostNotification: z.unknown() }), z.literal('')]),
}).transform(({ HttpHostNotificationList: l }) => asArray(l === '' ? undefined : l.HttpHostNotification).filter(isRecord))

export const httpHostsSchema = rawListSchema.transform((slots) => slots.map(normaliseSlot))

export const httpHostChangesSchema = z.strictObject({
  url: z.string().max(128).regex(/^\//, 'url is a path starting with /').optional(),
  protocolType: z.enum(['HTTP', 'HTTPS']).optional(),
  parameterFormatType: z.enum(['JSON', 'XML']).optional(),
  addressingFormatType: z.enum(['ipaddress', 'hostname']).optional(),
  ipAddress: z.ipv4().optional(),
  hostName: z.string().min(1).max(64).optional(),
  portNo: z.number().int().min(1).max(65535).optional(),
  httpAuthenticationMethod: z.enum(['none', 'MD5digest']).optional(),
  userName: z.string().max(32).optional(),
  password: z.string().max(64).optional(),
})
export type HttpHostChanges = z.input<typeof httpHostChangesSchema>

const CANONICAL_ORDER = [
  'id', 'url', 'protocolType', 'parameterFormatType', 'addressingFormatType', 'hostName', 'ipAddress', 'ipv6Address',
  'portNo', 'userName', 'password', 'httpAuthenticationMethod',
]

/** Applies `changes` to a slot read from the device, keeping every field we do not touch (SubscribeEvent…). */
export function mergeHttpHostSlot (raw: RawSlot, changes: z.output<typeof httpHostChangesSchema>): RawSlot {
  const merged: RawSlot = { ...raw }
  for (const [k, v] of Object.entries(changes)) if (v !== undefined) merged[k] = String(v)
  const ordered: RawSlot = {}
  for (const k of CANONICAL_ORDER) if (k in merged) ordered[k] = merged[k]
  for (const [k, v] of Object.entries(merged)) if (!(k in ordered)) ordered[k] = v
  return ordered
}

export function createHttpHostOps (r: IsapiRequester, t: IsapiTimeouts) {
  const readRaw = () => r.doc({ operation: 'httpHostsGet', method: 'GET', path: '/ISAPI/Event/notification/httpHosts', timeoutMs: t.defaultMs }, rawListSchema)
  return {
    getHttpHosts: async () => (await readRaw()).map(normaliseSlot),
    /**
     * Changes ONE slot: GET the list, merge into slot `id`, PUT only `/httpHosts/<id>`, read back.
     * Never PUTs the whole list, which would wipe a slot another system (ISUP, a VMS) owns.
     */
    async setHttpHost (id: string, changes: HttpHostChanges) {
      if (!/^\d{1,3}$/.test(id)) throw localError(r.deviceKey, 'httpHostSet', 'slot id must be numeric')
      const parsed = httpHostChangesSchema.safeParse(changes)
      if (!parsed.success) throw localError(r.deviceKey, 'httpHostSet', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '))
      const slot = (await readRaw()).find((s) => text(s.id) === id)
      if (!slot) {
        throw new IsapiError('DEVICE_NOT_SUPPORTED', `httpHostSet: the device has no httpHosts slot ${id}`, { deviceKey: r.deviceKey, operation: 'httpHostSet' })
      }
      const merged = mergeHttpHostSlot(slot, parsed.data)
      await r.ok({
        operation: 'httpHostSet', method: 'PUT', path: `/ISAPI/Event/notification/httpHosts/${id}`,
        body: xmlBody('HttpHostNotification', () => merged), timeoutMs: t.writeMs,
      })
      const after = (await readRaw()).find((s) => text(s.id) === id)
      return after ? normaliseSlot(after) : null
    },
  }
}

/** A single `<HttpHostNotification>` document (the body of PUT /httpHosts/<id>). */
export const httpHostSlotSchema = z.object({ HttpHostNotification: z.record(z.string(), z.unknown()) })
  .transform(({ HttpHostNotification: s }) => normaliseSlot(s))
