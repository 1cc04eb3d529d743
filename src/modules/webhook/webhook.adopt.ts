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
  return db.$executeRawUnsafe(`
    UPDATE attendance_events e SET device_id = $2::uuid, sender_key = NULL,
      dedupe_key = CASE WHEN starts_with(e.dedupe_key, e.sender_key || ':') THEN $3 || substr(e.dedupe_key, length(e.sender_key) + 1) ELSE e.dedupe_key END
    WHERE e.school_id = $1::uuid AND e.device_id IS NULL AND e.sender_key IS NOT NULL
      AND (lower(e.sender_key) = 'sender:' || lower($4::text)
        OR (length(e.sender_key) >= 7 + $6 AND right($5::text, length(e.sender_key) - 7) = substr(e.sender_key, 8)))
      AND NOT EXISTS (
        SELECT 1 FROM attendance_events taken
        WHERE taken.school_id = e.school_id AND starts_with(e.dedupe_key, e.sender_key || ':')
          AND taken.dedupe_key = $3 || substr(e.dedupe_key, length(e.sender_key) + 1))`,
  device.schoolId, device.id, deviceKey, device.macAddress, device.serialNumber, MIN_SHORT_SERIAL)
}
