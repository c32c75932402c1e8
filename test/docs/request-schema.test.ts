// The document's request schemas accept and refuse what the server accepts and refuses.
import { Ajv2020 } from 'ajv/dist/2020.js'
import { test } from 'tap'
import { FormData, request } from 'undici'
import { DEFAULT_KEYS, photo, startEmulator, startProxy } from '../fixtures/harness.js'
import { loadOpenApi } from './fixtures/openapi.js'

const PROMPT_KEY = DEFAULT_KEYS[1]!.key

function compile (name: string): (body: unknown) => boolean {
  const document = loadOpenApi()
  // strict off: OpenAPI's own keywords (format: binary) are annotations for a validator
  const ajv = new Ajv2020({ strict: false, validateFormats: false })
  ajv.addSchema({ $id: 'openapi.yaml', components: document.components }, 'openapi.yaml')
  const check = ajv.compile({ $ref: `openapi.yaml#/components/schemas/${name}` })
  return (body) => check(body)
}

test('JSON bodies: the server and the document agree on every sample', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { MAX_EVENT_LOOP_DELAY_MS: '0' } })
  const image = (await photo(900, 700)).toString('base64')
  const samples: Array<{ name: string, body: Record<string, unknown>, accepted: boolean }> = [
    { name: 'just an image', body: { image_base64: image }, accepted: true },
    {
      name: 'every field at its bounds',
      accepted: true,
      body: {
        image_base64: `data:image/jpeg;base64,${image}`,
        preset: 'angel-soft',
        prompt: 'a white marble statue',
        strength: 1,
        seed: 4294967295,
        scale: 30,
        ddim_steps: 1,
        lora_multipers: { Colorwater_v4: -10, Moxin_Shukezouma11: 10 },
        clip_skip: 3,
        canny_weight: 0,
        i2i_keep_texture: 0,
        long_resolution: 256,
        id_scale: 1,
        return_url: false,
        logo_info: { add_logo: true, position: 3, language: 1, opacity: 0 }
      }
    },
    { name: 'no image', body: { preset: 'angel' }, accepted: false },
    { name: 'two image sources', body: { image_base64: image, image_url: 'https://example.com/a.jpg' }, accepted: false },
    { name: 'req_key', body: { image_base64: image, req_key: 'other' }, accepted: false },
    { name: 'an unknown field', body: { image_base64: image, strenght: 0.5 }, accepted: false },
    { name: 'strength 0', body: { image_base64: image, strength: 0 }, accepted: false },
    { name: 'strength over 1', body: { image_base64: image, strength: 1.01 }, accepted: false },
    { name: 'seed below -1', body: { image_base64: image, seed: -2 }, accepted: false },
    { name: 'fractional ddim_steps', body: { image_base64: image, ddim_steps: 2.5 }, accepted: false },
    { name: 'a number as a string', body: { image_base64: image, scale: '8' }, accepted: false },
    { name: 'a boolean as a string', body: { image_base64: image, return_url: 'true' }, accepted: false },
    { name: 'i2i_keep_texture 2', body: { image_base64: image, i2i_keep_texture: 2 }, accepted: false },
    { name: 'long_resolution too small', body: { image_base64: image, long_resolution: 255 }, accepted: false },
    { name: 'a LoRA weight out of range', body: { image_base64: image, lora_multipers: { a: 10.5 } }, accepted: false },
    { name: 'an unknown logo_info field', body: { image_base64: image, logo_info: { add_logo: true, size: 2 } }, accepted: false },
    { name: 'an empty image_base64', body: { image_base64: '' }, accepted: false },
    { name: 'an image_url that is not a string', body: { image_url: 42 }, accepted: false }
  ]
  const check = compile('StylizeJsonBody')
  for (const sample of samples) {
    const response = await request(`${proxy.url}/stylize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROMPT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(sample.body)
    })
    const answer = await response.body.json() as { code?: string }
    t.equal(response.statusCode, sample.accepted ? 200 : 400, `server: ${sample.name} (${answer.code ?? 'ok'})`)
    t.equal(check(sample.body), sample.accepted, `document: ${sample.name}`)
  }
})

test('multipart bodies: the server and the document agree on every sample', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { MAX_EVENT_LOOP_DELAY_MS: '0' } })
  const image = await photo(900, 700)
  // As the document describes a multipart body: typed values, the file as a string of bytes.
  const samples: Array<{ name: string, fields: Record<string, unknown>, accepted: boolean }> = [
    { name: 'a file and fields', fields: { image: 'FILE', preset: 'angel-soft', strength: 0.7, lora_multipers: { Colorwater_v4: 0.2 }, return_url: false }, accepted: true },
    { name: 'no image', fields: { strength: 0.7 }, accepted: false },
    { name: 'a file and an image_url', fields: { image: 'FILE', image_url: 'https://example.com/a.jpg' }, accepted: false },
    { name: 'image_base64 in multipart', fields: { image: 'FILE', image_base64: 'aGVsbG8=' }, accepted: false },
    { name: 'an unknown field', fields: { image: 'FILE', colour: 'white' }, accepted: false },
    { name: 'a value out of range', fields: { image: 'FILE', ddim_steps: 51 }, accepted: false }
  ]
  const check = compile('StylizeMultipartBody')
  for (const sample of samples) {
    const form = new FormData()
    for (const [name, value] of Object.entries(sample.fields)) {
      if (name === 'image') form.append('image', new Blob([image], { type: 'image/jpeg' }), 'photo.jpg')
      else form.append(name, typeof value === 'object' ? JSON.stringify(value) : String(value))
    }
    const response = await request(`${proxy.url}/stylize`, {
      method: 'POST', headers: { 'x-api-key': PROMPT_KEY }, body: form
    })
    const answer = await response.body.json() as { code?: string }
    t.equal(response.statusCode, sample.accepted ? 200 : 400, `server: ${sample.name} (${answer.code ?? 'ok'})`)
    t.equal(check(sample.fields), sample.accepted, `document: ${sample.name}`)
  }
})
