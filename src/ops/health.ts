// Liveness and readiness. Both are exempt from rate limits and load shedding.
import type { FastifyInstance } from 'fastify'

export interface ReadinessCheck {
  /** resolves to a reason when not ready */
  (): Promise<string | undefined>
}

export async function healthRoutes (app: FastifyInstance, options: { readiness: ReadinessCheck[] }): Promise<void> {
  app.get('/healthz', { config: { rateLimit: false, loadShedding: false, probe: true } }, async () => ({ status: 'ok' }))
  app.get('/readyz', { config: { rateLimit: false, loadShedding: false, probe: true } }, async (_request, reply) => {
    const reasons = (await Promise.all(options.readiness.map(async (check) => await check()))).filter((r) => r !== undefined)
    if (reasons.length > 0) return reply.code(503).send({ status: 'unavailable', reasons })
    return { status: 'ready' }
  })
}
