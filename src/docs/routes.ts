// GET /openapi.yaml (the document as written) and GET /docs (swagger-ui over it). Both are public: no key,
// no rate limit; /docs gets its own Content-Security-Policy (ops/security-headers.ts).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, RouteOptions } from 'fastify'
import type { OpenApiDocument } from './document.js'

export const DOCS_PREFIX = '/docs'

export function isDocsUrl (url: string): boolean {
  return url === '/openapi.yaml' || url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`)
}

/**
 * swagger-ui adds its routes (the page, its assets, /docs/json) without a way to give them route config:
 * exempt them here. Must be registered before the rate limiter, which decides when a route is added.
 */
export function exemptDocsFromRateLimit (app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (isDocsUrl(route.url) && route.config?.rateLimit === undefined) route.config = { ...route.config, rateLimit: false }
  })
}

export async function docsRoutes (app: FastifyInstance, options: { openapi: OpenApiDocument }): Promise<void> {
  const { text, document } = options.openapi
  app.get('/openapi.yaml', { config: { rateLimit: false } }, async (_request, reply) => {
    return reply.type('application/yaml; charset=utf-8').header('cache-control', 'no-cache').send(text)
  })
  // swagger-ui's page has no viewport meta, so phones render it zoomed out: add one to the page itself
  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html') || !isDocsUrl(request.url)) return payload
    return payload.replace('<meta charset="UTF-8">', '<meta charset="UTF-8">\n      <meta name="viewport" content="width=device-width, initial-scale=1">')
  })
  // static mode: the document is openapi.yaml, not generated from the routes
  await app.register(swagger, { mode: 'static', specification: { document: document as never } })
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    // no call to validator.swagger.io: the page stays on this origin
    validatorUrl: false,
    uiConfig: { deepLinking: true, tryItOutEnabled: false, displayRequestDuration: true }
  })
}
