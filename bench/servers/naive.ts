// The baseline for "added latency" when photos arrive (issue 14): a naive signing proxy that takes the same
// JSON body, sends its base64 to CVProcess as it is (no image check, no resizing, no keys or limits), signed
// with the proxy's own client, and answers the result's base64 as JSON.
import Fastify from 'fastify'
import { EMULATOR_AK, EMULATOR_SK } from '../../test/fixtures/harness.js'
import { REQ_KEY } from '../../src/stylize/presets.js'
import { UpstreamClient } from '../../src/upstream/client.js'

const upstream = new UpstreamClient({
  url: process.env.UPSTREAM_URL as string,
  region: 'cn-north-1',
  service: 'cv',
  timeoutMs: 600_000,
  connections: 10_000,
  credentials: () => ({ accessKeyId: EMULATOR_AK, secretAccessKey: EMULATOR_SK })
})
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 })
app.get('/healthz', async () => ({ status: 'ok' }))
app.post('/stylize', async (request) => {
  const { image_base64: image } = request.body as { image_base64: string }
  const result = await upstream.process({ req_key: REQ_KEY, binary_data_base64: [image] })
  return { image_base64: result.imageBase64 }
})
await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' })
process.on('SIGTERM', () => { void app.close().then(async () => { await upstream.close() }).then(() => process.exit(0)) })
