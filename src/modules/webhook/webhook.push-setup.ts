import { isIP } from 'node:net'
import type { Device, PrismaClient } from '../../generated/prisma/client.js'
import { isIsapiError, type HttpHostChanges, type IsapiHttpHost } from '../../integrations/isapi/index.js'
import type { ActorContext } from '../../lib/context.js'
import { conflict, unprocessable } from '../../lib/errors.js'
import { recordAudit } from '../audit/audit.repository.js'
import type { DeviceConnector } from '../devices/device-connector.js'
import { webhookPath } from './webhook.path.js'
import type { WebhookDirection, WebhookSecrets } from './webhook.secrets.js'

// The url field of a slot is at most this long on the terminals (ISAPI HttpHostNotification).
const MAX_URL_PATH = 128

/** The secret in a webhook URL is shown to operators as *** (only webhook-info shows secrets). */
export const maskSecret = (url: string | null) =>
  url?.replace(/(\/webhook\/[^/?]+\/(?:in|out)\/)[^/?]+/, '$1***').replace(/([?&]secret=)[^&]+/, '$1***') ?? null

/**
 * A `both` terminal is pointed at the `in` URL: its events carry attendanceStatus (checkIn/checkOut),
 * which decides the direction; the URL's direction is only the fallback, and a scan of unknown
 * direction is safer counted as an arrival than as a departure.
 */
export const pushDirectionOf = (device: Pick<Device, 'direction'>): WebhookDirection => (device.direction === 'out' ? 'out' : 'in')

interface Target { path: string, protocolType: 'HTTP' | 'HTTPS', host: string, portNo: number, basePath: string }

/** Where a terminal must push for this school and direction, from PUBLIC_BASE_URL. */
function targetOf (publicBaseUrl: string, schoolId: string, direction: WebhookDirection, secret: string): Target {
  const base = new URL(publicBaseUrl)
  const host = base.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) === 6) throw unprocessable('PUBLIC_BASE_URL_UNUSABLE', 'Terminals push to an IPv4 address or a host name; PUBLIC_BASE_URL names an IPv6 address')
  const basePath = base.pathname.replace(/\/+$/, '')
  const https = base.protocol === 'https:'
  const path = `${basePath}${webhookPath(schoolId, direction, secret)}`
  if (path.length > MAX_URL_PATH) throw unprocessable('PUBLIC_BASE_URL_UNUSABLE', `The webhook path would be ${path.length} characters; terminals keep at most ${MAX_URL_PATH}`)
  return { path, protocolType: https ? 'HTTPS' : 'HTTP', host, portNo: base.port ? Number(base.port) : https ? 443 : 80, basePath }
}

const slotHost = (s: IsapiHttpHost) => (s.addressingFormatType === 'hostname' ? s.hostName : s.ipAddress) ?? s.ipAddress ?? s.hostName

const pointsAt = (s: IsapiHttpHost, t: Target) =>
  s.protocolType === t.protocolType && s.parameterFormatType === 'JSON' && s.portNo === t.portNo && s.url === t.path && slotHost(s) === t.host

