// Against slow clients: the whole request within 120 s, its headers within 30 s; idle keep-alive bounded.
import { test } from 'tap'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('the HTTP server bounds slow clients', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const server = proxy.app.server
  t.equal(server.requestTimeout, 120_000)
  t.equal(server.headersTimeout, 30_000)
  t.ok(server.keepAliveTimeout > 0 && server.keepAliveTimeout <= 120_000, 'idle kept-alive sockets are closed')
})
