import { methodNotAllowedJson, methodNotAllowedXml, notSupportXml } from './responses.js'
import type { Reply } from './responses.js'
import type { Handler, IsapiRequest, SimContext } from './sim-context.js'

export interface Route {
  path: string | RegExp
  /** JSON endpoints exist only with ?format=json; without it the device does not know the URL. */
  json: boolean
  methods: Partial<Record<string, Handler>>
}

/** Unknown URLs are 404 + XML ResponseStatus notSupport; a known URL with the wrong verb is methodNotAllowed. */
export function createRouter (routes: Route[]) {
  return async function dispatch (req: IsapiRequest, ctx: SimContext): Promise<Reply> {
    const route = routes.find((r) => (typeof r.path === 'string' ? r.path === req.path : r.path.test(req.path)))
    if (!route || (route.json && !req.isJson)) return notSupportXml(req.path)
    const handler = route.methods[req.method]
    if (!handler) return route.json ? methodNotAllowedJson() : methodNotAllowedXml(req.path)
    return handler(req, ctx)
  }
}

export type Dispatch = ReturnType<typeof createRouter>
