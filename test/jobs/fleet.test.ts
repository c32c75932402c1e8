// Jobs and /stylize on one fleet-wide queue: two `npm start` replicas, real Redis, one emulator.
import { test } from 'tap'
import { DEFAULT_KEYS } from '../fixtures/harness.js'
import { stylize } from '../upstream/fixtures/client.js'
import { getJob, jobImage, submitJob, waitForEnd } from './fixtures/jobs-client.js'
import { startFleet } from './fixtures/fleet.js'

const WEB = DEFAULT_KEYS[0]!.key
const OTHER = DEFAULT_KEYS[1]!.key

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
  const fleet = await startFleet(t, { emulator: { latencyMs: 3000 }, env: { UPSTREAM_CONCURRENCY: '1' } })
  const a = await fleet.replica()
  const first = (await submitJob(a.url, WEB)).json.job_id as string
  for (let answer = await getJob(a.url, WEB, first); answer.json.status === 'queued'; answer = await getJob(a.url, WEB, first, 1)) { /* until it runs */ }
  const b = await fleet.replica()
  const second = await submitJob(b.url, WEB)
  t.equal(second.json.status, 'queued')
  a.child.kill('SIGKILL')
  await a.exited

  const failed = await waitForEnd(b.url, WEB, first)
  t.match(failed.json, { status: 'failed', error: { statusCode: 502, code: 'UPSTREAM_ERROR', message: /stopped during its upstream call/ } })
  const done = await waitForEnd(b.url, WEB, second.json.job_id)
  t.equal(done.json.status, 'succeeded')
  t.equal(fleet.emulator.app.emulatorStats.calls, 2, 'one call for each job: the interrupted one was not sent again')
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
