// Static checks of a client's image_url: what can be judged from the URL text alone, before any lookup.
// Used as-is by `passthrough` mode, and again on every hop by fetch.ts.
import { ImageUrlRejectedError } from '../errors.js'
import { bareAddress, forbiddenAddressReason, isIpLiteral } from './address.js'

export const MAX_IMAGE_URL_LENGTH = 2048

export interface ImageUrlPolicy {
  /** `host` or `host:port` entries exempt from the address policy (IMAGE_FETCH_ALLOW_HOSTS) */
  allowHosts: string[]
  /** the field named in refusals (default image_url; webhooks use the same policy) */
  field?: string
}

// Names that never lead to the public Internet: RFC 6761 localhost, mDNS (.local), home networks, ICANN's .internal.
const PRIVATE_NAME_SUFFIXES = ['localhost', 'local', 'home.arpa', 'internal']

/** Parses and checks an image URL; returns it without its fragment, or throws ImageUrlRejectedError. */
export function checkImageUrl (raw: string, options: ImageUrlPolicy): URL {
  const field = options.field ?? 'image_url'
  if (typeof raw !== 'string' || raw.trim() === '') throw reject(`${field} must be a non-empty string`)
  if (raw.length > MAX_IMAGE_URL_LENGTH) throw reject(`${field} is longer than ${MAX_IMAGE_URL_LENGTH} characters`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw reject(`${field} is not a valid absolute URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw reject(`${field} must use http or https`)
  if (url.username !== '' || url.password !== '') throw reject(`${field} must not carry credentials`)
  // The fragment never reaches a server; dropping it keeps it out of logs and of the upstream call.
  url.hash = ''

  const host = hostName(url.hostname)
  if (host === '') throw reject(`${field} has no host`)
  if (isHostAllowed(url.hostname, effectivePort(url), options.allowHosts)) return url
  if (isIpLiteral(host)) {
    const reason = forbiddenAddressReason(host)
    if (reason !== undefined) throw reject(`${field} points to a non-public address (${reason})`)
    return url
  }
  if (isPrivateName(host)) throw reject(`${field} host ${host} is not a public name`)
  return url
}

/** True when `hostname` (as in a URL, brackets or not) at `port` matches a `host` or `host:port` entry. */
export function isHostAllowed (hostname: string, port: number, allowHosts: readonly string[]): boolean {
  if (allowHosts.length === 0) return false
  const host = hostName(hostname)
  return allowHosts.some((entry) => {
    const allowed = parseAllowEntry(entry)
    return allowed !== undefined && allowed.host === host && (allowed.port === undefined || allowed.port === port)
  })
}

/** The URL's port, or its scheme's default. */
export function effectivePort (url: URL): number {
  if (url.port !== '') return Number(url.port)
  return url.protocol === 'https:' ? 443 : 80
}

/** A comparable host: lower case, no trailing dots, IPv6 without brackets or zone. */
function hostName (hostname: string): string {
  const host = hostname.toLowerCase().replace(/\.+$/, '')
  return isIpLiteral(host) ? bareAddress(host) : host
}

function isPrivateName (host: string): boolean {
  // A single label (`metadata`, `redis`) only resolves through local search domains.
  if (!host.includes('.')) return true
  return PRIVATE_NAME_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))
}

/**
 * One IMAGE_FETCH_ALLOW_HOSTS entry: `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
 * The host is normalised the way a URL's is, so `0x7f.1` or `LOCALHOST.` compare as the URL would.
 */
function parseAllowEntry (entry: string): { host: string, port: number | undefined } | undefined {
  let host = entry.trim().toLowerCase()
  let port: number | undefined
  const withPort = /^(.*):(\d{1,5})$/.exec(host)
  if (withPort !== null && (withPort[1]?.startsWith('[') === true || withPort[1]?.includes(':') === false)) {
    host = withPort[1] ?? ''
    port = Number(withPort[2])
  }
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`
  try {
    return { host: hostName(new URL(`http://${host}/`).hostname), port }
  } catch {
    return undefined
  }
}

function reject (message: string): Error {
  return new ImageUrlRejectedError(message)
}
