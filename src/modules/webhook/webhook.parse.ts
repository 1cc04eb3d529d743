import { XMLParser } from 'fast-xml-parser'
import { pushEventSchema, type IsapiPushEvent } from '../../integrations/isapi/index.js'
import { badRequest } from '../../lib/errors.js'
import { MultipartError, splitMultipart, type MultipartPart } from '../../lib/multipart.js'

export interface ParsedPush {
  format: 'multipart' | 'json' | 'xml'
  events: IsapiPushEvent[]
  /** The `Picture` part of a face event, when the terminal sent one. */
  picture: Buffer | null
}

const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, trimValues: true })

const invalid = (message: string) => badRequest('WEBHOOK_BODY_INVALID', message)

function boundaryOf (contentType: string | undefined, body: Buffer) {
  const declared = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1]
  if (declared) return declared
  // Labels lie: a body that starts with `--token` is multipart whatever the header says.
  const firstLine = body.subarray(0, Math.min(body.length, 200)).toString('latin1').split('\r\n')[0]
  return firstLine.startsWith('--') && firstLine.length > 2 ? firstLine.slice(2).trim() : undefined
}

function splitOrRefuse (body: Buffer, boundary: string) {
  try {
    return splitMultipart(body, boundary)
  } catch (err) {
    throw err instanceof MultipartError ? invalid(err.message) : err
  }
}

const partName = (p: MultipartPart) => /name="?([^";]+)"?/i.exec(p.headers['content-disposition'] ?? '')?.[1] ?? ''
const looksJson = (b: Buffer) => /^\s*\{/.test(b.subarray(0, 64).toString('utf8'))
const looksXml = (b: Buffer) => /^\s*</.test(b.subarray(0, 64).toString('utf8'))

function parseJsonEvent (text: string): IsapiPushEvent {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw invalid('event JSON is not valid JSON')
  }
  const parsed = pushEventSchema.safeParse(value)
  if (!parsed.success) throw invalid(`event JSON is not an ISAPI event: ${parsed.error.issues[0]?.path.join('.') || 'eventType'} ${parsed.error.issues[0]?.message ?? ''}`.trim())
  return parsed.data
}

/** Camera-style `EventNotificationAlert` XML, mapped onto the same fields as a JSON push. */
function parseXmlEvent (text: string): IsapiPushEvent {
  let doc: Record<string, unknown>
  try {
    doc = xml.parse(text, true) as Record<string, unknown>
  } catch {
    throw invalid('event XML is not well-formed')
  }
  const alert = doc.EventNotificationAlert as Record<string, unknown> | undefined
  if (!alert || typeof alert !== 'object') throw invalid('XML body is not an EventNotificationAlert')
  const ace = alert.AccessControllerEvent as Record<string, unknown> | undefined
  const parsed = pushEventSchema.safeParse({ ...alert, ...(ace && { AccessControllerEvent: ace }) })
  if (!parsed.success) throw invalid('EventNotificationAlert without an eventType')
  return parsed.data
}

/** Every shape a terminal pushes: multipart (any part name), bare JSON, or XML — whatever the Content-Type says. */
export function parsePushBody (body: Buffer, contentType?: string): ParsedPush {
  if (body.length === 0) throw badRequest('WEBHOOK_BODY_EMPTY', 'The request has no body')
  const boundary = /multipart/i.test(contentType ?? '') || body.subarray(0, 2).toString('latin1') === '--' ? boundaryOf(contentType, body) : undefined
  if (boundary) {
    const parts = splitOrRefuse(body, boundary)
    const picture = parts.find((p) => /^picture$/i.test(partName(p)) || /^image\//i.test(p.headers['content-type'] ?? ''))?.body ?? null
    const events = parts.filter((p) => p.body !== picture && (looksJson(p.body) || looksXml(p.body)))
      .map((p) => (looksJson(p.body) ? parseJsonEvent(p.body.toString('utf8')) : parseXmlEvent(p.body.toString('utf8'))))
    if (events.length === 0) throw invalid('multipart body without an event part')
    return { format: 'multipart', events, picture: picture && picture.length > 0 ? Buffer.from(picture) : null }
  }
  if (looksJson(body)) return { format: 'json', events: [parseJsonEvent(body.toString('utf8'))], picture: null }
  if (looksXml(body)) return { format: 'xml', events: [parseXmlEvent(body.toString('utf8'))], picture: null }
  throw invalid('The body is neither multipart, JSON nor XML')
}
