import { isLoopbackHost } from './face-image.js'
import { pushEnvelope, pushEventObject } from './event-shapes.js'
import { buildEventLogRequest, sendRawHttp } from './push.js'
import { createSerialQueue } from './serial-queue.js'
import type { SimContext } from './sim-context.js'
import type { HttpHostSlot, PushLogEntry, SimEvent } from './sim-state.js'
import { deviceLocalTime } from './sim-state.js'

/** Why a configured slot gets no push from the simulator; undefined when it does. */
function skipReason (slot: HttpHostSlot): string | undefined {
  if (slot.protocolType !== 'HTTP') return `protocolType ${slot.protocolType} is not simulated`
  if (slot.parameterFormatType !== 'JSON') return `parameterFormatType ${slot.parameterFormatType || '(empty)'} is not simulated`
  if (slot.httpAuthenticationMethod !== 'none') return `httpAuthenticationMethod ${slot.httpAuthenticationMethod} is not simulated`
  if (!isLoopbackHost(slot.ipAddress)) return 'only loopback listeners are contacted'
  return undefined
}

const configured = (slot: HttpHostSlot) => slot.ipAddress !== '0.0.0.0' && slot.portNo > 0

type Build = (slot: HttpHostSlot) => { payload: unknown, picture?: Buffer }

/**
 * httpHosts pushes: one POST per configured slot, one push at a time (the
 * device serialises them), no retry on failure (no evidence that devices retry).
 */
export function createNotifier (ctx: SimContext) {
  const queue = createSerialQueue()

  async function deliver (slot: HttpHostSlot, build: Build, meta: { eventType: string, serialNo?: number }): Promise<PushLogEntry> {
    const entry: PushLogEntry = {
      at: new Date(ctx.now()).toISOString(),
      slotId: slot.id,
      target: `http://${slot.ipAddress}:${slot.portNo}${slot.url || '/'}`,
      ...meta,
    }
    const reason = skipReason(slot)
    if (reason) return { ...entry, skipped: reason }
    const { payload, picture } = build(slot)
    const target = { ipAddress: slot.ipAddress, portNo: slot.portNo, url: slot.url }
    try {
      return { ...entry, status: await sendRawHttp(target, buildEventLogRequest(target, payload, picture), ctx.config.pushTimeoutMs) }
    } catch (err) {
      return { ...entry, error: (err as Error).message }
    }
  }

  function pushAll (build: Build, meta: { eventType: string, serialNo?: number }) {
    return queue(async () => {
      const results: PushLogEntry[] = []
      for (const slot of ctx.state.httpHosts.filter(configured)) results.push(await deliver(slot, build, meta))
      const log = ctx.state.pushes
      log.push(...results)
      if (log.length > ctx.config.requestLogLimit) log.splice(0, log.length - ctx.config.requestLogLimit)
      return results
    })
  }

  function pushEvent (ev: SimEvent, picture?: Buffer) {
    const { identity } = ctx.state
    return pushAll((slot) => ({
      payload: pushEnvelope({
        identity,
        portNo: slot.portNo,
        dateTime: ev.time,
        eventType: 'AccessControllerEvent',
        eventState: 'active',
        eventDescription: 'Access Controller Event',
        accessControllerEvent: pushEventObject(ev, identity.deviceName),
      }),
      picture,
    }), { eventType: 'AccessControllerEvent', serialNo: ev.serialNo })
  }

  /** Heartbeat as terminals send it: eventType videoloss, eventState inactive (NUP raw captures). */
  function pushHeartbeat () {
    return pushAll((slot) => ({
      payload: pushEnvelope({
        identity: ctx.state.identity,
        portNo: slot.portNo,
        dateTime: deviceLocalTime(ctx.state, ctx.now),
        eventType: 'videoloss',
        eventState: 'inactive',
        eventDescription: 'videoloss alarm',
      }),
    }), { eventType: 'videoloss' })
  }

  return { pushEvent, pushHeartbeat }
}

export type Notifier = ReturnType<typeof createNotifier>
