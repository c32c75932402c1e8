// The shipped load balancer (deploy/haproxy.cfg, Debian's haproxy) in front of `npm start` replicas, as an
// operator runs them: a Redis outage keeps every replica in rotation, a rolling restart loses no request,
// per-address limits hold per client, not per balancer, and Expect: 100-continue passes through.
import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { Agent, request } from 'undici'
import { DEFAULT_KEYS, photo, startEmulator, startProxy, tempDir } from '../fixtures/harness.js'
import { freePort, HAPROXY, startBalancer, type Balancer } from '../fixtures/haproxy.js'
import { startFleet } from '../jobs/fixtures/fleet.js'
import { OwnRedis, until } from '../redis/fixtures/redis.js'
import { stylize } from '../upstream/fixtures/client.js'

const WEB = DEFAULT_KEYS[0]!.key

/** Clients posting /stylize through the balancer back to back until stopped; every status they got. */
function steadyStream (balancer: Balancer, clients: number): { statuses: number[], stop: () => Promise<void> } {
  const statuses: number[] = []
  const state = { running: true }
  const loops = Array.from({ length: clients }, async () => {
    // a request that got no answer at all counts as 0
    while (state.running) statuses.push(await stylize(balancer.url).then((answer) => answer.status, () => 0))
  })
  return { statuses, stop: async () => { state.running = false; await Promise.all(loops) } }
}

/** How many /stylize requests the replica answered 200 in its log from `offset` on. */
function served (replica: { out: () => string }, offset = 0): number {
  return replica.out().slice(offset).split('\n').filter((line) => /"path":"\/stylize","statusCode":200/.test(line)).length
}

/** How many of the balancer's health checks reached the replica (probes are logged at debug). */
function checks (replica: { out: () => string }, offset = 0): number {
  return replica.out().slice(offset).split('\n').filter((line) => /"path":"\/readyz\/serving"/.test(line)).length
}

function nonOk (statuses: number[]): number[] {
  return statuses.filter((status) => status !== 200)
}

