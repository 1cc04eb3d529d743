import type { TestApp } from '../../../../test/helpers/build-test-app.js'
import { syncSchool } from '../../../../test/helpers/sync-school.js'
import { addDevice, startTerminal } from '../../../../test/helpers/terminals.js'

/**
 * A sync school with two terminals as its devices: `terminal` (registered as `device`), the one a
 * test works on, and `bystander`, which the test expects to be left alone.
 */
export async function schoolWithBystander (app: TestApp) {
  const s = await syncSchool(app)
  const terminal = await startTerminal({ index: 1 })
  const bystander = await startTerminal({ index: 2 })
  const device = await addDevice(app, s.admin, s.school.id, terminal)
  await addDevice(app, s.admin, s.school.id, bystander)
  return { s, terminal, device, bystander }
}
