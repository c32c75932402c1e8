// Redis stopped and started under two running replicas: no crash, /readyz 503 while it is away, each
// replica acting alone from memory meanwhile (the documented fallback), and sharing again by itself.
import { request } from 'undici'
import { test } from 'tap'
import { photo, startProxy, startRecordingUpstream, successAnswer, type Proxy, type TestKey } from '../fixtures/harness.js'
import { OwnRedis, until } from '../redis/fixtures/redis.js'
import { getPresets, stylize } from './fixtures/replicas.js'

const KEYS: TestKey[] = [
  { id: 'tight', key: 'spk_tight_key', rateLimit: { max: 2, timeWindow: '1 minute' } },
  { id: 'app', key: 'spk_app_key', dailyQuota: 100, rateLimit: { max: 1000, timeWindow: '1 minute' } }
]

async function readiness (proxy: Proxy): Promise<{ status: number, body: { reasons?: string[] } }> {
  const res = await request(`${proxy.url}/readyz`)
  return { status: res.statusCode, body: await res.body.json() as { reasons?: string[] } }
}

async function statuses (proxy: Proxy, headers: Record<string, string>, count: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push((await getPresets(proxy, headers)).status)
  return out
}

test('Redis stopped and started mid-run', async (t) => {
  const redis = await OwnRedis.start(t)
  const image = await photo(800, 600)
  const upstreamImage = await photo(800, 600)
  let served = 0
  const upstream = await startRecordingUpstream(t, () => successAnswer(upstreamImage, `UPSTREAM${++served}`))
  const options = { upstreamUrl: upstream.url, keys: KEYS, env: { REDIS_URL: redis.url } }
  const a = await startProxy(t, options)
  const b = await startProxy(t, options)
  const tight = { authorization: 'Bearer spk_tight_key' }

  t.equal((await readiness(a)).status, 200, 'ready with Redis')
  t.same([...await statuses(a, tight, 1), ...await statuses(b, tight, 2)], [200, 200, 429], 'shared limit')

  await redis.stop()
  await until(async () => (await readiness(a)).status === 503 && (await readiness(b)).status === 503, 10_000, '/readyz 503')
  t.match((await readiness(a)).body, { reasons: [/^redis: /] })
  t.ok(a.logs.some((line) => /Redis lost/.test(String(line.msg)) && line.level === 40), 'logged as a warning')
  const metrics = await (await request(`${a.url}/metrics`)).body.text()
  t.match(metrics, /^stylize_redis_up 0$/m, 'and counted')
  t.match(metrics, /^stylize_redis_transitions_total\{to="down"\} 1$/m)

  // Each replica alone: its own memory counts (the fleet may allow N x the limit while Redis is away).
  t.same(await statuses(a, tight, 3), [200, 200, 429], 'replica A limits alone')
  t.same(await statuses(b, tight, 3), [200, 200, 429], 'replica B limits alone')
  const first = await stylize(a, { key: 'spk_app_key', image, idempotencyKey: 'during-outage' })
  t.equal(first.status, 200, 'stylization still works (quota, idempotency and upstream slots from memory)')
  const sameReplica = await stylize(a, { key: 'spk_app_key', image, idempotencyKey: 'during-outage' })
  t.equal(sameReplica.headers['idempotent-replayed'], 'true', 'idempotency holds on the replica that ran it')
  t.equal(upstream.requests.length, 1)

  await redis.restart()
  await until(async () => (await readiness(a)).status === 200 && (await readiness(b)).status === 200, 15_000, '/readyz 200 again')
  t.ok(a.logs.some((line) => /Redis is back/.test(String(line.msg))), 'logged')
  t.same([...await statuses(b, tight, 1), ...await statuses(a, tight, 2)], [200, 200, 429], 'shared again (Redis restarted empty)')
  const shared = await stylize(a, { key: 'spk_app_key', image, idempotencyKey: 'after-outage' })
  const retry = await stylize(b, { key: 'spk_app_key', image, idempotencyKey: 'after-outage' })
  t.equal(shared.status, 200)
  t.equal(retry.headers['idempotent-replayed'], 'true', 'an idempotent retry on the other replica replays again')
  t.equal(upstream.requests.length, 2)
  t.equal((await stylize(a, { key: 'spk_app_key', image, idempotencyKey: 'during-outage' })).headers['idempotent-replayed'], 'true',
    'a result kept in memory during the outage still answers on its replica')
})

test('Redis down at start: the replica starts alone, not ready, and joins when Redis comes', async (t) => {
  const redis = await OwnRedis.start(t)
  await redis.stop()
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, keys: KEYS, env: { REDIS_URL: redis.url } })
  t.equal((await readiness(proxy)).status, 503)
  const answer = await stylize(proxy, { key: 'spk_app_key', image: await photo(800, 600) })
  t.equal(answer.status, 200, 'serves from memory meanwhile')
  await redis.restart()
  await until(async () => (await readiness(proxy)).status === 200, 15_000, '/readyz 200')
  t.equal((await getPresets(proxy, { authorization: 'Bearer spk_tight_key' })).headers['x-ratelimit-remaining'], '1')
})
