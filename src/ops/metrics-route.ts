// GET /metrics in Prometheus text format, and the hook that counts every answered request.
// With METRICS_TOKEN set the route wants `Authorization: Bearer <token>`, compared in constant time.
import type { FastifyInstance } from 'fastify'
import { UnauthorizedError } from '../errors.js'
import { bearerToken, tokenMatches } from '../keys/credentials.js'
import type { Metrics } from './metrics.js'

export interface MetricsRouteOptions {
  metrics: Metrics
  /** unset: the route is open */
  token: string | undefined
}

export function registerMetrics (app: FastifyInstance, options: MetricsRouteOptions): void {
  const { metrics, token } = options
  app.addHook('onResponse', async (request, reply) => {
    metrics.requestCompleted({
      method: request.method,
      // the route's pattern, never the raw path, so that the label set stays small
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
      facts: request.completion
    })
  })

  app.get('/metrics', { config: { rateLimit: false, loadShedding: false, probe: true } }, async (request, reply) => {
    if (token !== undefined && !tokenMatches(bearerToken(request.headers.authorization), token)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"')
      throw new UnauthorizedError('a valid metrics token is required (Authorization: Bearer <token>)')
    }
    return await reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}
