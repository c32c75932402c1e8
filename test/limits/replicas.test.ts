// Per-key limits, quotas and idempotency as a user sees them: in memory (one replica), then through Redis
// with two replicas sharing it, where each request may land on either replica.
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { photo, type TestKey } from '../fixtures/harness.js'
import { until } from '../redis/fixtures/redis.js'
import { HOLD_SEED, REFUSE_SEED, getPresets, startFleet, stylize } from './fixtures/replicas.js'

const KEYS: TestKey[] = [
  { id: 'tight', key: 'spk_tight_key', rateLimit: { max: 3, timeWindow: '1 minute' } },
  { id: 'other', key: 'spk_other_key', rateLimit: { max: 3, timeWindow: '1 minute' } },
  { id: 'quota', key: 'spk_quota_key', dailyQuota: 3, rateLimit: { max: 1000, timeWindow: '1 minute' } },
  { id: 'app', key: 'spk_app_key', rateLimit: { max: 1000, timeWindow: '1 minute' } },
  { id: 'second-app', key: 'spk_second_app_key', rateLimit: { max: 1000, timeWindow: '1 minute' } }
]

for (const mode of ['memory', 'redis'] as const) {
  const where = mode === 'memory' ? 'in memory' : 'through Redis, across two replicas'

  test(`${where}: per-key limits with headers, one key unaffected by another, guessing throttled`, async (t) => {
    const { a, b } = await startFleet(t, mode, KEYS, { RATE_LIMIT_MAX: '4' })
    const tight = { authorization: 'Bearer spk_tight_key' }
    const answers = [await getPresets(a, tight), await getPresets(b, tight), await getPresets(a, tight), await getPresets(b, tight)]
    t.same(answers.map((answer) => answer.status), [200, 200, 200, 429])
    t.same(answers.slice(0, 3).map((answer) => answer.headers['x-ratelimit-remaining']), ['2', '1', '0'], 'one count for the key, wherever it lands')
    t.ok(answers.every((answer) => answer.headers['x-ratelimit-limit'] === '3'))
    t.ok(Number(answers[0]?.headers['x-ratelimit-reset']) > 0)
    t.equal(answers[3]?.code, 'RATE_LIMITED')
    t.ok(Number(answers[3]?.headers['retry-after']) > 0, 'Retry-After')

    const other = await getPresets(b, { 'x-api-key': 'spk_other_key' })
    t.equal(other.status, 200, 'another key is unaffected')
    t.equal(other.headers['x-ratelimit-remaining'], '2')

    const guesses = []
    for (let i = 0; i < 6; i++) guesses.push((await getPresets(i % 2 === 0 ? a : b, { authorization: `Bearer guess-${i}` })).status)
    t.same(guesses, [401, 401, 401, 401, 429, 429], 'wrong keys share one limit per address (RATE_LIMIT_MAX)')
  })

  test(`${where}: a shared daily quota, never overshot by concurrent requests; refused calls do not count`, async (t) => {
    const fleet = await startFleet(t, mode, KEYS)
    const image = await photo(800, 600)
    const refused = await stylize(fleet.a, { key: 'spk_quota_key', image, fields: { seed: REFUSE_SEED } })
    t.match(refused, { status: 422, json: { code: 'CONTENT_REJECTED' } })
    const answers = await Promise.all(Array.from({ length: 8 }, async (_, i) => await stylize(i % 2 === 0 ? fleet.a : fleet.b, { key: 'spk_quota_key', image })))
    const statuses = answers.map((answer) => answer.status).sort()
    t.same(statuses, [200, 200, 200, 429, 429, 429, 429, 429], 'exactly the quota of 3, the refused call not counted')
    const over = answers.find((answer) => answer.status === 429)
    t.equal(over?.json?.code, 'QUOTA_EXCEEDED')
    const midnight = Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000)
    t.ok(Math.abs(Number(over?.headers['retry-after']) - midnight) <= 5, 'Retry-After is the time to midnight UTC')
    t.equal(fleet.calls(), 4, 'no upstream call past the quota')
  })

  test(`${where}: an idempotent retry on the other replica is answered from the first result`, async (t) => {
    const fleet = await startFleet(t, mode, KEYS)
    const image = await photo(800, 600)
    const first = await stylize(fleet.a, { key: 'spk_app_key', image, idempotencyKey: 'order-1', fields: { preset: 'angel', scale: 9 } })
    t.equal(first.status, 200)
    t.equal(first.headers['idempotent-replayed'], undefined)
    // the same request as a multipart upload (another raw body), rendered for its own Accept
    const retry = await stylize(fleet.b, { key: 'spk_app_key', image, idempotencyKey: 'order-1', fields: { scale: 9 }, multipart: true, accept: 'image/jpeg' })
    t.equal(retry.status, 200)
    t.equal(retry.headers['idempotent-replayed'], 'true')
    t.equal(retry.headers['content-type'], 'image/jpeg')
    t.same(retry.bytes, Buffer.from(first.json?.image_base64 as string, 'base64'), 'the same image')
    t.equal(retry.headers['x-upstream-request-id'], first.json?.upstream_request_id)
    t.equal(fleet.calls(), 1, 'exactly one upstream call')

    const reused = await stylize(fleet.b, { key: 'spk_app_key', image, idempotencyKey: 'order-1', fields: { scale: 10 } })
    t.match(reused, { status: 422, json: { code: 'IDEMPOTENCY_KEY_REUSED' } })
    const otherClient = await stylize(fleet.b, { key: 'spk_second_app_key', image, idempotencyKey: 'order-1', fields: { scale: 10 } })
    t.equal(otherClient.status, 200, 'Idempotency-Keys belong to their client key')
    t.equal((await stylize(fleet.a, { key: 'spk_app_key', image, idempotencyKey: 'bad key!' })).json?.code, 'INVALID_REQUEST')
    t.equal(fleet.calls(), 2)

    const refusal = await stylize(fleet.a, { key: 'spk_app_key', image, idempotencyKey: 'risky', fields: { seed: REFUSE_SEED } })
    const refusalAgain = await stylize(fleet.b, { key: 'spk_app_key', image, idempotencyKey: 'risky', fields: { seed: REFUSE_SEED } })
    t.match(refusalAgain, { status: 422, json: { code: 'CONTENT_REJECTED' }, headers: { 'idempotent-replayed': 'true' } })
    t.equal(refusal.json?.code, 'CONTENT_REJECTED')
    t.equal(fleet.calls(), 3, 'a content refusal is kept too')
  })

  test(`${where}: a duplicate sent while the first runs waits for it; a client that leaves does not cancel the paid call`, async (t) => {
    const fleet = await startFleet(t, mode, KEYS)
    const image = await photo(800, 600)
    const call = { key: 'spk_app_key', image, idempotencyKey: 'slow-1', fields: { seed: HOLD_SEED } }
    const first = stylize(fleet.a, call)
    await until(() => fleet.calls() === 1, 10_000, 'the first upstream call')
    const duplicate = stylize(fleet.b, call)
    await sleep(300)
    fleet.releaseHeld()
    const [one, two] = await Promise.all([first, duplicate])
    t.equal(one.status, 200)
    t.equal(two.status, 200)
    t.equal(two.headers['idempotent-replayed'], 'true')
    t.equal(two.json?.upstream_request_id, one.json?.upstream_request_id)
    t.equal(fleet.calls(), 1)

    const gone = new AbortController()
    const leaving = stylize(fleet.a, { ...call, idempotencyKey: 'left-1', signal: gone.signal }).catch((error: unknown) => error)
    await until(() => fleet.calls() === 2, 10_000, 'the second upstream call')
    gone.abort()
    t.match(await leaving, { name: 'AbortError' })
    fleet.releaseHeld()
    await sleep(100)
    const retry = await stylize(fleet.b, { ...call, idempotencyKey: 'left-1' })
    t.equal(retry.status, 200, 'the result of the call the client left is there for its retry')
    t.equal(retry.headers['idempotent-replayed'], 'true')
    t.equal(fleet.calls(), 2, 'paid once')
  })
}

test('through Redis: a replica told not to wait answers 409 IDEMPOTENCY_IN_PROGRESS with Retry-After', async (t) => {
  const fleet = await startFleet(t, 'redis', KEYS, { IDEMPOTENCY_WAIT_MS: '0' })
  const image = await photo(800, 600)
  const call = { key: 'spk_app_key', image, idempotencyKey: 'slow-2', fields: { seed: HOLD_SEED } }
  const first = stylize(fleet.a, call)
  await until(() => fleet.calls() === 1, 10_000, 'the first upstream call')
  const duplicate = await stylize(fleet.b, call)
  t.match(duplicate, { status: 409, json: { code: 'IDEMPOTENCY_IN_PROGRESS' }, headers: { 'retry-after': '5' } })
  fleet.releaseHeld()
  t.equal((await first).status, 200)
  t.equal((await stylize(fleet.b, call)).headers['idempotent-replayed'], 'true')
})
