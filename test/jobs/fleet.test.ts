// Jobs and /stylize on one fleet-wide queue: two `npm start` replicas, real Redis, one emulator.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { test } from 'tap'
import { DEFAULT_KEYS, startHeldUpstream } from '../fixtures/harness.js'
import { until } from '../redis/fixtures/redis.js'
import { metricsText, seriesValue, stylize } from '../upstream/fixtures/client.js'
import { getJob, jobImage, submitJob, waitForEnd } from './fixtures/jobs-client.js'
import { startFleet } from './fixtures/fleet.js'

const WEB = DEFAULT_KEYS[0]!.key
const OTHER = DEFAULT_KEYS[1]!.key

/** An upstream that holds its first call until `release` (or the test's end), so a test knows it is in flight. */
async function heldUpstream (t: Parameters<typeof startFleet>[0]) {
  const upstream = await startHeldUpstream(t, { firstOnly: true })
  return { upstream, release: upstream.release }
}

test('a job submitted on one replica is collected on the other; another key sees 404', async (t) => {
  const fleet = await startFleet(t, { emulator: { latencyMs: 200 } })
  const [a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const submitted = await submitJob(a.url, WEB)
  t.equal(submitted.status, 202)
  const id = submitted.json.job_id as string
  const done = await waitForEnd(b.url, WEB, id)
  t.equal(done.json.status, 'succeeded')
  const image = await jobImage(b.url, WEB, id)
  t.equal(image.status, 200)
  t.equal(image.type, 'image/jpeg')
  t.equal((await getJob(b.url, OTHER, id)).status, 404)
  t.equal((await getJob(a.url, OTHER, id)).status, 404)
})

test('FIFO across replicas: jobs start in the order they were submitted, whichever replica took them', async (t) => {
  const fleet = await startFleet(t, { emulator: { latencyMs: 300 }, env: { UPSTREAM_CONCURRENCY: '1' } })
  const [a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const ids: string[] = []
  for (let i = 0; i < 6; i++) ids.push((await submitJob(i % 2 === 0 ? a.url : b.url, WEB)).json.job_id)
  const ended = await Promise.all(ids.map(async (id, i) => await waitForEnd(i % 2 === 0 ? b.url : a.url, WEB, id)))
  t.ok(ended.every((answer) => answer.json.status === 'succeeded'), 'all succeeded')
  const starts = ended.map((answer) => Date.parse(answer.json.started_at))
  t.same([...starts].sort((x, y) => x - y), starts, 'started in submission order')
  t.equal(fleet.emulator.app.emulatorStats.maxInFlight, 1)
})

test('UPSTREAM_CONCURRENCY=2 holds for a mix of /stylize and jobs across both replicas', async (t) => {
  const fleet = await startFleet(t, { emulator: { latencyMs: 400 }, env: { UPSTREAM_CONCURRENCY: '2' } })
  const [a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const syncs = Array.from({ length: 6 }, async (_, i) => await stylize(i % 2 === 0 ? a.url : b.url))
  const jobs = Array.from({ length: 6 }, async (_, i) => {
    const id = (await submitJob(i % 2 === 0 ? b.url : a.url, WEB)).json.job_id as string
    return await waitForEnd(a.url, WEB, id)
  })
  const [syncAnswers, jobAnswers] = await Promise.all([Promise.all(syncs), Promise.all(jobs)])
  t.same(syncAnswers.map((answer) => answer.status), [200, 200, 200, 200, 200, 200])
  t.ok(jobAnswers.every((answer) => answer.json.status === 'succeeded'))
  t.equal(fleet.emulator.app.emulatorStats.calls, 12)
  t.equal(fleet.emulator.app.emulatorStats.maxInFlight, 2, 'never more than 2 calls in flight')
})

test('SIGKILL during a job\'s call: that job fails after exactly one upstream call; its queued neighbour runs elsewhere', async (t) => {
  // the first call is held until the test ends, so its worker is surely inside it when killed
  const { upstream } = await heldUpstream(t)
  const fleet = await startFleet(t, { upstreamUrl: upstream.url, env: { UPSTREAM_CONCURRENCY: '1' } })
  const a = await fleet.replica()
  const first = (await submitJob(a.url, WEB)).json.job_id as string
  await until(() => upstream.requests.length === 1, 30_000, 'the first call sent')
  const b = await fleet.replica()
  const second = await submitJob(b.url, WEB)
  t.equal(second.json.status, 'queued')
  a.child.kill('SIGKILL')
  await a.exited

  const failed = await waitForEnd(b.url, WEB, first)
  t.match(failed.json, { status: 'failed', error: { statusCode: 502, code: 'UPSTREAM_ERROR', message: /stopped during its upstream call/ } })
  const done = await waitForEnd(b.url, WEB, second.json.job_id)
  t.equal(done.json.status, 'succeeded')
  t.equal(upstream.requests.length, 2, 'one call for each job: the interrupted one was not sent again')
})

test('both replicas restarted: the queued jobs are kept and run', async (t) => {
  const fleet = await startFleet(t, { emulator: { latencyMs: 500 }, env: { UPSTREAM_CONCURRENCY: '1' } })
  let [a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const ids: string[] = []
  for (let i = 0; i < 4; i++) ids.push((await submitJob(i % 2 === 0 ? a.url : b.url, WEB)).json.job_id)
  a.child.kill('SIGTERM')
  b.child.kill('SIGTERM')
  t.same([await a.exited, await b.exited], [0, 0])
  ;[a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const ended = await Promise.all(ids.map(async (id) => await waitForEnd(b.url, WEB, id)))
  t.same(ended.map((answer) => answer.json.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded'])
  t.equal(fleet.emulator.app.emulatorStats.calls, 4)
})

test('a /stylize whose client leaves while queued in the fleet queue is removed and never paid', async (t) => {
  const { upstream, release } = await heldUpstream(t)
  const fleet = await startFleet(t, { upstreamUrl: upstream.url, env: { UPSTREAM_CONCURRENCY: '1' } })
  const [a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const running = (await submitJob(a.url, WEB)).json.job_id as string
  await until(() => upstream.requests.length === 1, 30_000, 'the job\'s call sent')
  const leaving = new AbortController()
  const gone = stylize(b.url, {}, { signal: leaving.signal }).catch((error: Error) => error)
  await until(async () => (seriesValue(await metricsText(b.url), 'stylize_fleet_queue_depth') ?? 0) >= 1, 20_000, 'the request queued')
  leaving.abort()
  t.type(await gone, Error, 'the client gave up')
  // give the fleet time to notice, then let the slot go: what is still queued would run now
  await until(async () => (seriesValue(await metricsText(b.url), 'stylize_fleet_queue_depth') ?? 1) === 0, 20_000, 'the request removed')
  release()
  t.equal((await waitForEnd(a.url, WEB, running)).json.status, 'succeeded')
  const after = await stylize(a.url)
  t.equal(after.status, 200, 'the queue moves on')
  t.equal(upstream.requests.length, 2, 'the job and the later request only: the one that left was never sent')
})

test('a webhook from the fleet is received and its signature verifies; ?wait= on the other replica answers when the job ends', async (t) => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`
  const received: Array<{ headers: IncomingHttpHeaders, body: string }> = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += String(chunk) })
    req.on('end', () => { received.push({ headers: req.headers, body }); res.writeHead(204).end() })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => receiver.close(resolve)) })
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

  const fleet = await startFleet(t, { emulator: { latencyMs: 1000 }, env: { WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } })
  const [a, b] = await Promise.all([fleet.replica(), fleet.replica()])
  const id = (await submitJob(a.url, WEB, { webhook_url: hook })).json.job_id as string
  const started = performance.now()
  const answer = await getJob(b.url, WEB, id, 30)
  t.equal(answer.json.status, 'succeeded')
  t.ok(performance.now() - started < 25_000, 'answered when the job ended, not when the wait ran out')
  await until(() => received.length === 1, 20_000, 'the webhook')
  const payload = new Webhook(secret).verify(received[0]!.body, received[0]!.headers as Record<string, string>) as Record<string, any>
  t.match(payload, { job_id: id, status: 'succeeded' })
  t.equal((await submitJob(b.url, WEB, { webhook_url: 'http://192.168.1.10/hook' })).json.code, 'IMAGE_URL_REJECTED', 'a private address refused')
})

test('webhook retries outlive the replica that began them: the next attempt comes from the other one', async (t) => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`
  const received: Array<{ headers: IncomingHttpHeaders, body: string, at: number }> = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += String(chunk) })
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: performance.now() })
      res.writeHead(received.length <= 3 ? 503 : 200).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => receiver.close(resolve)) })
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

  const fleet = await startFleet(t, { env: { WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_HOSTS: '127.0.0.1', WEBHOOK_MAX_ATTEMPTS: '5' } })
  const a = await fleet.replica()
  const id = (await submitJob(a.url, WEB, { webhook_url: hook })).json.job_id as string
  // three refused attempts; the fourth is due 2 to 4 s after the third
  await until(async () => (await getJob(a.url, WEB, id)).json.webhook?.attempts === 3, 30_000, 'three attempts')
  a.child.kill('SIGKILL')
  await a.exited
  const killedAt = performance.now()
  const b = await fleet.replica()
  await until(() => received.length === 4, 30_000, 'the fourth attempt')
  t.ok(received[3]!.at > killedAt, 'sent after the first replica died')
  const payload = new Webhook(secret).verify(received[3]!.body, received[3]!.headers as Record<string, string>) as Record<string, any>
  t.equal(payload.job_id, id)
  await until(async () => (await getJob(b.url, WEB, id)).json.webhook?.delivered === true, 10_000, 'the delivery state')
  t.same((await getJob(b.url, WEB, id)).json.webhook, { attempts: 4, delivered: true, last_status: 200 })
})
