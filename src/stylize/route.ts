// POST /stylize: body -> policy -> image -> preset merge -> upstream -> reply.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config-types.js'
import { ForbiddenError, InvalidRequestError } from '../errors.js'
import { allowsPreset } from '../keys/policy.js'
import type { ClientKey } from '../keys/store.js'
import { sniffImage } from '../image/sniff.js'
import { UpstreamCallError } from '../upstream/response.js'
import { toClientError } from '../upstream/outcome.js'
import type { UpstreamClient } from '../upstream/client.js'
import { wantsImageBytes } from './accept.js'
import { upstreamImageField } from './image-field.js'
import { jsonBodyLimit, readStylizeInput } from './input.js'
import { DEFAULT_PRESET, upstreamParameters, type Preset } from './presets.js'

export interface StylizeRouteOptions {
  config: Config
  presets: () => Record<string, Preset>
  upstream: UpstreamClient
}

/** Checks the key's policy for the chosen preset and prompt; 400 for an unknown preset, 403 for a refused one. */
function authorise (key: ClientKey, presetName: string, presets: Record<string, Preset>, wantsPrompt: boolean): Preset {
  const preset = presets[presetName]
  if (preset === undefined) throw new InvalidRequestError(`unknown preset "${presetName}"`)
  if (!allowsPreset(key, presetName)) throw new ForbiddenError(`preset "${presetName}" is not allowed for this key`)
  if (wantsPrompt && !key.allowPrompt) throw new ForbiddenError('this key may not send its own prompt')
  return preset
}

function mimeTypeOf (bytes: Buffer): string {
  const sniffed = sniffImage(bytes)
  return sniffed.kind === 'supported' ? `image/${sniffed.format}` : 'application/octet-stream'
}

export async function stylizeRoutes (app: FastifyInstance, options: StylizeRouteOptions): Promise<void> {
  const { config, upstream } = options
  // Only JSON and multipart bodies: fastify's default text/plain parser would let other bodies in.
  app.removeContentTypeParser('text/plain')

  app.post('/stylize', {
    bodyLimit: jsonBodyLimit(config.maxUploadBytes),
    config: { requiresKey: true }
  }, async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.clientKey as ClientKey
    const context = request.completion
    const input = await readStylizeInput(request, { maxUploadBytes: config.maxUploadBytes })
    const { preset: presetName = DEFAULT_PRESET, return_url: returnUrl, ...overrides } = input.fields
    context.preset = presetName
    const preset = authorise(key, presetName, options.presets(), overrides.prompt !== undefined)
    const parameters = upstreamParameters(preset, overrides)
    if (input.image.kind === 'bytes') context.bytesIn = input.image.bytes.length

    const image = await upstreamImageField(input.image, parameters.long_resolution ?? 704, config)
    const { prepared, ...imageField } = image
    if (prepared !== undefined) {
      context.bytesIn = prepared.inputBytes
      context.bytesUp = prepared.data.length
    }
    const body = { ...parameters, ...imageField, ...(returnUrl === true ? { return_url: true } : {}) }

    let result
    try {
      result = await upstream.process(body)
    } catch (error) {
      if (!(error instanceof UpstreamCallError)) throw error
      context.upstreamCode = error.upstreamCode
      context.upstreamRequestId = error.upstreamRequestId
      context.upstreamMs = error.ms
      request.log.warn({
        upstream: { kind: error.kind, code: error.upstreamCode, status: error.httpStatus, message: error.upstreamMessage, requestId: error.upstreamRequestId }
      }, 'upstream call failed')
      throw toClientError(error)
    }
    context.upstreamCode = '10000'
    context.upstreamRequestId = result.upstreamRequestId
    context.upstreamMs = Math.round(result.ms)
    if (result.upstreamRequestId !== undefined) void reply.header('x-upstream-request-id', result.upstreamRequestId)

    const common = { request_id: request.id, upstream_request_id: result.upstreamRequestId ?? null, preset: presetName }
    if (returnUrl === true && result.imageUrl !== undefined) return { ...common, image_url: result.imageUrl }
    if (result.imageBase64 === undefined) throw toClientError(new UpstreamCallError({ kind: 'malformed', code: 'no_image_bytes', bodySent: true }))
    const bytes = Buffer.from(result.imageBase64, 'base64')
    const mimeType = mimeTypeOf(bytes)
    context.bytesOut = bytes.length
    if (wantsImageBytes(request.headers.accept)) return reply.type(mimeType).send(bytes)
    return { ...common, mime_type: mimeType, image_base64: result.imageBase64 }
  })
}
