import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import type { StoredResult } from '../../src/limits/idempotency-entry.js'
import { canonicalJson, requestFingerprint } from '../../src/limits/idempotency-fingerprint.js'
import { readIdempotencyKey } from '../../src/limits/idempotency-key.js'
import { MemoryIdempotencyStore } from '../../src/limits/idempotency-memory.js'
import { parseEntry } from '../../src/limits/idempotency-redis.js'
import { Idempotency } from '../../src/limits/idempotency.js'
import { sharedConnection } from '../redis/fixtures/redis.js'

const RESULT: StoredResult = { outcome: 'stylized', preset: 'angel', upstreamRequestId: 'up-1', mimeType: 'image/jpeg', imageBase64: 'AAAA' }

test('Idempotency-Key: absent, valid, or 400', async (t) => {
  t.equal(readIdempotencyKey({}), undefined)
  t.equal(readIdempotencyKey({ 'idempotency-key': 'order-42:retry_1.a' }), 'order-42:retry_1.a')
  for (const bad of ['', 'a b', 'x'.repeat(129), 'ä', 'a/b']) {
    t.throws(() => readIdempotencyKey({ 'idempotency-key': bad }), { code: 'INVALID_REQUEST', statusCode: 400 }, JSON.stringify(bad))
  }
  t.throws(() => readIdempotencyKey({ 'idempotency-key': ['a', 'b'] as unknown as string }), { code: 'INVALID_REQUEST' })
})

test('fingerprint: the image and the effective fields, in any order', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: undefined } }), '{"a":{"d":[1,{"e":1,"f":2}]},"b":1}')
  const bytes = Buffer.from('image bytes')
  const one = requestFingerprint({ kind: 'bytes', bytes }, { preset: 'angel', parameters: { scale: 8, seed: -1 } })
  t.equal(requestFingerprint({ kind: 'bytes', bytes: Buffer.from('image bytes') }, { parameters: { seed: -1, scale: 8 }, preset: 'angel' }), one)
  t.not(requestFingerprint({ kind: 'bytes', bytes: Buffer.from('other bytes') }, { preset: 'angel', parameters: { scale: 8, seed: -1 } }), one)
  t.not(requestFingerprint({ kind: 'bytes', bytes }, { preset: 'angel', parameters: { scale: 9, seed: -1 } }), one)
  t.not(requestFingerprint({ kind: 'url', url: 'http://x/a.jpg' }, { preset: 'angel' }), requestFingerprint({ kind: 'url', url: 'http://x/b.jpg' }, { preset: 'angel' }))
})

test('Redis entries parse back', async (t) => {
  t.same(parseEntry('running:owner-1:abc'), { state: 'running', owner: 'owner-1', fingerprint: 'abc' })
  t.same(parseEntry(`done:${JSON.stringify({ state: 'done', fingerprint: 'abc', result: RESULT })}`), { state: 'done', fingerprint: 'abc', result: RESULT })
})

test('memory store: bounded by entries and bytes, least recently used first; running claims stay', async (t) => {
  const store = new MemoryIdempotencyStore({ maxEntries: 3, maxBytes: 4096 })
  const done = (size: number): StoredResult => ({ ...RESULT, imageBase64: 'A'.repeat(size) })
  t.equal(await store.claim('running', 'f', 'o', 60_000), undefined)
  for (const id of ['a', 'b', 'c']) await store.complete(id, { state: 'done', fingerprint: 'f', result: done(10) }, 60_000)
  t.equal(store.size, 3, 'the running claim is never evicted')
  t.ok(store.get('running'))
  t.equal(store.get('a'), undefined, 'the oldest result went first')
  store.get('b')
  await store.complete('d', { state: 'done', fingerprint: 'f', result: done(10) }, 60_000)
  t.ok(store.get('b'), 'a recently read entry stays')
  t.equal(store.get('c'), undefined)
  await store.complete('big', { state: 'done', fingerprint: 'f', result: done(2000) }, 60_000)
  t.equal(store.get('big'), undefined, 'a result over a quarter of the bytes is not kept')
  await store.complete('e', { state: 'done', fingerprint: 'f', result: done(900) }, 60_000)
  await store.complete('g', { state: 'done', fingerprint: 'f', result: done(900) }, 60_000)
  t.ok(store.bytes <= 4096, 'within the byte bound')
  await store.complete('short', { state: 'done', fingerprint: 'f', result: done(1) }, 1)
  await sleep(5)
  t.equal(store.get('short'), undefined, 'expired')
  await store.renew('running', 'someone-else', 'f', 1)
  await store.abandon('running', 'someone-else')
  t.ok(store.get('running'), 'only the owner renews or abandons')
  await store.abandon('running', 'o')
  t.equal(store.get('running'), undefined)
})

