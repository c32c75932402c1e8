// Parsers for the configuration values that are more than a number or an enum. Each throws an Error whose
// message completes "<VARIABLE> ..." in one line; config.ts adds the name. Pure: no I/O.
import { isIP } from 'node:net'

/** Comma list, entries trimmed, empty entries dropped. */
export function commaList (value: string): string[] {
  return value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
}

export function parseHttpUrl (value: string): string {
  const url = tryUrl(value.trim())
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' ||
    url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new Error('must be an http(s) URL without credentials, query or fragment, such as https://visual.volcengineapi.com')
  }
  return value.trim()
}

/** The URL may hold a password: the message never repeats it. */
export function parseRedisUrl (value: string): string {
  const url = tryUrl(value.trim())
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
    throw new Error('must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379')
  }
  return value.trim()
}

// A hostname label run, or an IPv6 address in brackets, then an optional port.
const HOST_AND_PORT = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::(\d{1,5}))?$/

/** `host` or `host:port` entries, lowercased (hostnames are case-insensitive). */
export function parseAllowHosts (value: string): string[] {
  return commaList(value).map((entry) => {
    const host = entry.toLowerCase()
    const match = HOST_AND_PORT.exec(host)
    if (match === null || (match[1] !== undefined && Number(match[1]) > 65535)) {
      throw new Error(`entry "${entry}" must be host or host:port (IPv6 in brackets, such as [::1]:8080)`)
    }
    return host
  })
}

/** `*` or browser origins (`scheme://host[:port]`), normalised as browsers send them. */
export function parseCorsOrigins (value: string): string[] {
  return commaList(value).map((entry) => {
    if (entry === '*') return entry
    const url = tryUrl(entry)
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' ||
      url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new Error(`entry "${entry}" must be * or an origin such as https://app.example.com (no path)`)
    }
    return url.origin
  })
}

/** proxy-addr's names for address ranges, accepted by fastify's trustProxy. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** fastify's trustProxy forms: true/false, a number of hops, or a comma list of addresses and CIDRs. */
export function parseTrustProxy (value: string): boolean | number | string {
  const trimmed = value.trim()
  if (/^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === 'true'
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed)
    if (hops > 1000) throw new Error('must be true, false, a number of hops (0 to 1000), or a comma list of addresses/CIDRs')
    return hops
  }
  const entries = commaList(trimmed)
  if (entries.length === 0) throw new Error('must be true, false, a number of hops, or a comma list of addresses/CIDRs')
  for (const entry of entries) {
    if (!isAddressOrRange(entry)) {
      throw new Error(`entry "${entry}" must be an IP address, a CIDR (10.0.0.0/8), or loopback/linklocal/uniquelocal; ` +
        'the whole value may also be true, false or a number of hops')
    }
  }
  return entries.join(',')
}

function isAddressOrRange (entry: string): boolean {
  if (RANGE_NAMES.has(entry) || isIP(entry) !== 0) return true
  const slash = entry.indexOf('/')
  if (slash < 0) return false
  const address = entry.slice(0, slash)
  const suffix = entry.slice(slash + 1)
  const family = isIP(address)
  if (family === 0) return false
  if (/^\d{1,3}$/.test(suffix)) return Number(suffix) <= (family === 4 ? 32 : 128)
  // proxy-addr also takes an IPv4 netmask: 10.0.0.0/255.0.0.0
  return family === 4 && isIP(suffix) === 4
}

function tryUrl (value: string): URL | undefined {
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}
