// Redis lost: /stylize goes on per replica from memory; jobs, which need the durable store, answer 503
// with Retry-After; all of it comes back by itself with Redis.
import { test } from 'tap'
import { DEFAULT_KEYS, startEmulator, startProxy } from '../fixtures/harness.js'
import { OwnRedis, until } from '../redis/fixtures/redis.js'
import { stylize } from '../upstream/fixtures/client.js'
import { getJob, submitJob, waitForEnd } from './fixtures/jobs-client.js'

const WEB = DEFAULT_KEYS[0]!.key

test('while Redis is lost, POST /stylize still answers and the jobs routes answer 503 UPSTREAM_BUSY', async (t) => {
  const redis = await OwnRedis.start(t)
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { REDIS_URL: redis.url } })
  const before = await submitJob(proxy.url, WEB)
  t.equal(before.status, 202)
  const id = before.json.job_id as string
  t.equal((await waitForEnd(proxy.url, WEB, id)).json.status, 'succeeded')

  await redis.stop()
  await until(() => /Redis lost/.test(proxy.logText()), 10_000, 'the outage noticed')
  t.equal((await stylize(proxy.url)).status, 200, '/stylize from this replica alone')
  const refused = await submitJob(proxy.url, WEB)
  t.equal(refused.status, 503)
  t.equal(refused.json.code, 'UPSTREAM_BUSY')
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.equal((await getJob(proxy.url, WEB, id)).status, 503)

  await redis.restart()
  await until(async () => (await submitJob(proxy.url, WEB)).status === 202, 20_000, 'jobs back with Redis')
  t.pass('jobs are accepted again once Redis is back')
  t.equal((await stylize(proxy.url)).status, 200, '/stylize through the fleet queue again')
})
