import { test } from 'tap'
import type { FastifyRateLimitStore } from '@fastify/rate-limit'
import { MemoryWindows, rateLimitStore } from '../../src/limits/rate-limit-store.js'
import { OwnRedis, sharedConnection, until } from '../redis/fixtures/redis.js'
import { connectRedis } from '../../src/redis/connection.js'
import { pino } from 'pino'

async function incr (store: FastifyRateLimitStore, key: string, windowMs: number): Promise<{ current: number, ttl: number }> {
  return await new Promise((resolve, reject) => {
    (store.incr as (key: string, cb: (error: Error | null, result?: { current: number, ttl: number }) => void, windowMs: number) => void)(
      key, (error, result) => { if (error) reject(error); else resolve(result as { current: number, ttl: number }) }, windowMs)
  })
}

test('memory windows: count within a window, start again after it, bounded in keys', async (t) => {
  const windows = new MemoryWindows(3)
  t.same(windows.incr('a', 1000, 0), { current: 1, ttl: 1000 })
  t.same(windows.incr('a', 1000, 400), { current: 2, ttl: 600 })
  t.same(windows.incr('a', 1000, 1000), { current: 1, ttl: 1000 }, 'a new window')
  for (const key of ['b', 'c', 'd', 'e']) windows.incr(key, 1000, 1000)
  t.equal(windows.size, 3, 'the oldest windows go first')
  t.same(windows.incr('a', 1000, 1001), { current: 1, ttl: 1000 }, 'evicted, so counting again')
  windows.incr('late', 10, 5000)
  t.equal(windows.size, 1, 'expired windows are pruned first')
})

test('without Redis, the store counts in memory', async (t) => {
  const Store = rateLimitStore(undefined)
  const store = new Store({})
  t.same((await incr(store, 'key:a', 60_000)).current, 1)
  t.same((await incr(store, 'key:a', 60_000)).current, 2)
  const child = store.child({ routeInfo: { method: 'GET', url: '/x' } } as never)
  t.same((await incr(child, 'key:a', 60_000)).current, 1, 'a route with its own limits counts on its own')
})

test('with Redis, two replicas share one count', async (t) => {
  const redis = await sharedConnection(t)
  const Store = rateLimitStore(redis)
  const replicaA = new Store({})
  const replicaB = new Store({})
  t.equal((await incr(replicaA, 'key:web', 60_000)).current, 1)
  const second = await incr(replicaB, 'key:web', 60_000)
  t.equal(second.current, 2)
  t.ok(second.ttl > 0 && second.ttl <= 60_000)
  t.equal((await incr(replicaA.child({ routeInfo: { method: 'GET', url: '/x' } } as never), 'key:web', 60_000)).current, 1)
})

test('Redis lost: the store counts in memory (no error), and shares again when Redis is back', async (t) => {
  const own = await OwnRedis.start(t)
  const redis = connectRedis({ url: own.url, prefix: 'rl-test:', log: pino({ level: 'silent' }), pingIntervalMs: 100 })
  t.teardown(async () => { await redis.close() })
  await redis.ready(5000)
  const Store = rateLimitStore(redis)
  const store = new Store({})
  t.equal((await incr(store, 'key:a', 60_000)).current, 1)
  await own.stop()
  t.equal((await incr(store, 'key:a', 60_000)).current, 1, 'a failed command falls back at once (memory starts at zero)')
  await until(() => !redis.state.up)
  t.equal((await incr(store, 'key:a', 60_000)).current, 2, 'memory while down')
  await own.restart()
  await until(() => redis.state.up)
  t.equal((await incr(store, 'key:a', 60_000)).current, 1, 'Redis again (restarted empty)')
  t.equal(await redis.client.get('rl-test:rl:key:a'), '1')
})

test('a flood of addresses evicts only addresses: a key\'s window is never reset by others', async (t) => {
  const windows = new MemoryWindows(100)
  t.same(windows.incr('key:app', 60_000, 0), { current: 1, ttl: 60_000 })
  for (let i = 0; i < 1000; i++) windows.incr(`ip:198.51.100.${i}`, 60_000, 1)
  t.same(windows.incr('key:app', 60_000, 2), { current: 2, ttl: 59_998 }, 'still the same window')
})
