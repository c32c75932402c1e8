// Usage per key and UTC day on one instance (no Redis): what each kind of answer counts, GET /usage,
// GET /admin/usage as JSON and CSV, and the admin token's guard.
import { test } from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../src/config.js'
import { DEFAULT_KEYS, startHeldUpstream, startProxy, type TestKey } from '../fixtures/harness.js'
import { waitForEnd, submitJob } from '../jobs/fixtures/jobs-client.js'
import { until } from '../redis/fixtures/redis.js'
import { imageBase64, stylize } from '../upstream/fixtures/client.js'
import { adminUsage, NOTHING, parseCsv, startScriptedUpstream, usage } from './fixtures/usage-client.js'

const WEB = DEFAULT_KEYS[0]!.key
const ADMIN_TOKEN = 'admin-token-for-the-usage-tests'
const KEYS: TestKey[] = [
  ...DEFAULT_KEYS,
  { id: 'quota', key: 'spk_quota_key_for_usage_tests', dailyQuota: 1 },
  { id: 'limited', key: 'spk_limited_key_for_usage_tests', rateLimit: { max: 1, timeWindow: '1 minute' } }
]
const QUOTA = KEYS[4]!.key
const LIMITED = KEYS[5]!.key
const ENV = { PRICE_PER_CALL: '0.1', PRICE_CURRENCY: 'CNY', ADMIN_TOKEN, UPSTREAM_RETRIES: '1' }

function as (key: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${key}` } }
}

test('a mix of answers gives exactly its counts in /usage and /admin/usage, and spend = successes x price', async (t) => {
  const upstream = await startScriptedUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, keys: KEYS, env: ENV })
  const imageBytes = Buffer.from(await imageBase64(), 'base64').length

  t.equal((await stylize(proxy.url)).status, 200)
  const first = await usage(proxy.url, WEB)
  t.equal(first.status, 200)
  const bytesUp = first.json.today.bytes_up as number
  t.ok(bytesUp > 0, 'the prepared image\'s bytes are counted')

  t.equal((await stylize(proxy.url, {}, { headers: { 'idempotency-key': 'usage-once' } })).status, 200)
  const replay = await stylize(proxy.url, {}, { headers: { 'idempotency-key': 'usage-once' } })
  t.equal(replay.headers['idempotent-replayed'], 'true')
  upstream.mode = '50500'
  t.equal((await stylize(proxy.url)).json.code, 'UPSTREAM_ERROR')
  upstream.mode = '50411'
  t.equal((await stylize(proxy.url)).json.code, 'CONTENT_REJECTED')
  upstream.mode = 'ok'
  t.equal((await stylize(proxy.url, { preset: 'no-such-preset' })).json.code, 'INVALID_REQUEST')
  const badJson = await request(`${proxy.url}/stylize`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEB}` }, body: '{"image_base64":' })
  t.equal(badJson.statusCode, 400)
  await badJson.body.dump()
  const job = await submitJob(proxy.url, WEB)
  t.equal(job.status, 202)
  t.equal((await waitForEnd(proxy.url, WEB, job.json.job_id as string)).json.status, 'succeeded')

  t.equal((await stylize(proxy.url, {}, as(QUOTA))).status, 200)
  t.equal((await stylize(proxy.url, {}, as(QUOTA))).json.code, 'QUOTA_EXCEEDED')
  t.equal((await stylize(proxy.url, {}, as(LIMITED))).status, 200)
  t.equal((await stylize(proxy.url, {}, as(LIMITED))).json.code, 'RATE_LIMITED')
  t.equal(upstream.calls, 1 + 1 + 2 + 1 + 1 + 1 + 1, 'the upstream saw every paid attempt and no more')

  const web = await usage(proxy.url, WEB)
  const expected = {
    ...NOTHING,
    succeeded: 3,
    replayed: 1,
    failed: { CONTENT_REJECTED: 1, UPSTREAM_ERROR: 1 },
    refused: { INVALID_REQUEST: 2 },
    upstream_attempts: 6,
    retries: 1,
    bytes_in: 6 * imageBytes,
    // what was sent: the 50500 went twice, the replay not at all
    bytes_up: 6 * bytesUp,
    spend: 0.3
  }
  t.same(web.json.today, expected, 'today')
  t.same(web.json.month, expected, 'this month is today so far')
  t.equal(web.json.key_id, 'web-app')
  t.equal(web.json.currency, 'CNY')
  t.same(web.json.quota, { daily: null, remaining: null, resets_at: web.json.quota.resets_at })
  t.same(web.json.rate_limit, { max: 30, window_ms: 60_000 })
  t.notMatch(web.text, /spk_|sha256/, 'no key and no key hash in the answer')

  const quota = await usage(proxy.url, QUOTA)
  t.same(quota.json.quota.daily, 1)
  t.same(quota.json.quota.remaining, 0, 'nothing left today')
  t.same(quota.json.today.refused, { QUOTA_EXCEEDED: 1 })
  t.equal(quota.json.today.succeeded, 1)
  t.equal(quota.json.today.bytes_up, bytesUp, 'the refused request\'s image was prepared but never sent')
  const limited = await usage(proxy.url, LIMITED)
  t.equal(limited.status, 200, 'GET /usage has a limit of its own: a key at its stylize limit still sees its usage')
  t.same(limited.json.today.refused, { RATE_LIMITED: 1 })
  t.same(limited.json.rate_limit, { max: 1, window_ms: 60_000 })

  const report = await adminUsage(proxy.url, ADMIN_TOKEN)
  t.equal(report.status, 200)
  t.same(report.json.keys.map((key: { key_id: string }) => key.key_id), ['limited', 'quota', 'web-app'])
  const webReport = report.json.keys[2]
  t.same(webReport.total, expected)
  t.equal(webReport.days.length, 1)
  t.same(webReport.days[0], { day: web.json.day, ...expected })
  t.equal(report.json.total.succeeded, 5, 'all keys together')
  t.equal(report.json.total.spend, 0.5)
  t.equal(report.json.price_per_call, 0.1)
  t.notMatch(report.text, /spk_|sha256/)

  const csv = await adminUsage(proxy.url, ADMIN_TOKEN, '', 'text/csv')
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.headers['content-disposition'], /attachment; filename="usage-\d{4}-\d{2}-01-to-\d{4}-\d{2}-\d{2}\.csv"/)
  const rows = parseCsv(csv.text)
  t.equal(rows.length, 3, 'one row per key and day')
  t.same(rows.find((row) => row.key_id === 'web-app'), {
    day: web.json.day,
    key_id: 'web-app',
    succeeded: '3',
    failed: '2',
    refused: '2',
    replayed: '1',
    upstream_attempts: '6',
    retries: '1',
    bytes_in: String(6 * imageBytes),
    bytes_up: String(6 * bytesUp),
    spend: '0.3',
    currency: 'CNY',
    failed_by_code: 'CONTENT_REJECTED=1;UPSTREAM_ERROR=1',
    refused_by_code: 'INVALID_REQUEST=2'
  })
  const oneKey = await adminUsage(proxy.url, ADMIN_TOKEN, '?key=quota')
  t.same(oneKey.json.keys.map((key: { key_id: string }) => key.key_id), ['quota'])
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
  const before = await adminUsage(proxy.url, ADMIN_TOKEN, `?from=${yesterday}&to=${yesterday}`)
  t.same(before.json.keys, [], 'nothing was counted yesterday')
})

