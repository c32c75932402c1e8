import { Writable } from 'node:stream'
import { pino } from 'pino'
import { test } from 'tap'
import { connectRedis, reconnectDelayMs, redisReadiness } from '../../src/redis/connection.js'
import { sharedOrLocal } from '../../src/redis/fallback.js'
import { OwnRedis, sharedConnection, until } from './fixtures/redis.js'

function capturingLogger (): { log: ReturnType<typeof pino>, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { log: pino({ level: 'info' }, stream), lines }
}

test('reconnects with backoff for ever, never slower than every 2 s', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 100].map(reconnectDelayMs), [100, 200, 400, 800, 1600, 2000, 2000, 2000])
})

test('the machine Redis: up, ready, answers', async (t) => {
  const redis = await sharedConnection(t)
  t.equal(redis.state.up, true)
  t.equal(await redisReadiness(redis)(), undefined, 'ready')
  t.equal(await redis.client.ping(), 'PONG')
  const { where } = await sharedOrLocal(redis, async () => 'shared', () => 'local')
  t.equal(where, 'redis')
})

test('a Redis that is stopped and started: down, 503 reason, fast failures, back by itself', async (t) => {
  const own = await OwnRedis.start(t)
  const { log, lines } = capturingLogger()
  const redis = connectRedis({ url: own.url, prefix: 'p:', log, pingIntervalMs: 100 })
  t.teardown(async () => { await redis.close() })
  t.equal(await redis.ready(5000), true)
  t.match(lines, [{ msg: /Redis connected/, redis: 'up' }])

  await own.stop()
  await until(() => !redis.state.up, 5000, 'Redis down')
  t.equal(await redisReadiness(redis)(), 'redis: down', 'readiness names Redis, not its error (which may hold internal addresses)')
  const started = Date.now()
  await t.rejects(redis.client.get('x'), 'a command fails at once instead of queueing')
  t.ok(Date.now() - started < 1000, 'and fast')
  const fallback = await sharedOrLocal(redis, async () => await redis.client.get('x'), () => 'memory')
  t.same(fallback, { value: 'memory', where: 'memory' })
  t.match(lines, [{}, { msg: /Redis lost/, redis: 'down', level: 40 }])

  await own.restart()
  await until(() => redis.state.up, 10_000, 'Redis back')
  t.equal(await redis.client.set('x', '1'), 'OK')
  t.equal(redis.state.transitions, 3, 'up, down, up')
  t.match(lines.at(-1), { msg: /Redis is back/, redis: 'up' })
})

test('a Redis that is down at start: the connection waits a bounded time and keeps trying', async (t) => {
  const own = await OwnRedis.start(t)
  await own.stop()
  const { log } = capturingLogger()
  const redis = connectRedis({ url: own.url, prefix: 'p:', log })
  t.teardown(async () => { await redis.close() })
  t.equal(await redis.ready(300), false, 'not ready, without throwing')
  await own.restart()
  t.equal(await redis.ready(10_000), true, 'connected once it is there')
})
