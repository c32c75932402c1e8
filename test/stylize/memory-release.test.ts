// What a request holds through its upstream wait: neither the uploaded photo nor its base64 (only the
// prepared payload). Checked with weak references and a forced collection, for multipart and JSON bodies.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import Fastify from 'fastify'
import multipart from '@fastify/multipart'
import { FormData, request } from 'undici'
import { readStylizeInput } from '../../src/stylize/input.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** A route that reads the input as /stylize does, drops its own reference, and says whether the bytes survived. */
async function survivor (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const app = Fastify({ bodyLimit: 50_000_000 })
  await app.register(multipart, { throwFileSizeLimit: true })
  app.post('/read', async (req) => {
    let input: Awaited<ReturnType<typeof readStylizeInput>> | undefined = await readStylizeInput(req, { maxUploadBytes: 20_000_000 })
    const bytes = new WeakRef((input.image as { bytes: Buffer }).bytes)
    input = undefined
    for (let i = 0; i < 3; i++) {
      await sleep(20)
      gc()
    }
    return { alive: bytes.deref() !== undefined }
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => { await app.close() })
  return url
}

test('an uploaded photo is not kept reachable by the request once the route lets it go', async (t) => {
  const url = await survivor(t)
  const form = new FormData()
  form.append('image', new Blob([Buffer.alloc(3_000_000, 1)]), 'photo.jpg')
  const answer = await request(`${url}/read`, { method: 'POST', body: form })
  t.same(await answer.body.json(), { alive: false }, 'multipart')
})

test('nor a JSON body\'s base64 photo', async (t) => {
  const url = await survivor(t)
  const answer = await request(`${url}/read`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image_base64: Buffer.alloc(3_000_000, 1).toString('base64') })
  })
  t.same(await answer.body.json(), { alive: false }, 'JSON')
})
