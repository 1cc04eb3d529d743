import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { PrismaClient } from '../../generated/prisma/client.js'

/**
 * Pictures terminals attach to events, kept apart from enrolment photos (never replacing one) under
 * DATA_DIR/event-pictures/<school>/<UTC date>/<inbox id>.jpg, and deleted after the retention period.
 */
export function createEventPictures ({ db, dataDir, retentionDays }: { db: PrismaClient, dataDir: string, retentionDays: number }) {
  const root = path.join(dataDir, 'event-pictures')

  return {
    /** Stores a picture; returns its path relative to the pictures folder. */
    async save (schoolId: string, inboxId: bigint, receivedAt: Date, jpeg: Buffer) {
      const relative = path.join(schoolId, receivedAt.toISOString().slice(0, 10), `${inboxId}.jpg`)
      await mkdir(path.dirname(path.join(root, relative)), { recursive: true })
      await writeFile(path.join(root, relative), jpeg)
      return relative
    },

    async read (relative: string) {
      const file = path.resolve(root, relative)
      if (!file.startsWith(root + path.sep)) return null
      return readFile(file).catch(() => null)
    },

    /** Deletes the date folders past the retention period and forgets their paths. */
    async prune (now = new Date()) {
      const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString().slice(0, 10)
      const schools = await readdir(root).catch(() => [] as string[])
      let removed = 0
      for (const school of schools) {
        for (const day of await readdir(path.join(root, school)).catch(() => [] as string[])) {
          if (day < cutoff) {
            await rm(path.join(root, school, day), { recursive: true, force: true })
            removed++
          }
        }
      }
      // Nothing deleted, nothing to forget: spares an hourly scan of the events table (no index on the path).
      if (removed === 0) return 0
      return db.$executeRawUnsafe(`UPDATE attendance_events SET picture_path = NULL
        WHERE picture_path IS NOT NULL AND substring(picture_path from '[0-9]{4}-[0-9]{2}-[0-9]{2}') < $1`, cutoff)
    },
  }
}

export type EventPictures = ReturnType<typeof createEventPictures>
