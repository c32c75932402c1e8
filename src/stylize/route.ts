// POST /stylize: place in line -> body -> policy -> image -> preset merge -> upstream -> reply.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config-types.js'
import { ContentRejectedError, InternalError } from '../errors.js'
import { isPlainBase64, jsonWithBase64 } from '../json-with-base64.js'
import type { ClientKey } from '../keys/store.js'
import { mimeTypeOfBase64 } from '../image/sniff.js'
import type { StoredResult } from '../limits/idempotency-entry.js'
import { readIdempotencyKey } from '../limits/idempotency-key.js'
import type { Idempotency } from '../limits/idempotency.js'
import type { DailyQuota } from '../limits/quota.js'
import { UpstreamCallError, type UpstreamResult } from '../upstream/response.js'
import { isContentRefusal, toClientError } from '../upstream/outcome.js'
import type { UpstreamCaller } from '../upstream/caller.js'
import type { Reservation } from '../upstream/gate.js'
import { UpstreamUnavailable } from '../upstream/unavailable.js'
import { linkExpiresAt } from '../upstream/result-url.js'
import { wantsImageBytes } from './accept.js'
import { clientGoneSignal } from './client-gone.js'
import { readStylizeCall, upstreamBody } from './call.js'
import { jsonBodyLimit } from './input.js'
import { registerJsonBodyParser } from './json-body.js'
import type { Preset } from './presets.js'

export interface StylizeRouteOptions {
  config: Config
  presets: () => Record<string, Preset>
  /** the upstream queue: this replica's, or the fleet's (upstream/fleet-queue.ts) */
  upstream: Pick<UpstreamCaller, 'reserve' | 'call'>
  quota: DailyQuota
  idempotency: Idempotency
}

/** A replayed link must still work for a while after it is handed out. */
const LINK_MARGIN_MS = 10 * 60_000

/** The attempts a call sent (wherever its worker ran), for the log line and the key's usage. */
function countAttempts (context: FastifyRequest['completion'], attempts: number): void {
  context.upstreamAttempts = attempts
  context.retries = Math.max(0, attempts - 1)
}

/** What a success is, as kept for Idempotency-Key retries (never the client's input image). */
function stylizedResult (result: UpstreamResult, preset: string, returnUrl: boolean): StoredResult {
  const common = { outcome: 'stylized' as const, preset, upstreamRequestId: result.upstreamRequestId ?? null }
  if (returnUrl && result.imageUrl !== undefined) return { ...common, imageUrl: result.imageUrl }
  if (result.imageBase64 === undefined) throw toClientError(new UpstreamCallError({ kind: 'malformed', code: 'no_image_bytes', bodySent: true }))
  return { ...common, mimeType: mimeTypeOfBase64(result.imageBase64), imageBase64: result.imageBase64 }
}

/** The answer for a result, fresh or replayed, rendered for this request's own Accept. */
function sendResult (request: FastifyRequest, reply: FastifyReply, result: StoredResult, replayed: boolean): unknown {
  if (replayed) {
    void reply.header('idempotent-replayed', 'true')
    request.completion.replayed = true
  }
  // POST /jobs keeps its own kind of result under a scope of its own: never found here
  if (result.outcome === 'job') throw new InternalError('internal error')
  if (result.outcome === 'content-rejected') {
    throw new ContentRejectedError('the image or prompt was refused by the content checks of the stylization service')
  }
  if (result.upstreamRequestId !== null) void reply.header('x-upstream-request-id', result.upstreamRequestId)
  const common = { request_id: request.id, upstream_request_id: result.upstreamRequestId, preset: result.preset }
  if (result.imageUrl !== undefined) return { ...common, image_url: result.imageUrl }
  const imageBase64 = result.imageBase64 as string
  const mimeType = result.mimeType as string
  request.completion.bytesOut = Buffer.byteLength(imageBase64, 'base64')
  if (wantsImageBytes(request.headers.accept)) return reply.type(mimeType).send(Buffer.from(imageBase64, 'base64'))
  // the upstream's string is copied in as it is only when it is plain base64; else JSON.stringify escapes it
  if (!isPlainBase64(imageBase64)) return { ...common, mime_type: mimeType, image_base64: imageBase64 }
  return reply.type('application/json; charset=utf-8').send(jsonWithBase64({ ...common, mime_type: mimeType }, 'image_base64', imageBase64))
}

