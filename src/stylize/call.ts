// The steps POST /stylize and POST /jobs share, in request order: read the body, check the key's policy,
// merge the preset, then (after the Idempotency-Key check) turn the image into the upstream body.
import type { FastifyRequest } from 'fastify'
import type { Config } from '../config-types.js'
import { ForbiddenError, InvalidRequestError } from '../errors.js'
import { allowsPreset } from '../keys/policy.js'
import type { ClientKey } from '../keys/store.js'
import { requestFingerprint } from '../limits/idempotency-fingerprint.js'
import { upstreamImageField } from './image-field.js'
import { readStylizeInput, type ImageSource } from './input.js'
import { DEFAULT_PRESET, upstreamParameters, type Preset } from './presets.js'
import { StylizeFieldsSchema, type StylizeFields } from './schema.js'

/** One stylization as the client asked for it, checked against its key's policy. */
export interface StylizeCall {
  presetName: string
  returnUrl: boolean
  parameters: ReturnType<typeof upstreamParameters>
  /** the photo: its bytes are let go (`released`) once the upstream payload is built */
  image: ImageSource | { kind: 'released' }
  /** what an Idempotency-Key compares */
  fingerprint: () => string
  /** fields beyond /stylize's own (POST /jobs: webhook_url) */
  extra: Record<string, unknown>
}

/** Checks the key's policy for the chosen preset and prompt; 400 for an unknown preset, 403 for a refused one. */
function authorise (key: ClientKey, presetName: string, presets: Record<string, Preset>, wantsPrompt: boolean): Preset {
  // own properties only: "constructor" or "__proto__" must not resolve to Object.prototype's members
  const preset = Object.hasOwn(presets, presetName) ? presets[presetName] : undefined
  if (preset === undefined) throw new InvalidRequestError(`unknown preset "${presetName}"`)
  if (!allowsPreset(key, presetName)) throw new ForbiddenError(`preset "${presetName}" is not allowed for this key`)
  if (wantsPrompt && !key.allowPrompt) throw new ForbiddenError('this key may not send its own prompt')
  return preset
}

/** /stylize's own fields (the image sources aside): anything else a route's schema adds is `extra`. */
const STYLIZE_FIELDS = new Set(Object.keys(StylizeFieldsSchema.properties))

export async function readStylizeCall (
  request: FastifyRequest,
  options: { config: Config, presets: Record<string, Preset>, extraFields?: Parameters<typeof readStylizeInput>[2] }
): Promise<StylizeCall> {
  const key = request.clientKey as ClientKey
  const input = await readStylizeInput(request, { maxUploadBytes: options.config.maxUploadBytes }, options.extraFields)
  const extra: Record<string, unknown> = {}
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(input.fields)) (STYLIZE_FIELDS.has(name) ? fields : extra)[name] = value
  const { preset: presetName = DEFAULT_PRESET, return_url: returnUrl, ...overrides } = fields as Omit<StylizeFields, 'image_url' | 'image_base64'>
  request.completion.preset = presetName
  const preset = authorise(key, presetName, options.presets, overrides.prompt !== undefined)
  const parameters = upstreamParameters(preset, overrides)
  if (input.image.kind === 'bytes') request.completion.bytesIn = input.image.bytes.length
  const call: StylizeCall = {
    presetName,
    returnUrl: returnUrl === true,
    parameters,
    image: input.image,
    // computed before the payload is built (the Idempotency-Key check), while the photo is still held
    fingerprint: () => {
      if (call.image.kind === 'released') throw new Error('the fingerprint is taken before the photo is let go')
      return requestFingerprint(call.image, { preset: presetName, parameters, return_url: returnUrl === true, ...extra })
    },
    extra
  }
  return call
}

/** The CVProcess body for a call: the preset-merged parameters and the prepared image (or its checked URL). */
export async function upstreamBody (request: FastifyRequest, call: StylizeCall, config: Config, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (call.image.kind === 'released') throw new Error('the photo was let go already')
  let image
  try {
    image = await upstreamImageField(call.image, call.parameters.long_resolution ?? 704, config, signal)
  } finally {
    // the photo is read and prepared (or refused): its image-work slot goes to the next one, and its bytes
    // are not held through the upstream wait (the payload holds the prepared base64 alone)
    request.imageWorkDone()
    call.image = { kind: 'released' }
  }
  const { prepared, ...imageField } = image
  if (prepared !== undefined) {
    request.completion.bytesIn = prepared.inputBytes
    request.completion.bytesUp = prepared.data.length
  }
  return { ...call.parameters, ...imageField, ...(call.returnUrl ? { return_url: true } : {}) }
}
