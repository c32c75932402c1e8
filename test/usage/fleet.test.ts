// Usage across a fleet: two `npm start` replicas sharing one Redis count one total, each request once
// whichever replica served it; Redis killed and restarted mid-run loses only that window's counts,
// and no request fails for it.
import { test } from 'tap'
import { request } from 'undici'
import { DEFAULT_KEYS, type TestKey } from '../fixtures/harness.js'
import { startFleet } from '../jobs/fixtures/fleet.js'
import { submitJob, waitForEnd } from '../jobs/fixtures/jobs-client.js'
import { OwnRedis, until } from '../redis/fixtures/redis.js'
import { imageBase64, stylize } from '../upstream/fixtures/client.js'
import { adminUsage, NOTHING, parseCsv, startScriptedUpstream, usage } from './fixtures/usage-client.js'

const WEB = DEFAULT_KEYS[0]!.key
const ADMIN_TOKEN = 'fleet-admin-token-for-usage-tests'
const KEYS: TestKey[] = [
  ...DEFAULT_KEYS,
  { id: 'quota', key: 'spk_quota_key_for_fleet_usage', dailyQuota: 2 },
  { id: 'limited', key: 'spk_limited_key_for_fleet_usage', rateLimit: { max: 3, timeWindow: '1 minute' } }
]
const QUOTA = KEYS[4]!.key
const LIMITED = KEYS[5]!.key

function as (key: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${key}` } }
}

test('two replicas count one fleet-wide usage, exactly, and a Redis outage loses only its own window', async (t) => {
  const redis = await OwnRedis.start(t, { persist: true })
  const upstream = await startScriptedUpstream(t)
  const fleet = await startFleet(t, {
    upstreamUrl: upstream.url,
    keys: KEYS,
    env: { REDIS_URL: redis.url, PRICE_PER_CALL: '0.15', PRICE_CURRENCY: 'CNY', ADMIN_TOKEN, UPSTREAM_RETRIES: '1', RATE_LIMIT_MAX: '1000' }
  })
  const a = await fleet.replica()
  const b = await fleet.replica()
  const imageBytes = Buffer.from(await imageBase64(), 'base64').length

  // successes on both, a job submitted on one and collected on the other
  t.equal((await stylize(a.url)).status, 200)
  t.equal((await stylize(b.url)).status, 200)
  const job = await submitJob(a.url, WEB)
  t.equal(job.status, 202)
  t.equal((await waitForEnd(b.url, WEB, job.json.job_id as string)).json.status, 'succeeded')
  // upstream failures, content refusals and bad input, spread over both
  upstream.mode = '50500'
  t.equal((await stylize(b.url)).json.code, 'UPSTREAM_ERROR')
  upstream.mode = '50411'
  t.equal((await stylize(a.url)).json.code, 'CONTENT_REJECTED')
  upstream.mode = 'ok'
  t.equal((await stylize(b.url, { preset: 'no-such-preset' })).json.code, 'INVALID_REQUEST')
  const bad = await request(`${a.url}/stylize`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEB}` }, body: '[' })
  t.equal(bad.statusCode, 400)
  await bad.body.dump()
  // a quota of 2 and a rate limit of 3, each shared by the fleet
  t.equal((await stylize(a.url, {}, as(QUOTA))).status, 200)
  t.equal((await stylize(b.url, {}, as(QUOTA))).status, 200)
  t.equal((await stylize(a.url, {}, as(QUOTA))).json.code, 'QUOTA_EXCEEDED')
  for (const replica of [a, b, a]) t.equal((await stylize(replica.url, {}, as(LIMITED))).status, 200)
  t.equal((await stylize(b.url, {}, as(LIMITED))).json.code, 'RATE_LIMITED')

  const expected = {
    ...NOTHING,
    succeeded: 3,
    failed: { CONTENT_REJECTED: 1, UPSTREAM_ERROR: 1 },
    refused: { INVALID_REQUEST: 2 },
    upstream_attempts: 3 + 2 + 1,
    retries: 1,
    bytes_in: 5 * imageBytes,
    spend: 0.45
  }
  const webToday = async (base: string): Promise<Record<string, any>> => (await usage(base, WEB)).json.today
  await until(async () => (await webToday(b.url)).upstream_attempts === 6, 10_000, 'the counts of both replicas')
  for (const replica of [a, b]) {
    const today = await webToday(replica.url)
    t.ok(today.bytes_up > 0)
    t.same(today, { ...expected, bytes_up: today.bytes_up }, 'each replica reads the fleet\'s one total')
  }
  const bytesUp = (await webToday(a.url)).bytes_up as number
  const quota = (await usage(b.url, QUOTA)).json
  t.equal(bytesUp, 6 * (quota.today.bytes_up / 2), 'bytes up are what each attempt sent: the 50500 twice')
  t.same(quota.quota, { daily: 2, remaining: 0, resets_at: quota.quota.resets_at })
  t.same(quota.today.refused, { QUOTA_EXCEEDED: 1 })
  t.equal(quota.today.succeeded, 2)
  t.same((await usage(a.url, LIMITED)).json.today.refused, { RATE_LIMITED: 1 })

  const report = await adminUsage(a.url, ADMIN_TOKEN)
  t.same(report.json.keys.map((key: { key_id: string }) => key.key_id), ['limited', 'quota', 'web-app'])
  t.same(report.json.keys[2].total, { ...expected, bytes_up: bytesUp })
  t.equal(report.json.total.succeeded, 3 + 2 + 3)
  t.equal(report.json.total.spend, 1.2, '8 successes x 0.15')
  const rows = parseCsv((await adminUsage(b.url, ADMIN_TOKEN, '', 'text/csv')).text)
  t.same(rows.map((row) => [row.key_id, row.succeeded, row.refused_by_code, row.spend]), [
    ['limited', '3', 'RATE_LIMITED=1', '0.45'],
    ['quota', '2', 'QUOTA_EXCEEDED=1', '0.3'],
    ['web-app', '3', 'INVALID_REQUEST=2', '0.45']
  ])

  // Redis killed: both replicas go on alone; what they serve meanwhile is not counted, and says so
  await redis.stop()
  await Promise.all([a, b].map(async (replica) => await replica.waitForLog(/Redis lost/)))
  for (const replica of [a, b, a, b]) t.equal((await stylize(replica.url)).status, 200, 'served during the outage')
  await Promise.all([a, b].map(async (replica) => await replica.waitForLog(/usage not counted while Redis is away/)))
  t.equal((await usage(a.url, WEB)).status, 503, 'no partial account while the shared counts are away')
  await redis.restart()
  await Promise.all([a, b].map(async (replica) => await replica.waitForLog(/usage counted again; 2 requests' counts were lost/)))
  t.equal((await stylize(b.url)).status, 200)
  await until(async () => (await usage(a.url, WEB)).json.today?.succeeded === 4, 20_000, 'the count after the outage')
  const after = (await usage(a.url, WEB)).json.today
  t.same(after, { ...expected, succeeded: 4, upstream_attempts: 7, bytes_in: 6 * imageBytes, bytes_up: after.bytes_up, spend: 0.6 },
    'the counts before the outage kept, the outage\'s four lost, the one after counted')
})
