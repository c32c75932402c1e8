// @fastify/under-pressure: when the event loop lags or the heap nears its limit, answer 503
// OVERLOADED with Retry-After at once rather than queue work the process cannot do in time.
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { getHeapStatistics } from 'node:v8'
import { OverloadedError, withRetryAfter } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route answers even under pressure and while shutting down (health, readiness, metrics) */
    loadShedding?: boolean
  }
}

export interface LoadSheddingOptions {
  /** 0 turns the event-loop check off */
  maxEventLoopDelayMs: number
  /** how often the pressure is sampled */
  sampleIntervalMs?: number
}

const RETRY_AFTER_SECONDS = 2
/** Shed before V8's own limit, where it would crash the process. */
const HEAP_LIMIT_SHARE = 0.9

export async function registerLoadShedding (app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  const sampleIntervalMs = options.sampleIntervalMs ?? 1000
  // Start-up work (compiling routes and schemas) can stall the loop for a whole sample, which
  // under-pressure reads as infinite lag: samples taken before the app was ready do not count.
  let countsFrom = Infinity
  app.addHook('onReady', async () => { countsFrom = performance.now() + 2 * sampleIntervalMs })
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * HEAP_LIMIT_SHARE),
    sampleInterval: sampleIntervalMs,
    pressureHandler: async (request: FastifyRequest, _reply, type, value) => {
      if (request.routeOptions.config.loadShedding === false || performance.now() < countsFrom) return
      request.log.warn({ pressure: { type, value } }, 'overloaded, shedding the request')
      throw withRetryAfter(new OverloadedError('the service is overloaded, retry later'), RETRY_AFTER_SECONDS)
    }
  })
}