test('the admin routes need the admin token: 401 without it or with a wrong one, 404 when none is set', async (t) => {
  const upstream = await startScriptedUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: ENV })
  for (const token of [undefined, 'wrong', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), WEB]) {
    const answer = await adminUsage(proxy.url, token)
    t.equal(answer.status, 401, `token ${token === undefined ? 'missing' : 'wrong'}`)
    t.equal(answer.json.code, 'UNAUTHORIZED')
    t.equal(answer.headers['www-authenticate'], 'Bearer realm="admin"')
  }
  for (const [query, message] of [
    ['?from=2026-13-01', /from: must be a UTC day/],
    ['?to=2026-02-30', /to: must be a UTC day/],
    ['?from=2026-05-02&to=2026-05-01', /from: must not be after to/],
    ['?from=2024-01-01&to=2026-01-01', /at most 400 days/]
  ] as const) {
    const answer = await adminUsage(proxy.url, ADMIN_TOKEN, query)
    t.equal(answer.status, 400, query)
    t.match(answer.json.message, message)
  }
  t.equal((await adminUsage(proxy.url, ADMIN_TOKEN, '?from=2025-01-01&to=2026-02-04')).status, 200, '400 days at once')
  t.equal((await adminUsage(proxy.url, ADMIN_TOKEN, '?to=9999-12-31')).status, 200, 'the last day there is')
  const twoKeys = await adminUsage(proxy.url, ADMIN_TOKEN, '?key=web-app&key=quota')
  t.equal(twoKeys.status, 400, 'a repeated key= is refused, never widened to every key')
  t.match(twoKeys.json.message, /key: give one key id/)

  const closed = await startProxy(t, { upstreamUrl: upstream.url, env: { PRICE_PER_CALL: '0.1' } })
  const answer = await adminUsage(closed.url, ADMIN_TOKEN)
  t.equal(answer.status, 404, 'no ADMIN_TOKEN: the route does not exist')
  t.equal(answer.json.code, 'NOT_FOUND')
  t.equal((await usage(closed.url, WEB)).json.currency, undefined, 'no currency set, none shown')
  t.equal((await usage(closed.url, WEB)).json.today.spend, 0, 'a price alone still gives a spend')
})

