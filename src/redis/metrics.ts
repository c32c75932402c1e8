// Redis in /metrics: whether it answers now, and how often it went away or came back.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { RedisState } from './state.js'

export function registerRedisMetrics (registry: Registry, state: RedisState): void {
  new Gauge({ // eslint-disable-line no-new
    name: 'stylize_redis_up',
    help: '1 while Redis answers (limits, quotas, idempotency and upstream slots shared), 0 while each replica acts alone',
    registers: [registry],
    collect () { this.set(state.up ? 1 : 0) }
  })
  const transitions = new Counter({
    name: 'stylize_redis_transitions_total',
    help: 'Times Redis was lost or came back, by direction',
    labelNames: ['to'] as const,
    registers: [registry]
  })
  state.onChange((up) => { transitions.inc({ to: up ? 'up' : 'down' }) })
}
