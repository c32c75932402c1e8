// Webhooks: signed the Standard Webhooks way (checked with the standardwebhooks package), retried on
// failure, refused for non-public addresses at submit and again at every delivery's connect.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo, LookupFunction } from 'node:net'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import { test } from 'tap'
import { DEFAULT_KEYS, startEmulator, startProxy } from '../fixtures/harness.js'
import { until } from '../redis/fixtures/redis.js'
import { checkWebhookUrl } from '../../src/jobs/webhook-url.js'
import { WebhookSender } from '../../src/jobs/webhook.js'
import { MemoryJobStore } from '../../src/jobs/store.js'
import { getJob, submitJob, waitForEnd } from './fixtures/jobs-client.js'

const WEB = DEFAULT_KEYS[0]!.key
const SECRET = `whsec_${randomBytes(32).toString('base64')}`

interface Received { headers: IncomingHttpHeaders, body: string }

async function startReceiver (t: { teardown: (fn: () => unknown) => void }, statuses: number[]): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += String(chunk) })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.writeHead(statuses[received.length - 1] ?? 200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/stylize`, received }
}

test('the final state is POSTed, signed, and retried until the receiver takes it', async (t) => {
  const receiver = await startReceiver(t, [500, 200])
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } })
  const id = (await submitJob(proxy.url, WEB, { webhook_url: receiver.url })).json.job_id as string
  t.equal((await waitForEnd(proxy.url, WEB, id)).json.status, 'succeeded')
  await until(() => receiver.received.length === 2, 30_000, 'the retried delivery')
  const verifier = new Webhook(SECRET)
  for (const delivery of receiver.received) {
    const payload = verifier.verify(delivery.body, delivery.headers as Record<string, string>) as Record<string, any>
    t.match(payload, { job_id: id, status: 'succeeded', result: { mime_type: 'image/jpeg', image_url: `/jobs/${id}/image` } })
    t.notOk('image_base64' in payload, 'never the image bytes')
  }
  t.equal(receiver.received[0]?.headers['webhook-id'], receiver.received[1]?.headers['webhook-id'], 'one message id for every attempt')
  t.throws(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(receiver.received[1]!.body, receiver.received[1]!.headers as Record<string, string>), 'another secret does not verify')
  await until(async () => (await getJob(proxy.url, WEB, id)).json.webhook?.delivered === true, 10_000, 'the delivery state')
  t.same((await getJob(proxy.url, WEB, id)).json.webhook, { attempts: 2, delivered: true, last_status: 200 })
})

test('a webhook to a loopback or private address is refused at submit', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { WEBHOOK_SECRET: SECRET } })
  for (const url of ['http://127.0.0.1:9/hook', 'http://10.0.0.1/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest', 'http://metadata/hook', 'ftp://hooks.example.com/x']) {
    const refused = await submitJob(proxy.url, WEB, { webhook_url: url })
    t.equal(refused.status, 422, url)
    t.equal(refused.json.code, 'IMAGE_URL_REJECTED')
    t.match(refused.json.message, /webhook_url/)
  }
  t.equal(emulator.app.emulatorStats.calls, 0)
})

test('a name that resolves to a private address is refused, at submit and at delivery, before any connect', async (t) => {
  const lookups: string[] = []
  const privateLookup = ((hostname: string, _options: unknown, callback: (error: null, addresses: Array<{ address: string, family: number }>) => void) => {
    lookups.push(hostname)
    callback(null, [{ address: '10.1.2.3', family: 4 }])
  }) as unknown as LookupFunction
  const config = { webhookSecret: SECRET, webhookAllowHosts: [] }
  await t.rejects(checkWebhookUrl('https://hooks.example.com/x', config, privateLookup), { code: 'IMAGE_URL_REJECTED', message: /non-public/ })

  const store = new MemoryJobStore(60_000)
  const outcomes: string[] = []
  const sender = new WebhookSender({ secret: SECRET, maxAttempts: 3, allowHosts: [], store, log: pino({ level: 'silent' }), lookup: privateLookup, onOutcome: (outcome) => outcomes.push(outcome) })
  const record = { id: 'AAAAAAAAAAAAAAAAAAAAAA', keyId: 'k', status: 'succeeded' as const, createdAt: new Date().toISOString(), preset: 'angel', requestId: 'r', webhookUrl: 'http://hooks.example.com/x' }
  await store.create(record)
  sender.deliver(record)
  await until(() => outcomes.length === 1, 10_000, 'the refusal')
  t.same(outcomes, ['refused'], 'refused once, not retried')
  t.match(await store.get(record.id), { webhook: { attempts: 1, delivered: false, last_status: null } })
  t.ok(lookups.includes('hooks.example.com'), 'judged on what the name resolved to')
  await sender.close()
  await store.close()
})