test('without a price there is no spend; GET /usage needs a key', async (t) => {
  const upstream = await startScriptedUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  t.equal((await stylize(proxy.url)).status, 200)
  const answer = await usage(proxy.url, WEB)
  t.equal(answer.json.today.succeeded, 1)
  t.notOk('spend' in answer.json.today)
  t.notOk('currency' in answer.json)
  const anonymous = await request(`${proxy.url}/usage`)
  t.equal(anonymous.statusCode, 401)
  await anonymous.body.dump()
})

test('a client that leaves during its paid call is still counted: the call was paid', async (t) => {
  const upstream = await startHeldUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const leaving = new AbortController()
  const gone = stylize(proxy.url, {}, { signal: leaving.signal }).catch(() => 'aborted')
  await upstream.reached
  leaving.abort()
  t.equal(await gone, 'aborted')
  const connections = async (): Promise<number> => await new Promise((resolve) => proxy.app.server.getConnections((_error, count) => resolve(count)))
  await until(async () => await connections() === 0, 10_000, 'the proxy to see the client leave')
  upstream.release()
  await until(async () => (await usage(proxy.url, WEB)).json.today?.succeeded === 1, 10_000, 'the paid call counted')
  t.equal((await usage(proxy.url, WEB)).json.today.upstream_attempts, 1)
})

test('the price and the admin token are checked at start', async (t) => {
  const base = { VOLC_ACCESS_KEY_ID: 'a', VOLC_SECRET_ACCESS_KEY: 'b' }
  t.throws(() => loadConfig({ ...base, PRICE_CURRENCY: 'CNY' }, { dotenvPath: false }), /PRICE_CURRENCY is set but PRICE_PER_CALL is not/)
  t.throws(() => loadConfig({ ...base, PRICE_PER_CALL: '1,5' }, { dotenvPath: false }), /PRICE_PER_CALL must be a price such as 0.2/)
  t.throws(() => loadConfig({ ...base, PRICE_PER_CALL: '1', PRICE_CURRENCY: 'yuan' }, { dotenvPath: false }), /PRICE_CURRENCY must be a currency code/)
  t.throws(() => loadConfig({ ...base, ADMIN_TOKEN: 'short' }, { dotenvPath: false }), /ADMIN_TOKEN must be at least 16 characters/)
  const config = loadConfig({ ...base, PRICE_PER_CALL: '0.012', PRICE_CURRENCY: 'USD', ADMIN_TOKEN }, { dotenvPath: false })
  t.equal(config.pricePerCall, 0.012)
  t.equal(config.adminToken, ADMIN_TOKEN)
})

test('a cancelled job is never sent: only the bytes it brought are counted', async (t) => {
  const upstream = await startHeldUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_CONCURRENCY: '1' } })
  const first = await submitJob(proxy.url, WEB)
  const second = await submitJob(proxy.url, WEB)
  await until(() => upstream.requests.length === 1, 10_000, 'the first job to hold the one slot')
  const cancelled = await request(`${proxy.url}/jobs/${second.json.job_id as string}`, { method: 'DELETE', headers: { authorization: `Bearer ${WEB}` } })
  t.equal(cancelled.statusCode, 200)
  await cancelled.body.dump()
  upstream.release()
  t.equal((await waitForEnd(proxy.url, WEB, first.json.job_id as string)).json.status, 'succeeded')
  const today = (await usage(proxy.url, WEB)).json.today
  const imageBytes = Buffer.from(await imageBase64(), 'base64').length
  t.match(today, { succeeded: 1, failed: {}, refused: {}, upstream_attempts: 1, bytes_in: 2 * imageBytes })
  t.equal(upstream.requests.length, 1, 'the cancelled job never reached the upstream')
})
