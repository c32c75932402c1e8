// Liveness and readiness, all exempt from rate limits and load shedding:
// - /healthz: the process serves (with what is degraded, such as a lost Redis, as detail);
// - /readyz: ready with everything it uses: 503 while Redis is lost or from SIGTERM on (deploy gates, alerts);
// - /readyz/serving: the load balancer's signal, 503 only from SIGTERM on. A replica that lost Redis still
//   serves alone from memory (the fail-open design), so it must stay in rotation.
import type { FastifyInstance } from 'fastify'

export interface ReadinessCheck {
  /** resolves to a reason when not ready */
  (): Promise<string | undefined>
}

export interface HealthOptions {
  /** what this replica serves without (Redis): degraded, not a reason to route elsewhere */
  shared: ReadinessCheck[]
  /** what stops it serving at all (shutting down) */
  serving: ReadinessCheck[]
}

async function reasonsOf (checks: ReadinessCheck[]): Promise<string[]> {
  return (await Promise.all(checks.map(async (check) => await check()))).filter((reason) => reason !== undefined)
}

const PROBE = { config: { rateLimit: false, loadShedding: false, probe: true } } as const

export async function healthRoutes (app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get('/healthz', PROBE, async () => {
    const degraded = await reasonsOf(options.shared)
    return degraded.length === 0 ? { status: 'ok' } : { status: 'ok', degraded }
  })
  app.get('/readyz', PROBE, async (_request, reply) => {
    const reasons = await reasonsOf([...options.serving, ...options.shared])
    if (reasons.length > 0) return reply.code(503).send({ status: 'unavailable', reasons })
    return { status: 'ready' }
  })
  app.get('/readyz/serving', PROBE, async (_request, reply) => {
    const reasons = await reasonsOf(options.serving)
    if (reasons.length > 0) return reply.code(503).send({ status: 'unavailable', reasons })
    const degraded = await reasonsOf(options.shared)
    return degraded.length === 0 ? { status: 'serving' } : { status: 'serving', degraded }
  })
}
