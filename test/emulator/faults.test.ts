import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { request } from 'undici'
import { pickFault } from '../../src/emulator/faults.js'
import type { FaultName } from '../../src/emulator/options.js'
import { signRequest } from '../../src/upstream/sign.js'
import { callEmulator, cvBody, DEV_CREDENTIALS, makeJpeg, startEmulator } from '../fixtures/emulator-client.js'

const BUSINESS_FAULTS: Array<[FaultName, number]> = [
  ['50429', 429], ['50430', 429], ['50500', 500], ['50501', 500], ['50411', 400], ['50412', 400], ['50413', 400],
  ['50511', 400], ['50512', 400], ['50518', 400], ['50519', 400]
]

for (const [name, status] of [['SignatureDoesNotMatch', 401], ['AccessDenied', 403], ['MissingAuthenticationToken', 401]] as const) {
  test(`fault ${name} answers HTTP ${status} in the gateway's shape, after a valid signature`, async (t) => {
    const { app, origin } = await startEmulator(t, { faults: [{ name, probability: 1 }] })
    const response = await callEmulator(origin, cvBody(await makeJpeg(800, 600)))
    t.equal(response.status, status)
    t.match(response.json, { ResponseMetadata: { RequestId: /^\d{14}/, Action: 'CVProcess', Error: { Code: name, CodeN: Number, Message: /\S/ } } })
    t.equal(app.emulatorStats.calls, 1)
  })
}

for (const [name, status] of BUSINESS_FAULTS) {
  test(`fault ${name} answers HTTP ${status} with code ${name} in the business shape`, async (t) => {
    const { origin } = await startEmulator(t, { faults: [{ name, probability: 1 }] })
    const response = await callEmulator(origin, cvBody(await makeJpeg(800, 600)))
    t.equal(response.status, status)
    t.match(response.json, { code: Number(name), status: Number(name), data: null, message: /\S/, request_id: /^\d{14}/ })
  })
}

test('faults apply only after the signature is verified', async (t) => {
  const { app, origin } = await startEmulator(t, { faults: [{ name: '50500', probability: 1 }] })
  const response = await callEmulator(origin, {}, { credentials: { ...DEV_CREDENTIALS, secretAccessKey: 'wrong' } })
  t.equal(response.status, 401)
  t.equal(response.json.ResponseMetadata.Error.Code, 'SignatureDoesNotMatch')
  t.equal(app.emulatorStats.calls, 0)
})

test('fault malformed answers 200 with a body that is not JSON', async (t) => {
  const { origin } = await startEmulator(t, { faults: [{ name: 'malformed', probability: 1 }] })
  const response = await callEmulator(origin, cvBody(await makeJpeg(800, 600)))
  t.equal(response.status, 200)
  t.throws(() => JSON.parse(response.text))
})

test('fault reset closes the connection without an answer', async (t) => {
  const { app, origin } = await startEmulator(t, { faults: [{ name: 'reset', probability: 1 }] })
  await t.rejects(callEmulator(origin, cvBody(await makeJpeg(800, 600))), { code: 'UND_ERR_SOCKET' })
  t.equal(app.emulatorStats.calls, 1)
})

test('fault hang never answers, stays in flight, and does not block close()', async (t) => {
  const { app, origin } = await startEmulator(t, { faults: [{ name: 'hang', probability: 1 }] })
  const pending = callEmulator(origin, { anything: true })
  while (app.emulatorStats.inFlight === 0) await sleep(10)
  await sleep(200)
  t.equal(app.emulatorStats.inFlight, 1, 'still in flight after 200 ms')
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 2000, 'close() returned promptly')
  await t.rejects(pending, { code: 'UND_ERR_SOCKET' })
})

test('a hung call leaves the in-flight count when its client gives up', async (t) => {
  const { app, origin } = await startEmulator(t, { faults: [{ name: 'hang', probability: 1 }] })
  const body = '{}'
  const headers = signRequest({
    method: 'POST',
    host: new URL(origin).host,
    path: '/',
    query: { Action: 'CVProcess', Version: '2022-08-31' },
    contentType: 'application/json',
    body,
    date: new Date(),
    region: 'cn-north-1',
    service: 'cv',
    credentials: DEV_CREDENTIALS
  })
  await t.rejects(request(`${origin}/?Action=CVProcess&Version=2022-08-31`, { method: 'POST', headers, body, headersTimeout: 300 }), { code: 'UND_ERR_HEADERS_TIMEOUT' })
  while (app.emulatorStats.inFlight > 0) await sleep(10)
  t.equal(app.emulatorStats.inFlight, 0)
})

test('EMULATOR_LATENCY_MS delays each answer', async (t) => {
  const { origin } = await startEmulator(t, { latencyMs: 300 })
  const image = await makeJpeg(800, 600)
  const started = performance.now()
  const response = await callEmulator(origin, cvBody(image, { prompt: '' }))
  t.equal(response.json.code, 50201, 'errors are delayed too')
  t.ok(performance.now() - started >= 290, 'took at least the latency')
})

test('past EMULATOR_CONCURRENCY calls in flight, the others get 429 50430 at once', async (t) => {
  const { app, origin } = await startEmulator(t, { latencyMs: 400, concurrency: 1 })
  const body = cvBody(await makeJpeg(800, 600))
  const responses = await Promise.all([1, 2, 3].map(() => callEmulator(origin, body)))
  const statuses = responses.map((response) => response.status).sort()
  t.same(statuses, [200, 429, 429])
  for (const response of responses.filter((r) => r.status === 429)) t.equal(response.json.code, 50430)
  t.equal(app.emulatorStats.calls, 3)
  t.equal(app.emulatorStats.maxInFlight, 1)
})

test('GET /_emulator/stats reports calls and the most in flight at once', async (t) => {
  const { origin } = await startEmulator(t, { latencyMs: 200 })
  const body = cvBody(await makeJpeg(800, 600))
  await Promise.all([1, 2].map(() => callEmulator(origin, body)))
  const response = await request(`${origin}/_emulator/stats`)
  t.same(await response.body.json(), { calls: 2, inFlight: 0, maxInFlight: 2 })
})

test('pickFault: the first fault whose draw hits, in the listed order', async (t) => {
  const faults = [{ name: '50429', probability: 0.5 }, { name: 'hang', probability: 1 }] as const
  t.equal(pickFault(faults, () => 0.2), '50429')
  t.equal(pickFault(faults, () => 0.7), 'hang')
  t.equal(pickFault([{ name: 'reset', probability: 0 }], () => 0), undefined)
  t.equal(pickFault([]), undefined)
})
