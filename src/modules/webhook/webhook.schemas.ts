import { z } from 'zod'
import { uuid } from '../../lib/schemas.js'

const instant = z.string().describe('ISO instant')
const direction = z.enum(['in', 'out'])

export const backfillRun = z.object({
  status: z.enum(['done', 'failed', 'skipped']),
  mode: z.enum(['serial', 'time']).nullable().describe('serial: searched from beginSerialNo; time: a time window, filtered by serial here'),
  fromSerial: z.number().int().nullable().describe('The last serial we had before the run'),
  toSerial: z.number().int().nullable().describe('The last serial the device had'),
  found: z.number().int().describe('Events the device held beyond fromSerial'),
  inserted: z.number().int().describe('Of those, the ones that were missing here (the gap filled)'),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  startedAt: instant,
  finishedAt: instant,
}).meta({ id: 'BackfillRun' })

export const backfillTrigger = z.enum(['startup', 'schedule', 'gap', 'manual'])
export type BackfillTrigger = z.infer<typeof backfillTrigger>

export const backfillHistoryItem = backfillRun.omit({ status: true }).extend({ trigger: backfillTrigger })

export const deviceHealth = z.object({
  deviceId: uuid,
  lastSeenAt: instant.nullable(),
  lastEventAt: instant.nullable(),
  lastHeartbeatAt: instant.nullable(),
  lastEventSerialNo: z.number().int().nullable().describe('Every serial up to this one is stored'),
  lastErrorCode: z.string().nullable(),
  lastBackfill: backfillHistoryItem.nullable(),
  lastGapFilled: backfillHistoryItem.nullable().describe('The last run that inserted missing events'),
  recentBackfills: z.array(backfillHistoryItem).describe('The last 10 runs, newest first'),
}).meta({ id: 'DeviceEventHealth' })

export const pushSlot = z.object({
  id: z.string(),
  empty: z.boolean(),
  protocolType: z.string().nullable(),
  parameterFormatType: z.string().nullable(),
  addressingFormatType: z.string().nullable(),
  host: z.string().nullable(),
  portNo: z.number().int().nullable(),
  url: z.string().nullable().describe('Secrets in our webhook URLs are shown as ***'),
  ours: z.boolean().describe('Carries this school\'s webhook path'),
  secretValid: z.boolean().nullable().describe('For our slots: the secret in it is still accepted (current, or rotated within its grace period)'),
  matches: z.boolean().describe('Points at this server with the current secret, JSON, for the device\'s direction'),
})

export const configurePushBody = z.object({
  slotId: z.string().regex(/^\d{1,3}$/).optional().describe('The httpHosts slot to write; default the slot already ours, else the first empty non-EHome one'),
}).default({})

export const configurePushResult = z.object({
  slotId: z.string(),
  direction,
  url: z.string(),
  matches: z.boolean().describe('The slot read back after the write points at this server'),
  slot: pushSlot.nullable(),
}).meta({ id: 'ConfigurePushResult' })

export const pushStatus = z.object({
  direction,
  expectedUrl: z.string(),
  expectedHost: z.string(),
  expectedPort: z.number().int(),
  matches: z.boolean(),
  matchedSlotId: z.string().nullable(),
  slots: z.array(pushSlot),
  lastEventAt: instant.nullable(),
  lastHeartbeatAt: instant.nullable(),
  lastSeenAt: instant.nullable(),
}).meta({ id: 'PushStatus' })

export const webhookTestBody = z.object({
  direction: direction.default('in'),
  deviceId: uuid.optional().describe('Send the sample as this terminal (its MAC and serial), to check it is recognised'),
  employeeNo: z.string().min(1).max(32).optional().describe('Put this employeeNo in the sample, to check it resolves to a student (default: one that matches nobody)'),
}).default({ direction: 'in' })

export const webhookTestResult = z.object({
  delivery: z.enum(['http', 'inject']).describe('http: posted to this server\'s own listening address; inject: in-process (the server was not listening)'),
  url: z.string(),
  statusCode: z.number().int(),
  accepted: z.boolean(),
  response: z.unknown().describe('The intake\'s answer when it refused the sample'),
  processed: z.boolean(),
  processingError: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
  event: z.object({ stored: z.literal(true), kind: z.string(), direction: z.enum(['in', 'out', 'both']), occurredAt: instant, countsForAttendance: z.boolean() }).nullable(),
  device: z.object({ matched: z.boolean(), id: uuid.nullable(), name: z.string().nullable() }),
  student: z.object({ employeeNo: z.string(), matched: z.boolean(), id: uuid.nullable() }),
  removed: z.boolean().describe('The sample event and its inbox row were deleted and any day it touched restored'),
}).meta({ id: 'WebhookTestResult' })
