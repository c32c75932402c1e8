import { test } from 'tap'
import type { ClientKey } from '../../src/keys/store.js'
import { DailyQuota, msToUtcMidnight, utcDay } from '../../src/limits/quota.js'
import { MemoryQuotaCounter } from '../../src/limits/quota-memory.js'
import { sharedConnection } from '../redis/fixtures/redis.js'

function clientKey (id: string, dailyQuota?: number): ClientKey {
  return { id, presets: '*', allowPrompt: false, disabled: false, ...(dailyQuota === undefined ? {} : { dailyQuota }) }
}

test('UTC day and the time to midnight', async (t) => {
  const now = new Date('2025-03-09T23:59:30.000Z')
  t.equal(utcDay(now), '2025-03-09')
  t.equal(msToUtcMidnight(now), 30_000)
  t.equal(msToUtcMidnight(new Date('2025-03-10T00:00:00.000Z')), 86_400_000)
})

test('memory: reserved up to the quota, refused past it with Retry-After to midnight, released calls return', async (t) => {
  const quota = new DailyQuota()
  const key = clientKey('web', 2)
  const now = new Date('2025-03-09T23:00:00.000Z')
  const first = await quota.reserve(key, now)
  const second = await quota.reserve(key, now)
  t.ok(first && second)
  const refused = await quota.reserve(key, now).catch((error: unknown) => error)
  t.match(refused, { code: 'QUOTA_EXCEEDED', statusCode: 429, retryAfter: 3600, message: /daily quota of 2/ })
  await second?.release()
  await second?.release()
  t.ok(await quota.reserve(key, now), 'a released call can be used again (once)')
  await t.rejects(quota.reserve(key, now), { code: 'QUOTA_EXCEEDED' })
  t.ok(await quota.reserve(key, new Date('2025-03-10T00:00:01.000Z')), 'a new UTC day starts from zero')
  t.equal(await quota.reserve(clientKey('unlimited')), undefined, 'no dailyQuota, nothing to reserve')
  await t.rejects(quota.reserve(clientKey('none', 0), now), { code: 'QUOTA_EXCEEDED' }, 'a quota of 0 refuses everything')
})

test('memory: a kept reservation stays counted; a disposed one without keep is released', async (t) => {
  const quota = new DailyQuota()
  const key = clientKey('k', 1)
  {
    await using reservation = await quota.reserve(key)
    t.ok(reservation)
  }
  {
    await using reservation = await quota.reserve(key)
    reservation?.keep()
  }
  await t.rejects(quota.reserve(key), { code: 'QUOTA_EXCEEDED' })
})

test('memory counter keeps yesterday (for calls running across midnight) and forgets older days', async (t) => {
  const counter = new MemoryQuotaCounter()
  t.ok(counter.reserve('2025-01-01', 'a', 5))
  t.ok(counter.reserve('2025-01-02', 'a', 5))
  counter.release('2025-01-01', 'a')
  t.equal(counter.used('2025-01-01', 'a'), 0)
  t.ok(counter.reserve('2025-01-01', 'a', 5))
  t.ok(counter.reserve('2025-01-03', 'a', 5))
  t.equal(counter.used('2025-01-01', 'a'), 0, 'two days back is gone')
  t.equal(counter.used('2025-01-02', 'a'), 1)
  counter.release('2025-01-09', 'nobody')
})

test('Redis: two replicas share one quota, and 40 concurrent reservations never overshoot', async (t) => {
  const redis = await sharedConnection(t)
  const replicaA = new DailyQuota(redis)
  const replicaB = new DailyQuota(redis)
  const key = clientKey('shared', 7)
  const outcomes = await Promise.allSettled(Array.from({ length: 40 }, async (_, i) => await (i % 2 === 0 ? replicaA : replicaB).reserve(key)))
  const granted = outcomes.filter((o) => o.status === 'fulfilled')
  t.equal(granted.length, 7, 'exactly the quota')
  t.ok(outcomes.filter((o) => o.status === 'rejected').every((o) => (o.reason as { code: string }).code === 'QUOTA_EXCEEDED'))
  await (granted[0] as PromiseFulfilledResult<{ release: () => Promise<void> }>).value.release()
  t.ok(await replicaB.reserve(key), 'a call released on A can be used on B')
  const ttl = await redis.client.pttl(`${redis.prefix}quota:${utcDay(new Date())}:shared`)
  t.ok(ttl > 0 && ttl <= msToUtcMidnight(new Date()) + 3_601_000, `the counter expires after its day (${ttl})`)
})
