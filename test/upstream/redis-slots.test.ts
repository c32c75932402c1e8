import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { test } from 'tap'
import { connectRedis } from '../../src/redis/connection.js'
import { MemorySlotSource } from '../../src/upstream/memory-slots.js'
import { RedisSlotSource, createSlotSource } from '../../src/upstream/redis-slots.js'
import type { SlotLease } from '../../src/upstream/slots.js'
import { OwnRedis, sharedConnection, until } from '../redis/fixtures/redis.js'

test('without Redis the memory source is used as it is', async (t) => {
  const memory = new MemorySlotSource(2)
  t.equal(createSlotSource(undefined, 2, memory), memory)
})

test('two replicas share UPSTREAM_CONCURRENCY slots; a release on one wakes the other', async (t) => {
  const redis = await sharedConnection(t)
  const replicaA = createSlotSource(redis, 3, new MemorySlotSource(3)) as RedisSlotSource
  const replicaB = new RedisSlotSource({ redis, limit: 3, fallback: new MemorySlotSource(3), pollMs: 60_000 })
  t.teardown(async () => { await replicaA.close(); await replicaB.close() })
  const leases = [await replicaA.tryAcquire(), await replicaB.tryAcquire(), await replicaA.tryAcquire()]
  t.ok(leases.every((lease) => lease !== undefined), 'three slots fleet-wide')
  t.equal(await replicaB.tryAcquire(), undefined, 'no fourth, on either replica')
  t.equal(await replicaA.tryAcquire(), undefined)
  t.equal(replicaA.held, 2)

  let woken = 0
  replicaB.onMaybeFree(() => { woken++ })
  await sleep(100) // the subscription is in place
  await (leases[0] as SlotLease).release()
  await (leases[0] as SlotLease).release()
  await until(() => woken > 0, 5000, 'the release message')
  t.ok(await replicaB.tryAcquire(), 'the freed slot is taken on the other replica')
})

test('a crashed replica\'s leases expire; a live one\'s are renewed', async (t) => {
  const redis = await sharedConnection(t)
  const alive = new RedisSlotSource({ redis, limit: 2, fallback: new MemorySlotSource(2), leaseTtlMs: 300 })
  t.teardown(async () => { await alive.close() })
  t.ok(await alive.tryAcquire())
  // a replica that took a lease and crashed: nobody renews or releases it
  await redis.client.zadd(`${redis.prefix}slots`, Date.now() + 300, 'lease-of-a-crashed-replica')
  t.equal(await alive.tryAcquire(), undefined, 'full while the ghost lease lives')
  await sleep(600)
  t.ok(await alive.tryAcquire(), 'the ghost expired; the live lease was renewed meanwhile')
  t.equal(await alive.tryAcquire(), undefined, 'and the renewed one still counts')
})

test('Redis lost: slots come from this replica\'s memory; Redis back: shared again', async (t) => {
  const own = await OwnRedis.start(t)
  const redis = connectRedis({ url: own.url, prefix: 'slots-test:', log: pino({ level: 'silent' }), pingIntervalMs: 100 })
  t.teardown(async () => { await redis.close() })
  await redis.ready(5000)
  const memory = new MemorySlotSource(1)
  const source = new RedisSlotSource({ redis, limit: 1, fallback: memory })
  t.teardown(async () => { await source.close() })
  const shared = await source.tryAcquire()
  t.ok(shared)
  let woken = 0
  source.onMaybeFree(() => { woken++ })
  await own.stop()
  const local = await source.tryAcquire()
  t.ok(local, 'a failed command falls back to memory')
  t.equal(memory.inUse, 1)
  await until(() => !redis.state.up)
  t.equal(await source.tryAcquire(), undefined, 'memory has the same limit')
  await shared?.release()
  await local?.release()
  await own.restart()
  await until(() => redis.state.up)
  t.ok(woken > 0, 'waiters are told when Redis comes and goes')
  t.ok(await source.tryAcquire(), 'from Redis again')
  t.equal(await redis.client.zcard('slots-test:slots'), 1)
})
