import type { Device } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'
import { deviceSenderKey } from './webhook.processor.js'

// A pushed short serial shorter than this is not taken as this terminal's.
const MIN_SHORT_SERIAL = 6

/**
 * Books to a terminal the events it pushed before it could be told apart from the others (kept under
 * `sender:<MAC>` or `sender:<short serial>`), once its MAC or serial is known: the device is set and a
 * serial-based dedupe key becomes the device's, so a replay or a back-fill of the same serial stays one
 * event. A row whose device key is taken already (the same event, stored since) is left as it is.
 * Returns how many events were booked.
 */
export async function adoptUnmatchedEvents (db: DbClient, device: Pick<Device, 'id' | 'schoolId' | 'macAddress' | 'serialNumber'>) {
  if (!device.macAddress && !device.serialNumber) return 0
  const deviceKey = deviceSenderKey(device.id)
  // One row per new key: the same event stored under two sender keys (once by MAC, once by short serial) is booked once.
  return db.$executeRawUnsafe(`
    WITH candidate AS (
      SELECT e.id, CASE WHEN starts_with(e.dedupe_key, e.sender_key || ':') THEN $3 || substr(e.dedupe_key, length(e.sender_key) + 1) ELSE e.dedupe_key END AS new_key
      FROM attendance_events e
      WHERE e.school_id = $1::uuid AND e.device_id IS NULL AND e.sender_key IS NOT NULL
        AND (lower(e.sender_key) = 'sender:' || lower($4::text)
          OR (length(e.sender_key) >= 7 + $6 AND right($5::text, length(e.sender_key) - 7) = substr(e.sender_key, 8)))
    ), chosen AS (
      SELECT DISTINCT ON (c.new_key) c.id, c.new_key FROM candidate c
      WHERE NOT EXISTS (SELECT 1 FROM attendance_events taken WHERE taken.school_id = $1::uuid AND taken.dedupe_key = c.new_key AND taken.id <> c.id)
      ORDER BY c.new_key, c.id
    )
    UPDATE attendance_events e SET device_id = $2::uuid, sender_key = NULL, dedupe_key = chosen.new_key
    FROM chosen WHERE e.id = chosen.id`,
  device.schoolId, device.id, deviceKey, device.macAddress, device.serialNumber, MIN_SHORT_SERIAL)
}
