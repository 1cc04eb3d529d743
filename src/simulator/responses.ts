import { printCJson } from './cjson.js'
import { renderIsapiXml, escapeXml, XML_DECL } from './xml.js'

/** `xml` bodies are labelled application/json on ?format=json URLs, as the DS-K1T673 does. */
export type ReplyKind = 'json' | 'xml' | 'binary'

export interface Reply {
  status: number
  kind: ReplyKind
  body: Buffer | string
  contentType?: string
  headers?: Array<[string, string]>
}

const JSON_STATUS_STRINGS: Record<number, string> = {
  1: 'OK', 2: 'Device Busy', 3: 'Device Error', 4: 'Invalid Operation', 5: 'Invalid Format', 6: 'Invalid Content', 7: 'Reboot Required',
}
const XML_STATUS_STRINGS: Record<number, string> = {
  ...JSON_STATUS_STRINGS, 5: 'Invalid XML Format', 6: 'Invalid XML Content',
}

/** Only codes seen in real replies or documented (ISAPI.md §8.3); others are left out, as some firmware does. */
const ERROR_CODES: Record<string, number> = {
  notSupport: 0x40000001,
  badAuthorization: 0x40000003,
  badParameters: 0x60000001,
  MessageParametersLack: 0x60000019,
  employeeNoAlreadyExist: 0x60006020,
}

export function jsonReply (status: number, body: unknown): Reply {
  return { status, kind: 'json', body: printCJson(body) }
}

export function okJson (): Reply {
  return jsonReply(200, { statusCode: 1, statusString: 'OK', subStatusCode: 'ok' })
}

export function errorJson (status: number, statusCode: number, subStatusCode: string, errorMsg?: string): Reply {
  return jsonReply(status, {
    statusCode,
    statusString: JSON_STATUS_STRINGS[statusCode],
    subStatusCode,
    errorCode: ERROR_CODES[subStatusCode],
    errorMsg,
  })
}

export const badJsonFormat = () => errorJson(400, 5, 'badJsonFormat', 'badJsonFormat')
export const badJsonContent = (field: string) => errorJson(400, 6, 'badJsonContent', field)
export const parametersLack = (field: string) => errorJson(400, 6, 'MessageParametersLack', field)
export const notSupportJson = () => errorJson(200, 4, 'notSupport', 'notSupport')
export const methodNotAllowedJson = () => errorJson(405, 4, 'methodNotAllowed', 'methodNotAllowed')

export function xmlReply (status: number, body: string): Reply {
  return { status, kind: 'xml', body }
}

/**
 * ResponseStatus as the DS-K1T673 sends it after a PUT (hikvision.com ver10
 * namespace, LF inside, CRLF at the end: 257 bytes for the OK reply).
 */
export function xmlStatus (status: number, requestURL: string, statusCode: number, subStatusCode: string, errorMsg?: string): Reply {
  const lines = [
    XML_DECL,
    '<ResponseStatus version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema">',
    `<requestURL>${escapeXml(requestURL)}</requestURL>`,
    `<statusCode>${statusCode}</statusCode>`,
    `<statusString>${XML_STATUS_STRINGS[statusCode]}</statusString>`,
    `<subStatusCode>${subStatusCode}</subStatusCode>`,
  ]
  const code = ERROR_CODES[subStatusCode]
  if (statusCode !== 1 && code !== undefined) lines.push(`<errorCode>${code}</errorCode>`)
  if (errorMsg !== undefined) lines.push(`<errorMsg>${escapeXml(errorMsg)}</errorMsg>`)
  lines.push('</ResponseStatus>')
  return xmlReply(status, `${lines.join('\n')}\r\n`)
}

export const okXml = () => xmlStatus(200, '', 1, 'ok')
export const badXmlContent = (path: string, field?: string) => xmlStatus(400, path, 6, 'badXmlContent', field)
export const notSupportXml = (path: string) => xmlStatus(404, path, 4, 'notSupport')
export const methodNotAllowedXml = (path: string) => xmlStatus(405, path, 4, 'methodNotAllowed')

export function busyReply (path: string, isJson: boolean): Reply {
  return isJson ? errorJson(503, 2, 'deviceBusy', 'deviceBusy') : xmlStatus(503, path, 2, 'deviceBusy')
}

export interface UserCheck {
  isActivated: boolean
  lock?: { locked: boolean, unlockTime: number, retryLoginTime: number }
}

/** 401 body; on ?format=json URLs the device drops the XML declaration (GFE capture, 195 bytes). */
export function userCheckReply (check: UserCheck, isJson: boolean, challenge?: string): Reply {
  const children: Array<[string, string | number]> = [
    ['statusValue', 401], ['statusString', 'Unauthorized'], ['isActivated', String(check.isActivated)],
  ]
  if (check.lock) {
    children.push(['lockStatus', check.lock.locked ? 'lock' : 'unlock'], ['unlockTime', check.lock.unlockTime], ['retryLoginTime', check.lock.retryLoginTime])
  }
  return {
    status: 401,
    kind: 'xml',
    body: renderIsapiXml('userCheck', children, { declaration: !isJson }),
    headers: challenge ? [['WWW-Authenticate', challenge]] : undefined,
  }
}
