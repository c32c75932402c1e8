// The guarded download of a client's image_url (`fetch` mode): policy-checked on every hop, refused at
// connect time when a name resolves to a non-public address, bounded by one deadline and a byte limit.
import type { LookupFunction } from 'node:net'
import type { Readable } from 'node:stream'
import { Agent, request, type buildConnector } from 'undici'
import { ImageFetchFailedError, ImageUrlRejectedError, PayloadTooLargeError } from '../errors.js'
import { FORBIDDEN_ADDRESS_CODE, defaultLookup, guardedConnector } from './connect-guard.js'
import { checkImageUrl } from './url-policy.js'

export interface FetchImageOptions {
  /** the whole download: connect, headers and body, across all redirects */
  timeoutMs: number
  maxBytes: number
  /** `host` or `host:port` entries exempt from the address policy */
  allowHosts: string[]
  /** default 3 */
  maxRedirects?: number
  /** resolver with dns.lookup's signature (tests map names with it); default dns.lookup */
  lookup?: LookupFunction
  signal?: AbortSignal
}

export interface FetchedImage {
  bytes: Buffer
  /** the final URL, after redirects, without fragment */
  url: string
  contentType: string | undefined
}

const DEFAULT_MAX_REDIRECTS = 3
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const REQUEST_HEADERS = {
  accept: 'image/jpeg, image/png, image/webp, */*;q=0.5',
  'user-agent': 'stylize-proxy-image-fetch'
}
const CONTRACT_CODES = new Set(['IMAGE_URL_REJECTED', 'IMAGE_FETCH_FAILED', 'PAYLOAD_TOO_LARGE'])

// undici 7 keeps a pending connect alive past an abort, and reconnects after an aborted request, leaving an
// idle socket: so each download gets its own Agent, destroyed when it ends, over a connector (the guard and
// the TLS session cache) made once per (resolver, allow list). Connections are not reused anyway (reset).
let connectors = new WeakMap<LookupFunction, Map<string, buildConnector.connector>>()
const downloads = new Set<Agent>()

export async function fetchImage (rawUrl: string, options: FetchImageOptions): Promise<FetchedImage> {
  let url = checkImageUrl(rawUrl, options)
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS
  const dispatcher = new Agent({ connect: connectorFor(options.allowHosts, options.lookup ?? defaultLookup) })
  downloads.add(dispatcher)
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs)
  const signal = options.signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, options.signal])
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await untilAborted(request(url, { dispatcher, method: 'GET', headers: REQUEST_HEADERS, signal, reset: true }), signal)
      const { statusCode, headers, body } = response
      if (REDIRECT_STATUSES.has(statusCode)) {
        discard(body)
        if (redirects >= maxRedirects) throw new ImageFetchFailedError(`image_url redirected more than ${maxRedirects} times`)
        url = nextHop(url, firstHeader(headers.location), options.allowHosts)
        continue
      }
      if (statusCode < 200 || statusCode > 299) {
        discard(body)
        throw new ImageFetchFailedError(`${url.hostname} answered HTTP ${statusCode}`)
      }
      const declared = Number(firstHeader(headers['content-length']) ?? Number.NaN)
      if (declared > options.maxBytes) {
        discard(body)
        throw tooLarge(options.maxBytes)
      }
      const bytes = await untilAborted(readLimited(body, options.maxBytes), signal)
      if (bytes.length === 0) throw new ImageFetchFailedError(`${url.hostname} answered an empty body`)
      return { bytes, url: url.href, contentType: firstHeader(headers['content-type']) }
    }
  } catch (error) {
    throw toContractError(error, url, { timedOut: deadline.signal.aborted, cancelled: options.signal?.aborted === true, timeoutMs: options.timeoutMs })
  } finally {
    clearTimeout(timer)
    downloads.delete(dispatcher)
    await dispatcher.destroy()
  }
}

/** Ends every download still running and forgets the connectors (shutdown, tests). */
export async function closeImageFetchAgents (): Promise<void> {
  const running = [...downloads]
  downloads.clear()
  connectors = new WeakMap()
  await Promise.all(running.map(async (agent) => await agent.destroy()))
}

function connectorFor (allowHosts: readonly string[], lookup: LookupFunction): buildConnector.connector {
  const key = allowHosts.map((entry) => entry.trim().toLowerCase()).sort().join(',')
  let byHosts = connectors.get(lookup)
  if (byHosts === undefined) {
    byHosts = new Map()
    connectors.set(lookup, byHosts)
  }
  let connector = byHosts.get(key)
  if (connector === undefined) {
    connector = guardedConnector([...allowHosts], lookup)
    byHosts.set(key, connector)
  }
  return connector
}

/** Rejects as soon as the signal aborts: undici only notices an abort once a pending connect ends. */
async function untilAborted<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {}) // its failure after an abort is of no interest
  if (signal.aborted) throw signal.reason
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

function nextHop (from: URL, location: string | undefined, allowHosts: string[]): URL {
  if (location === undefined || location === '') throw new ImageFetchFailedError(`${from.hostname} redirected without a Location`)
  let target: string
  try {
    target = new URL(location, from).href
  } catch {
    throw new ImageUrlRejectedError(`${from.hostname} redirected to an invalid URL`)
  }
  return checkImageUrl(target, { allowHosts })
}

/** Reads a body into one Buffer, giving up as soon as it grows past maxBytes. */
async function readLimited (body: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    const piece = chunk as Buffer
    total += piece.length
    if (total > maxBytes) {
      discard(body)
      throw tooLarge(maxBytes)
    }
    chunks.push(piece)
  }
  return Buffer.concat(chunks, total)
}

/** Drops a body we will not read; undici reports that as an error nobody needs to hear. */
function discard (body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

function tooLarge (maxBytes: number): Error {
  return new PayloadTooLargeError(`the image at image_url is larger than ${maxBytes} bytes`)
}

function firstHeader (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Maps whatever a download threw onto the contract's errors; messages name the host, never an address. */
function toContractError (error: unknown, url: URL, state: { timedOut: boolean, cancelled: boolean, timeoutMs: number }): Error {
  if (isContractError(error)) return error
  const host = url.hostname
  const cause = { cause: error }
  if (state.timedOut) return Object.assign(new ImageFetchFailedError(`${host} did not deliver the image within ${state.timeoutMs} ms`), cause)
  if (hasCode(error, FORBIDDEN_ADDRESS_CODE)) {
    return Object.assign(new ImageUrlRejectedError(`image_url host ${host} resolves to a non-public address`), cause)
  }
  if (state.cancelled) return Object.assign(new ImageFetchFailedError('the image download was cancelled'), cause)
  if (hasCode(error, 'ENOTFOUND') || hasCode(error, 'EAI_AGAIN')) {
    return Object.assign(new ImageFetchFailedError(`could not resolve ${host}`), cause)
  }
  return Object.assign(new ImageFetchFailedError(`could not download the image from ${host}`), cause)
}

function isContractError (error: unknown): error is Error {
  return error instanceof Error && CONTRACT_CODES.has((error as { code?: string }).code ?? '')
}

/** True when error, or an error in its cause chain, carries this code. */
function hasCode (error: unknown, code: string): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if ((current as { code?: unknown }).code === code) return true
  }
  return false
}
