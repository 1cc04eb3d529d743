import { XMLParser } from 'fast-xml-parser'
import { pushEventSchema, type IsapiPushEvent } from '../../integrations/isapi/index.js'
import { badRequest } from '../../lib/errors.js'

export interface ParsedPush {
  format: 'multipart' | 'json' | 'xml'
  events: IsapiPushEvent[]
  /** The `Picture` part of a face event, when the terminal sent one. */
  picture: Buffer | null
}

interface Part { headers: Record<string, string>, body: Buffer }

const CRLF2 = Buffer.from('\r\n\r\n')
const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, trimValues: true })

const invalid = (message: string) => badRequest('WEBHOOK_BODY_INVALID', message)

function boundaryOf (contentType: string | undefined, body: Buffer) {
  const declared = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1]
  if (declared) return declared
  // Labels lie: a body that starts with `--token` is multipart whatever the header says.
  const firstLine = body.subarray(0, Math.min(body.length, 200)).toString('latin1').split('\r\n')[0]
  return firstLine.startsWith('--') && firstLine.length > 2 ? firstLine.slice(2).trim() : undefined
}

function parseHeaders (raw: string) {
  const headers: Record<string, string> = {}
  for (const line of raw.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return headers
}

/**
 * Splits multipart by each part's own Content-Length when it has one (JPEG bytes may contain
 * anything), else up to the next boundary line. A missing closing boundary is a truncated body.
 */
export function splitMultipart (body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Part[] = []
  let pos = body.indexOf(delimiter)
  if (pos < 0) throw invalid('multipart body without its boundary')
  for (;;) {
    pos += delimiter.length
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts
    if (body.subarray(pos, pos + 2).toString('latin1') === '\r\n') pos += 2
    const headerEnd = body.indexOf(CRLF2, pos)
    if (headerEnd < 0) throw invalid('truncated multipart body (part headers never end)')
    const headers = parseHeaders(body.subarray(pos, headerEnd).toString('latin1'))
    const start = headerEnd + 4
    const declared = Number(headers['content-length'])
    let end: number
    if (Number.isInteger(declared) && declared >= 0 && body.indexOf(delimiter, start + declared) === start + declared + 2) {
      end = start + declared
    } else {
      const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start)
      if (next < 0) throw invalid('truncated multipart body (no closing boundary)')
      end = next
    }
    parts.push({ headers, body: body.subarray(start, end) })
    pos = body.indexOf(delimiter, end)
    if (pos < 0) throw invalid('truncated multipart body (no closing boundary)')
  }
}

const partName = (p: Part) => /name="?([^";]+)"?/i.exec(p.headers['content-disposition'] ?? '')?.[1] ?? ''
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
    const parts = splitMultipart(body, boundary)
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
