// Where usage counts live: both stores add and read the same way, keep KEPT_DAYS days and drop older ones;
// in Redis nothing expires (eviction by volatile-lru must never take billing history).
import { test, type Test } from 'tap'
import { addDays, daysBetween, dayCount, KEPT_DAYS, parseDay } from '../../src/usage/days.js'
import { MemoryUsageStore, type UsageStore } from '../../src/usage/store.js'
import { RedisUsageStore } from '../../src/usage/store-redis.js'
import { sharedConnection } from '../redis/fixtures/redis.js'

const TODAY = '2026-12-03'

async function keepsItsDays (t: Test, store: UsageStore): Promise<void> {
  const oldest = addDays(TODAY, 1 - KEPT_DAYS)
  const tooOld = addDays(TODAY, -KEPT_DAYS)
  await store.add(tooOld, 'web', { succeeded: 1 })
  await store.add(oldest, 'web', { succeeded: 2, 'failed:UPSTREAM_ERROR': 1 })
  await store.add(TODAY, 'web', { succeeded: 3, bytes_in: 10 })
  await store.add(TODAY, 'web', { succeeded: 1, bytes_in: 5 })
  await store.add(TODAY, 'other', { 'refused:RATE_LIMITED': 1 })
  t.same(await store.read([tooOld, oldest, TODAY]), [
    { day: oldest, keyId: 'web', counts: { succeeded: 2, 'failed:UPSTREAM_ERROR': 1 } },
    { day: TODAY, keyId: 'other', counts: { 'refused:RATE_LIMITED': 1 } },
    { day: TODAY, keyId: 'web', counts: { succeeded: 4, bytes_in: 15 } }
  ], `${KEPT_DAYS} days kept, the one before dropped when a new day began`)
  t.same(await store.read([TODAY], 'other'), [{ day: TODAY, keyId: 'other', counts: { 'refused:RATE_LIMITED': 1 } }], 'one key')
}

test('memory: counts add up per key and day, 400 days are kept', async (t) => {
  await keepsItsDays(t, new MemoryUsageStore())
})

test('Redis: the same, and no usage key expires', async (t) => {
  const redis = await sharedConnection(t)
  await keepsItsDays(t, new RedisUsageStore(redis))
  const keys = await redis.client.keys(`${redis.prefix}usage:*`)
  t.ok(keys.length >= 5)
  for (const key of keys) t.equal(await redis.client.pttl(key), -1, `${key.slice(redis.prefix.length)} has no expiry`)
})

test('days: real dates only, from 2000 to 9999; ranges count their days without looping past 9999', async (t) => {
  t.equal(parseDay('2026-02-28'), '2026-02-28')
  for (const bad of ['2026-02-30', '2026-13-01', '26-01-01', '1999-12-31', '+10000-01-01', '2026-1-01']) t.equal(parseDay(bad), undefined, bad)
  t.equal(dayCount('9999-12-01', '9999-12-31'), 31)
  t.equal(daysBetween('9999-12-30', '9999-12-31').length, 2)
  t.same(daysBetween('2024-02-28', '2024-03-01'), ['2024-02-28', '2024-02-29', '2024-03-01'])
  t.equal(dayCount('2026-05-02', '2026-05-01'), 0)
})
