import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { auditRoutes } from './audit/audit.routes.js'
import { authRoutes } from './auth/auth.routes.js'
import { createAuthService } from './auth/auth.service.js'
import { classesRoutes } from './classes/classes.routes.js'
import { createClassesService } from './classes/classes.service.js'
import { createDeviceConnector } from './devices/device-connector.js'
import { deviceUsersRoutes } from './devices/device-users.routes.js'
import { createDeviceUsersService } from './devices/device-users.service.js'
import { createDeviceConnectionService } from './devices/devices.connection.js'
import { devicesRoutes } from './devices/devices.routes.js'
import { createDevicesService } from './devices/devices.service.js'
import { createCredentialsCipher } from '../lib/credentials-cipher.js'
import { holidaysRoutes } from './holidays/holidays.routes.js'
import { createHolidaysService } from './holidays/holidays.service.js'
import { mediaRoutes } from './media/media.routes.js'
import { createMediaSigner } from './media/media.signing.js'
import { provisioningRoutes } from './provisioning/provisioning.routes.js'
import { createProvisioningService } from './provisioning/provisioning.service.js'
import { schoolsRoutes } from './schools/schools.routes.js'
import { createSchoolsService } from './schools/schools.service.js'
import { createStudentPhotosService } from './students/students.photos.js'
import { studentsRoutes } from './students/students.routes.js'
import { createStudentsService } from './students/students.service.js'
import { createStudentSyncService } from './students/students.sync.js'
import { createSyncModule } from './sync/index.js'
import { usersRoutes } from './users/users.routes.js'
import { createWebhookModule } from './webhook/index.js'
import { eventsRoutes } from './attendance/events.routes.js'
import { streamRoutes } from './attendance/stream.routes.js'
import { attendanceRoutes } from './attendance/attendance.routes.js'
import { createAttendanceService } from './attendance/attendance.service.js'
import { createUsersService } from './users/users.service.js'

/** The composition root: services are built here and handed to their route plugins. */
export async function registerModules (app: FastifyInstance) {
  const db = app.prisma
  const { config } = app
  const uploadsDir = path.join(config.DATA_DIR, 'uploads')
  const signer = createMediaSigner({ secret: config.MEDIA_SIGNING_SECRET, publicBaseUrl: config.PUBLIC_BASE_URL })

  const students = createStudentsService({ db })
  const cipher = createCredentialsCipher(config.CREDENTIALS_KEY)
  const devices = createDevicesService({ db, cipher })
  const connector = createDeviceConnector({ db, cipher, isapi: app.isapi, metrics: app.metrics.isapi, log: app.log.child({ module: 'isapi' }), locks: app.deviceLocks })
  const services = {
    auth: createAuthService({ db, config, signAccess: (payload) => app.jwt.sign(payload) }),
    schools: createSchoolsService({ db }),
    users: createUsersService({ db }),
    classes: createClassesService({ db }),
    holidays: createHolidaysService({ db }),
    devices,
    connection: createDeviceConnectionService({ db, devices, connector }),
    deviceUsers: createDeviceUsersService({ db, devices, connector }),
    students,
  }
  const sync = createSyncModule(app, { db, devices, connector, signer })
  const photos = createStudentPhotosService({ db, uploadsDir })
  const studentSync = createStudentSyncService({ db, students, photos, jobs: sync.jobs, waitMs: config.SYNC_WAIT_SECONDS * 1000 })
  const provisioning = createProvisioningService({ db, students, photos, jobs: sync.jobs })

  const webhook = createWebhookModule(app, { connector, devices })

  await app.register(mediaRoutes, { signer, uploadsDir })
  await webhook.registerIntake(app)
  await app.register(async (api) => {
    await api.register(authRoutes, { auth: services.auth })
    await api.register(schoolsRoutes, { schools: services.schools })
    await api.register(usersRoutes, { users: services.users })
    await api.register(classesRoutes, { classes: services.classes })
    await api.register(holidaysRoutes, { holidays: services.holidays })
    await api.register(studentsRoutes, { students, photos, studentSync })
    await api.register(provisioningRoutes, { provisioning })
    await api.register(devicesRoutes, { devices, connection: services.connection })
    await api.register(deviceUsersRoutes, { deviceUsers: services.deviceUsers })
    await api.register(auditRoutes)
    await sync.register(api)
    await webhook.register(api)
    await api.register(eventsRoutes, { pictures: webhook.pictures })
    await api.register(streamRoutes)
    await api.register(attendanceRoutes, { attendance: createAttendanceService({ db }) })
  }, { prefix: '/api/v1' })
}