export function createPushSetup ({ db, connector, secrets, publicBaseUrl }: {
  db: PrismaClient, connector: Pick<DeviceConnector, 'connect'>, secrets: WebhookSecrets, publicBaseUrl: string
}) {
  async function expected (device: Device) {
    const direction = pushDirectionOf(device)
    const current = (await secrets.current(device.schoolId)).find((d) => d.direction === direction)
    return { direction, target: targetOf(publicBaseUrl, device.schoolId, direction, current?.secret as string) }
  }

  /** A slot that carries this school's webhook path, whatever the host or secret (an older set-up of ours). */
  const isOurs = (s: IsapiHttpHost, t: Target, schoolId: string) => !!s.url?.startsWith(`${t.basePath}${webhookPath(schoolId)}/`)

  async function describe (device: Device, slots: IsapiHttpHost[], t: Target) {
    return Promise.all(slots.map(async (s) => {
      const ours = isOurs(s, t, device.schoolId)
      const m = ours ? /\/webhook\/[^/]+\/(in|out)\/([^/?]+)/.exec(s.url ?? '') : null
      const secretValid = m ? await secrets.verify(device.schoolId, m[1] as WebhookDirection, m[2]) : null
      return {
        id: s.id,
        empty: s.isEmpty,
        protocolType: s.protocolType,
        parameterFormatType: s.parameterFormatType,
        addressingFormatType: s.addressingFormatType,
        host: s.isEmpty ? null : slotHost(s),
        portNo: s.portNo,
        url: maskSecret(s.url),
        ours,
        secretValid,
        matches: pointsAt(s, t),
      }
    }))
  }

  return {
    /**
     * Writes ONE httpHosts slot with this server's webhook URL: `slotId`, else the slot already ours,
     * else the first empty one that is not an EHome/ISUP slot (Hik-Connect and HikCentral use those).
     * The other slots are never written.
     */
    async configurePush (ctx: ActorContext, device: Device, slotId?: string) {
      const { direction, target } = await expected(device)
      const client = connector.connect(device)
      const audit = (after: Record<string, unknown>, before?: Record<string, unknown>) =>
        recordAudit(db, ctx, { action: 'configure_push', entity: 'device', entityId: device.id, schoolId: device.schoolId, before, after })
      try {
        const slots = await client.getHttpHosts()
        const chosen = slotId
          ? slots.find((s) => s.id === slotId)
          : slots.find((s) => isOurs(s, target, device.schoolId)) ?? slots.find((s) => s.isEmpty && s.protocolType !== 'EHome')
        if (!chosen) {
          throw slotId
            ? unprocessable('PUSH_SLOT_NOT_FOUND', `The terminal has no httpHosts slot ${slotId}`, { slotIds: slots.map((s) => s.id) })
            : conflict('PUSH_SLOT_UNAVAILABLE', 'Every httpHosts slot of the terminal is used by another system; name one with slotId to take it over', {
              slots: slots.map((s) => ({ id: s.id, protocolType: s.protocolType, host: slotHost(s), url: maskSecret(s.url) })),
            })
        }
        const changes: HttpHostChanges = {
          url: target.path,
          protocolType: target.protocolType,
          parameterFormatType: 'JSON',
          httpAuthenticationMethod: 'none',
          portNo: target.portNo,
          ...(isIP(target.host) ? { addressingFormatType: 'ipaddress', ipAddress: target.host } : { addressingFormatType: 'hostname', hostName: target.host }),
        }
        const after = await client.setHttpHost(chosen.id, changes)
        const [slot] = after ? await describe(device, [after], target) : [null]
        const pick = (s: IsapiHttpHost | null) => s && { slotId: s.id, host: slotHost(s), portNo: s.portNo, protocolType: s.protocolType, url: maskSecret(s.url) }
        await audit({ ok: true, direction, ...pick(after) }, { ...pick(chosen) })
        return { slotId: chosen.id, direction, url: maskSecret(target.path) as string, matches: slot?.matches ?? false, slot }
      } catch (err) {
        if (isIsapiError(err)) await audit({ ok: false, error: err.code })
        throw err
      }
    },

    /** Reads the slots back and says which one (if any) points at this server with a current secret. */
    async pushStatus (device: Device) {
      const { direction, target } = await expected(device)
      const slots = await describe(device, await connector.connect(device).getHttpHosts(), target)
      return {
        direction,
        expectedUrl: maskSecret(target.path) as string,
        expectedHost: target.host,
        expectedPort: target.portNo,
        matches: slots.some((s) => s.matches),
        matchedSlotId: slots.find((s) => s.matches)?.id ?? null,
        slots,
        lastEventAt: device.lastEventAt?.toISOString() ?? null,
        lastHeartbeatAt: device.lastHeartbeatAt?.toISOString() ?? null,
        lastSeenAt: device.lastSeenAt?.toISOString() ?? null,
      }
    },
  }
}

export type PushSetup = ReturnType<typeof createPushSetup>
