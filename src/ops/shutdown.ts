// Graceful shutdown. On SIGTERM, an optional drain first (SHUTDOWN_DRAIN_MS, default 0): /readyz turns
// 503 while everything is still served, until the load balancer has taken the replica out of rotation.
// Then app.close() stops listening; from then on requests on kept-alive sockets are refused with 503
// UPSTREAM_BUSY, and requests in flight or queued may still finish. Shortly before SHUTDOWN_TIMEOUT_MS,
// `onDeadline` refuses what has not reached the upstream, so every client gets an answer and the process
// exits 0.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { UpstreamBusyError, withRetryAfter } from '../errors.js'
import type { ReadinessCheck } from './health.js'

export interface ShutdownOptions {
  /** SHUTDOWN_TIMEOUT_MS: close-with-grace kills the process (exit 1) past it */
  timeoutMs: number
  /** refuses queued requests (never sent); calls already sent go on */
  onDeadline: () => void
  /** the last moment: cuts the calls still running, so that their clients still get an answer */
  onCut: () => void
}

/** When queued requests are refused: room left for the calls in flight to finish. */
export function shutdownDeadlineMs (timeoutMs: number): number {
  return timeoutMs - Math.min(2000, Math.floor(timeoutMs / 5))
}

/** When calls still running are cut: room left for their answers to go out and the pools to close. */
export function shutdownCutMs (timeoutMs: number): number {
  return timeoutMs - Math.min(1000, Math.floor(timeoutMs / 10))
}

/** Registers the shutdown hooks; returns the readiness check that fails once shutdown began. */
export function registerShutdown (app: FastifyInstance, options: ShutdownOptions): ReadinessCheck {
  let draining = false
  let shuttingDown = false
  let deadline: NodeJS.Timeout | undefined
  let cut: NodeJS.Timeout | undefined

  app.decorate('drain', async (ms: number) => {
    if (ms <= 0 || draining) return
    draining = true
    app.log.info({ drainMs: ms }, 'draining: not ready, still serving until the load balancer moves away')
    await sleep(ms)
  })

  app.addHook('preClose', async () => {
    shuttingDown = true
    app.log.info({ timeoutMs: options.timeoutMs }, 'shutting down: finishing the requests in flight')
    deadline = setTimeout(() => {
      app.log.warn('shutdown deadline: refusing what has not started; calls already sent may still finish')
      options.onDeadline()
    }, shutdownDeadlineMs(options.timeoutMs))
    cut = setTimeout(() => {
      app.log.warn('shutdown: cutting the calls still running (they may have been billed)')
      options.onCut()
    }, shutdownCutMs(options.timeoutMs))
    deadline.unref()
    cut.unref()
  })
  app.addHook('onClose', async () => { clearTimeout(deadline); clearTimeout(cut) })

  app.addHook('onRequest', async (request, reply) => {
    if (!shuttingDown) return
    // the client should open its next connection to another replica
    void reply.header('connection', 'close')
    if (request.routeOptions.config.loadShedding === false) return
    throw withRetryAfter(new UpstreamBusyError('the service is shutting down, retry later'), 1)
  })
  app.addHook('onSend', async (_request, reply) => {
    // a client's next connection should go to another replica
    if (shuttingDown || draining) void reply.header('connection', 'close')
  })

  return async () => shuttingDown || draining ? 'shutting down' : undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** SIGTERM's first step: readiness 503 for `ms` while requests are still served (no-op for 0) */
    drain: (ms: number) => Promise<void>
  }
}
