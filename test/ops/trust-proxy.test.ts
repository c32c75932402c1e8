// TRUST_PROXY as a hop count (the compose file's 1): the client's address is the one the last proxy saw,
// so keyless clients behind a load balancer get a bucket each instead of sharing the balancer's.
import { test } from 'tap'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('TRUST_PROXY=1: per-address limits follow the address the balancer forwarded, not the balancer', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { TRUST_PROXY: '1', RATE_LIMIT_MAX: '2' } })
  const from = async (forwardedFor: string): Promise<number> =>
    (await proxy.app.inject({ url: '/presets', headers: { 'x-forwarded-for': forwardedFor } })).statusCode
  // each keyless guess is a 401; the third from one address within the window is a 429
  t.same([await from('203.0.113.1'), await from('203.0.113.1'), await from('203.0.113.1')], [401, 401, 429])
  t.equal(await from('203.0.113.2'), 401, 'another client behind the same balancer has its own bucket')
  t.equal(await from('198.51.100.9, 203.0.113.3'), 401, 'one hop trusted: the balancer\'s own peer, not what the client wrote')
  t.equal(await from('198.51.100.9, 203.0.113.3'), 401)
  t.equal(await from('203.0.113.3'), 429, 'the same forwarded address, whatever the client claimed before it')
})
