// Admission of image work. Past what the cores can prepare, every photo admitted would be read, held and
// queued in sharp's threadpool with no bound, so latency and memory would grow with the arrival rate. At
// most IMAGE_WORK_MAX requests of the routes that stylize may read and prepare a photo (or download one) at
// once; past it a request is refused 503 OVERLOADED with a Retry-After from the measured preparation time,
// before its body is read. The slot is freed as soon as the upstream payload is built, or the request ends.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OverloadedError, withRetryAfter } from '../errors.js'
import { ServiceTime } from '../upstream/service-time.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route reads and prepares a photo: it needs one of IMAGE_WORK_MAX slots */
    imageWork?: boolean
  }
  interface FastifyRequest {
    /** frees this request's image-work slot (safe to call more than once) */
    imageWorkDone: () => void
  }
}

export class ImageAdmission {
  readonly #max: number
  #inUse = 0
  /** how long a slot is held, photo read and prepared (a moving average) */
  readonly #holdTime = new ServiceTime(250)
  #refused = 0

  constructor (max: number) {
    this.#max = max
  }

  get inUse (): number {
    return this.#inUse
  }

  get refused (): number {
    return this.#refused
  }

  /** A slot's release function, or undefined when all are taken. */
  tryEnter (): (() => void) | undefined {
    if (this.#inUse >= this.#max) {
      this.#refused++
      return undefined
    }
    this.#inUse++
    const started = performance.now()
    let released = false
    return () => {
      if (released) return
      released = true
      this.#inUse--
      this.#holdTime.record(performance.now() - started)
    }
  }

  /** When a slot will likely be free: every slot turns over in about one hold time. */
  retryAfterMs (): number {
    return this.#holdTime.ms
  }
}

const NOTHING_HELD = (): void => {}

export function registerImageAdmission (app: FastifyInstance, admission: ImageAdmission): void {
  app.decorateRequest('imageWorkDone', NOTHING_HELD)
  // preParsing: after the key and the rate limit, before a byte of the body is read
  app.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.imageWork !== true) return
    const release = admission.tryEnter()
    if (release === undefined) {
      throw withRetryAfter(new OverloadedError('too many photos are being prepared right now, retry later'), admission.retryAfterMs() / 1000)
    }
    request.imageWorkDone = release
    // the response's socket closes once, whatever happened: answered, or its client gone at any point
    // (onResponse does not run for an answer written to a closed socket, nor onRequestAbort once the body was in)
    reply.raw.once('close', release)
  })
}