if (!existsSync(HAPROXY) && process.env.CI === undefined) {
  t.test('behind HAProxy', { skip: `${HAPROXY} is missing (apt-get install haproxy); CI always runs this` }, () => {})
} else {
  t.test('Redis lost: every replica stays in rotation and serves alone; /readyz says so, /readyz/serving does not route it away', async (t) => {
    const redis = await OwnRedis.start(t)
    const fleet = await startFleet(t, { emulator: { latencyMs: 50 }, env: { REDIS_URL: redis.url, LOG_LEVEL: 'debug' } })
    const ports = [await freePort(), await freePort()]
    const replicas = await Promise.all(ports.map(async (port) => await fleet.replica({ PORT: String(port) })))
    const balancer = await startBalancer(t, ports.map((port, i) => ({ name: `r${i}`, port })))
    t.equal((await stylize(balancer.url)).status, 200)

    await redis.stop()
    await Promise.all(replicas.map(async (replica) => await replica.waitForLog(/Redis lost/)))
    const readiness = await request(`${replicas[0]!.url}/readyz`)
    t.equal(readiness.statusCode, 503, '/readyz: not fully ready')
    t.same(await readiness.body.json(), { status: 'unavailable', reasons: ['redis: down'] })
    const serving = await request(`${replicas[0]!.url}/readyz/serving`)
    t.equal(serving.statusCode, 200, '/readyz/serving: still serving')
    t.same(await serving.body.json(), { status: 'serving', degraded: ['redis: down'] })
    t.same(await (await request(`${replicas[1]!.url}/healthz`)).body.json(), { status: 'ok', degraded: ['redis: down'] })

    // longer than the balancer's check interval x fall (2 s x 2): a replica taken out would show by now
    const offsets = replicas.map((replica) => replica.out().length)
    const stream = steadyStream(balancer, 2)
    await until(() => replicas.every((replica, i) => served(replica, offsets[i]) >= 3), 60_000, 'both replicas to serve during the outage')
    // a replica taken out would be, after fall (2) checks: let three of them reach each replica
    await until(() => replicas.every((replica, i) => checks(replica, offsets[i]) >= 3), 60_000, 'three health checks on each replica')
    await stream.stop()
    t.ok(stream.statuses.length > 4)
    t.same(nonOk(stream.statuses), [], 'every request through the balancer answered 200 while Redis was away')
    t.notMatch(balancer.log(), /is DOWN/, 'no replica was taken out of rotation')
  })

  t.test('a rolling restart behind HAProxy: one replica stopped, another started, a steady stream gets no non-2xx answer', async (t) => {
    // the drain the compose file sets: longer than the balancer's check interval x fall (2 s x 2)
    const fleet = await startFleet(t, { emulator: { latencyMs: 300 }, env: { SHUTDOWN_DRAIN_MS: '5000' } })
    const ports = [await freePort(), await freePort(), await freePort()]
    const [a, b] = await Promise.all(ports.slice(0, 2).map(async (port) => await fleet.replica({ PORT: String(port) })))
    // the third server is the replica the rollout starts: down until then
    const balancer = await startBalancer(t, ports.map((port, i) => ({ name: `r${i}`, port })))
    await until(() => /r2 is DOWN/.test(balancer.log()), 20_000, 'the balancer to see the third replica is not up yet')

    const stream = steadyStream(balancer, 4)
    await until(() => stream.statuses.length >= 8, 30_000, 'traffic on both replicas')
    a!.child.kill('SIGTERM')
    await a!.waitForLog(/draining/)
    await until(() => /r0 is DOWN/.test(balancer.log()), 20_000, 'the balancer to take the draining replica out')
    t.equal(await a!.exited, 0, 'the stopped replica finished its requests and exited 0')
    t.notMatch(a!.out(), /"statusCode":503/, 'it served everything it was sent while draining')
    const c = await fleet.replica({ PORT: String(ports[2]) })
    await c.waitForLog(/"path":"\/stylize","statusCode":200/, 60_000)
    const before = stream.statuses.length
    await until(() => stream.statuses.length >= before + 8, 30_000, 'more traffic after the rollout')
    await stream.stop()
    t.same(nonOk(stream.statuses), [], `all ${stream.statuses.length} requests answered 200`)
    if (nonOk(stream.statuses).length > 0) t.comment(balancer.log().split('\n').filter((line) => !/ 200 /.test(line)).join('\n'))
    t.match(b!.out(), /"path":"\/stylize","statusCode":200/, 'the replica that stayed served too')
  })

  t.test('per-address limits hold per client behind the balancer (TRUST_PROXY=1), and a client cannot pick its address', async (t) => {
    const fleet = await startFleet(t, { env: { TRUST_PROXY: '1', RATE_LIMIT_MAX: '3' } })
    const port = await freePort()
    await fleet.replica({ PORT: String(port) })
    const balancer = await startBalancer(t, [{ name: 'r0', port }])
    const from = (address: string): Agent => new Agent({ localAddress: address })
    const alice = from('127.0.0.2')
    const bob = from('127.0.0.3')
    t.teardown(async () => { await Promise.all([alice.close(), bob.close()]) })
    const keyless = async (agent: Agent, headers: Record<string, string> = {}): Promise<number> => {
      const answer = await request(`${balancer.url}/presets`, { dispatcher: agent, headers })
      await answer.body.dump()
      return answer.statusCode
    }
    // keyless requests are limited per address: 3 a minute here
    t.same([await keyless(alice), await keyless(alice), await keyless(alice)], [401, 401, 401])
    t.equal(await keyless(alice), 429, 'alice used her 3')
    t.equal(await keyless(alice, { 'x-forwarded-for': '198.51.100.7' }), 429, 'a forwarded-for of her own choosing does not give her a fresh bucket')
    t.equal(await keyless(bob), 401, 'bob, from another address, has his own bucket')
    const keyed = await request(`${balancer.url}/presets`, { dispatcher: alice, headers: { authorization: `Bearer ${WEB}` } })
    t.equal(keyed.statusCode, 200, 'a key is limited by its own bucket, not the address')
    await keyed.body.dump()
  })

  t.test('/metrics is not served through the public entry, however the path is spelled; each replica still serves it', async (t) => {
    const fleet = await startFleet(t)
    const port = await freePort()
    const replica = await fleet.replica({ PORT: String(port) })
    const balancer = await startBalancer(t, [{ name: 'r0', port }])
    for (const path of ['/metrics', '/metrics?x=1', '//metrics', '/%6Detrics', '/METRICS', '/metrics/']) {
      const answer = await request(`${balancer.url}${path}`)
      await answer.body.dump()
      t.equal(answer.statusCode, 404, `${path} through the balancer`)
    }
    const direct = await request(`${replica.url}/metrics`)
    t.equal(direct.statusCode, 200, 'scraped on the replica itself')
    t.match(await direct.body.text(), /stylize_http_requests_total/)
    const health = await request(`${balancer.url}/healthz`)
    t.equal(health.statusCode, 200, 'the rest goes through')
    await health.body.dump()
  })
  t.test('Expect: 100-continue through the balancer: a refused curl uploads nothing, an admitted one is served', async (t) => {
    const emulator = await startEmulator(t)
    const proxy = await startProxy(t, { upstreamUrl: emulator.url })
    const balancer = await startBalancer(t, [{ name: 'r0', port: Number(new URL(proxy.url).port) }])
    const file = join(tempDir(), 'body.json')
    writeFileSync(file, JSON.stringify({ image_base64: (await photo(1200, 1600)).toString('base64') }))
    const curl = async (...headers: string[]): Promise<string> => (await promisify(execFile)('curl', [
      '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '-H', 'content-type: application/json', '-H', 'expect: 100-continue',
      ...headers.flatMap((header) => ['-H', header]), '--data-binary', `@${file}`, `${balancer.url}/stylize`
    ])).stdout
    t.equal(await curl(), '401 0', 'the refusal passed through before any of the body')
    t.match(await curl(`authorization: Bearer ${WEB}`), /^200 [1-9]\d+$/)
    t.equal(emulator.app.emulatorStats.calls, 1)
  })
}