for (const mode of ['memory', 'redis'] as const) {
  test(`${mode}: the first runs, a retry replays, another request under the key is 422`, async (t) => {
    const redis = mode === 'redis' ? await sharedConnection(t) : undefined
    const idempotency = new Idempotency(redis, { ttlMs: 60_000, waitMs: 1000 })
    const first = await idempotency.begin('web', 'k1', 'fp')
    t.equal(first.kind, 'run')
    if (first.kind !== 'run') return
    await first.claim.complete(RESULT)
    await first.claim.complete(RESULT)
    t.same(await idempotency.begin('web', 'k1', 'fp'), { kind: 'replay', result: RESULT })
    await t.rejects(idempotency.begin('web', 'k1', 'other'), { code: 'IDEMPOTENCY_KEY_REUSED', statusCode: 422 })
    t.equal((await idempotency.begin('app', 'k1', 'other')).kind, 'run', 'keys are scoped to the client key')
  })

  test(`${mode}: a duplicate waits for the first and gets its result; after the wait bound, 409`, async (t) => {
    const redis = mode === 'redis' ? await sharedConnection(t) : undefined
    const idempotency = new Idempotency(redis, { ttlMs: 60_000, waitMs: 3000, pollMs: 20 })
    const first = await idempotency.begin('web', 'k2', 'fp')
    if (first.kind !== 'run') throw new Error('expected to run')
    const duplicate = idempotency.begin('web', 'k2', 'fp')
    await sleep(50)
    await first.claim.complete(RESULT)
    t.same(await duplicate, { kind: 'replay', result: RESULT })

    const impatient = new Idempotency(redis, { ttlMs: 60_000, waitMs: 0 })
    const running = await impatient.begin('web', 'k3', 'fp')
    await t.rejects(impatient.begin('web', 'k3', 'fp'), { code: 'IDEMPOTENCY_IN_PROGRESS', statusCode: 409, retryAfter: 5 })
    await t.rejects(impatient.begin('web', 'k3', 'different'), { code: 'IDEMPOTENCY_KEY_REUSED' }, 'another request is 422 even while running')
    if (running.kind === 'run') await running.claim.abandon()
  })

  test(`${mode}: an abandoned claim (a failure) lets the waiting duplicate run itself`, async (t) => {
    const redis = mode === 'redis' ? await sharedConnection(t) : undefined
    const idempotency = new Idempotency(redis, { ttlMs: 60_000, waitMs: 3000, pollMs: 20 })
    const first = await idempotency.begin('web', 'k4', 'fp')
    if (first.kind !== 'run') throw new Error('expected to run')
    const duplicate = idempotency.begin('web', 'k4', 'fp')
    await sleep(30)
    {
      await using claim = first.claim
      t.ok(claim, 'leaving the scope without a result abandons the claim')
    }
    const second = await duplicate
    t.equal(second.kind, 'run')
    if (second.kind === 'run') await second.claim.complete({ outcome: 'content-rejected' })
    t.same(await idempotency.begin('web', 'k4', 'fp'), { kind: 'replay', result: { outcome: 'content-rejected' } })
  })
}

test('redis: two replicas; a claim on one is seen by the other, which polls for the result', async (t) => {
  const redis = await sharedConnection(t)
  const replicaA = new Idempotency(redis, { ttlMs: 60_000, waitMs: 5000, pollMs: 20, runningTtlMs: 90 })
  const replicaB = new Idempotency(redis, { ttlMs: 60_000, waitMs: 5000, pollMs: 20 })
  const first = await replicaA.begin('web', 'k5', 'fp')
  if (first.kind !== 'run') throw new Error('expected to run')
  const duplicate = replicaB.begin('web', 'k5', 'fp')
  await sleep(300) // past the claim's life: it lives on because its owner renews it
  await first.claim.complete(RESULT)
  t.same(await duplicate, { kind: 'replay', result: RESULT })
  t.ok(await redis.client.pttl(`${redis.prefix}idem:web:k5`) > 50_000, 'the result is kept for the TTL')
})
