// POST /?Action=CVProcess&Version=2022-08-31: gateway checks -> concurrency -> fault -> latency -> body -> image -> answer.
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BUSINESS_ERROR_FAULTS, GATEWAY_ERROR_FAULTS, MALFORMED_BODY, pickFault } from './faults.js'
import { GATEWAY_ERRORS, gatewayErrorBody, type GatewayFailure } from './gateway-errors.js'
import { checkImage, loadImageBytes } from './input-image.js'
import type { EmulatorOptions } from './options.js'
import type { ResultStore } from './result-store.js'
import { BUSINESS_ERRORS, BusinessError, businessErrorBody, newRequestId, successBody } from './responses.js'
import { stylizeImage } from './stylize.js'
import { validateBody } from './validate.js'
import { verifySignature } from './verify.js'

export const ACTION = 'CVProcess'
export const VERSION = '2022-08-31'
export const RESULTS_PATH = '/_emulator/results'

export interface EmulatorStats {
  /** signed, valid CVProcess calls received */
  calls: number
  inFlight: number
  maxInFlight: number
}

export interface CVProcessDeps {
  options: EmulatorOptions
  region: string
  service: string
  stats: EmulatorStats
  results: ResultStore
  /** sockets of calls that the `hang` fault never answers; destroyed when the emulator closes */
  hanging: Set<Socket>
}

function firstValue (value: unknown): string | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' && first !== '' ? first : undefined
}

export function cvProcessHandler (deps: CVProcessDeps) {
  const { options, stats } = deps

  return async function cvProcess (request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const startedAt = performance.now()
    const requestId = newRequestId()
    const query = request.query as Record<string, unknown>
    const action = firstValue(query.Action)
    const version = firstValue(query.Version)
    const context = { requestId, action: action ?? '', version: version ?? '', service: deps.service, region: deps.region }

    const refuse = (failure: GatewayFailure): FastifyReply => {
      request.log.info({ code: failure.code }, 'gateway refused the call')
      return reply.code(GATEWAY_ERRORS[failure.code].status).send(gatewayErrorBody(failure, context))
    }
    const answerError = (error: BusinessError): FastifyReply => {
      request.log.info({ code: error.code }, error.message)
      return reply.code(BUSINESS_ERRORS[error.code].status).send(businessErrorBody(error, requestId, startedAt))
    }

    if (action === undefined) return refuse({ code: 'MissingParameter', message: 'The request is missing Action parameter.' })
    if (version === undefined) return refuse({ code: 'MissingParameter', message: 'The request is missing Version parameter.' })
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const failure = verifySignature({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body,
      now: new Date(),
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      sessionToken: options.sessionToken,
      region: deps.region,
      service: deps.service
    })
    if (failure !== undefined) return refuse(failure)
    if (action !== ACTION || version !== VERSION) {
      return refuse({ code: 'InvalidActionOrVersion', message: `Could not find operation ${action} for version ${version}.` })
    }

    stats.calls++
    // The account's concurrency limit answers at once, without the latency.
    if (options.concurrency > 0 && stats.inFlight >= options.concurrency) return answerError(new BusinessError(50430))
    stats.inFlight++
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    reply.raw.once('close', () => { stats.inFlight-- })

    const fault = pickFault(options.faults)
    if (fault === 'hang') {
      reply.hijack()
      const socket = request.raw.socket
      deps.hanging.add(socket)
      socket.once('close', () => deps.hanging.delete(socket))
      request.log.info('fault: hang')
      return undefined
    }
    if (options.latencyMs > 0) await sleep(options.latencyMs)
    if (fault === 'reset') {
      reply.hijack()
      request.log.info('fault: reset')
      request.raw.socket.destroy()
      return undefined
    }
    if (fault === 'malformed') return reply.code(200).type('application/json').send(MALFORMED_BODY)
    const gatewayFault = fault === undefined ? undefined : GATEWAY_ERROR_FAULTS[fault]
    if (gatewayFault !== undefined) return refuse(gatewayFault)
    const faultCode = fault === undefined ? undefined : BUSINESS_ERROR_FAULTS[fault]
    if (faultCode !== undefined) return answerError(new BusinessError(faultCode, 'injected fault'))

    try {
      const params = validateBody(body)
      const input = await loadImageBytes(params.image)
      await checkImage(input)
      let output: Buffer
      try {
        output = await stylizeImage(input, { longResolution: params.longResolution, logo: params.logo })
      } catch {
        throw new BusinessError(50207, 'the image cannot be decoded')
      }
      if (params.returnUrl) {
        const { id, query } = deps.results.put(output)
        const url = `${request.protocol}://${request.host}${RESULTS_PATH}/${id}.jpeg?${query}`
        return reply.send(successBody({ url }, requestId, startedAt))
      }
      return reply.send(successBody({ base64: output.toString('base64') }, requestId, startedAt))
    } catch (error) {
      if (error instanceof BusinessError) return answerError(error)
      request.log.error({ err: error }, 'emulator failure')
      return answerError(new BusinessError(50500))
    }
  }
}