export async function stylizeRoutes (app: FastifyInstance, options: StylizeRouteOptions): Promise<void> {
  const { config, upstream } = options
  // Only JSON and multipart bodies: fastify's default text/plain parser would let other bodies in.
  app.removeContentTypeParser('text/plain')
  registerJsonBodyParser(app)

  // A request that cannot reach the upstream now is refused before its body is read (unless it may be the
  // replay of a kept result, which needs no upstream); one that can is given its place in line now, held
  // while it reads and prepares its photo and given back when its call takes it, or when it ends first.
  const places = new WeakMap<FastifyRequest, Reservation>()
  const takePlace = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (readIdempotencyKey(request.headers) !== undefined) return
    const admission = upstream.reserve()
    if (admission instanceof UpstreamUnavailable) throw toClientError(admission)
    places.set(request, admission)
    reply.raw.once('close', admission.release)
  }

  app.post('/stylize', {
    bodyLimit: jsonBodyLimit(config.maxUploadBytes),
    config: { requiresKey: true, countsUsage: true, imageWork: true },
    // after the key, its rate limit and image admission (app-wide preParsing hooks), before the body
    preParsing: takePlace
  }, async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.clientKey as ClientKey
    const context = request.completion
    const idempotencyKey = readIdempotencyKey(request.headers)
    const call = await readStylizeCall(request, { config, presets: options.presets() })
    // Idempotency-Key (limits/idempotency.ts), before any paid work: a kept result answers at once;
    // otherwise this request runs under a claim, which frees the key if the handler ends without a result.
    const started = idempotencyKey === undefined
      ? undefined
      : await options.idempotency.begin(key.id, idempotencyKey, call.fingerprint())
    if (started?.kind === 'replay') return sendResult(request, reply, started.result, true)
    await using claim = started?.claim

    // a client that leaves stops its image download; a paid call, once started, is not cancelled
    const clientGone = clientGoneSignal(request, reply)
    const body = await upstreamBody(request, call, config, clientGone)

    // One call of the key's daily quota (limits/quota.ts), given back if the handler ends without a result.
    await using reservation = await options.quota.reserve(key)
    let result
    try {
      result = await upstream.call(body, {
        reservation: places.get(request),
        signal: clientGone,
        clientSeed: call.parameters.seed,
        log: request.log
      })
    } catch (error) {
      if (error instanceof UpstreamCallError || error instanceof UpstreamUnavailable) countAttempts(context, error.attempts)
      if (error instanceof UpstreamUnavailable) {
        if (error.reason === 'cancelled') context.clientLeft = true
        request.log.warn({ upstream: { notCalled: error.reason } }, 'upstream not called')
        throw toClientError(error)
      }
      if (!(error instanceof UpstreamCallError)) throw error
      context.upstreamCode = error.upstreamCode
      context.upstreamRequestId = error.upstreamRequestId
      context.upstreamMs = error.ms
      request.log.warn({
        upstream: { kind: error.kind, code: error.upstreamCode, status: error.httpStatus, message: error.upstreamMessage, requestId: error.upstreamRequestId }
      }, 'upstream call failed')
      if (isContentRefusal(error)) await claim?.complete({ outcome: 'content-rejected' })
      throw toClientError(error)
    }
    countAttempts(context, result.attempts ?? 1)
    context.upstreamCode = '10000'
    context.upstreamRequestId = result.upstreamRequestId
    context.upstreamMs = Math.round(result.ms)

    const stylized = stylizedResult(result, call.presetName, call.returnUrl)
    reservation?.keep()
    // kept even when the client has gone meanwhile: its retry gets this result without paying again;
    // an upstream link only while it has a while to live, so that a replay never hands out a dead one
    const link = 'imageUrl' in stylized ? stylized.imageUrl : undefined
    await claim?.complete(stylized, link === undefined ? undefined : linkExpiresAt(link) - Date.now() - LINK_MARGIN_MS)
    return sendResult(request, reply, stylized, false)
  })
}
