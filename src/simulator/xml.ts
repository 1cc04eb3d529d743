import { XMLParser, XMLValidator } from 'fast-xml-parser'

export const ISAPI_NS = 'http://www.isapi.org/ver20/XMLSchema'
export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>'

export type XmlValue = string | number | boolean | XmlNode[]
export type XmlNode = [name: string, value: XmlValue]

export function escapeXml (s: string) {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' }[c] ?? c))
}

function renderNode ([name, value]: XmlNode, eol: string): string {
  if (Array.isArray(value)) return `<${name}>${eol}${value.map((n) => renderNode(n, eol)).join('')}</${name}>${eol}`
  return `<${name}>${escapeXml(String(value))}</${name}>${eol}`
}

/**
 * The DS-K1T673 layout (deviceInfo, userCheck captures): declaration, one
 * element per line, no indentation, CRLF after every line including the last.
 */
export function renderIsapiXml (root: string, children: XmlNode[], opts: { declaration?: boolean, eol?: string } = {}) {
  const eol = opts.eol ?? '\r\n'
  const head = opts.declaration === false ? '' : `${XML_DECL}${eol}`
  return `${head}<${root} version="2.0" xmlns="${ISAPI_NS}">${eol}${children.map((n) => renderNode(n, eol)).join('')}</${root}>${eol}`
}

const parser = new XMLParser({
  removeNSPrefix: true,
  parseTagValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  trimValues: true,
})

export type XmlObject = Record<string, unknown>

/** Namespace-agnostic parse; undefined when the body is not one well-formed XML document. */
export function parseXmlBody (body: Buffer): { root: string, value: XmlObject } | undefined {
  const text = body.toString('utf8').trim()
  if (!text.startsWith('<') || XMLValidator.validate(text) !== true) return undefined
  const doc = parser.parse(text) as Record<string, unknown>
  const roots = Object.keys(doc)
  if (roots.length !== 1) return undefined
  const value = doc[roots[0]]
  return { root: roots[0], value: typeof value === 'object' && value !== null ? value as XmlObject : {} }
}

export function xmlText (obj: XmlObject, key: string): string | undefined {
  const v = obj[key]
  if (v === undefined || v === null) return undefined
  return typeof v === 'object' ? undefined : String(v)
}

export function xmlList (value: unknown): XmlObject[] {
  if (value === undefined || value === null || value === '') return []
  const items = Array.isArray(value) ? value : [value]
  return items.map((v) => (typeof v === 'object' && v !== null ? v as XmlObject : {}))
}
