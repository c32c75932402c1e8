// The SSRF guard at connect time: the addresses a socket is about to use are the ones checked,
// so a name that resolves differently on a second lookup (DNS rebinding) cannot slip through.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { buildConnector } from 'undici'
import { forbiddenAddressReason, isIpLiteral } from './address.js'
import { isHostAllowed } from './url-policy.js'

export const FORBIDDEN_ADDRESS_CODE = 'ERR_IMAGE_FORBIDDEN_ADDRESS'

/** A connect refused by the address policy. The message names the host, never the address. */
export class ForbiddenAddressError extends Error {
  readonly code = FORBIDDEN_ADDRESS_CODE
  constructor (readonly hostname: string, readonly reason: string) {
    super(`${hostname} resolves to a non-public address`)
    this.name = 'ForbiddenAddressError'
  }
}

export const defaultLookup = dnsLookup as LookupFunction

/**
 * Wraps a resolver (dns.lookup's signature) so that every address it returns is checked, and the
 * whole answer refused when any one is forbidden. Always resolves with `all: true`, then answers
 * in the form the caller asked for (Node 20's autoSelectFamily asks for all).
 */
export function guardLookup (resolve: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, result, family) => {
      if (error !== null) return callback(error, '', 0)
      const addresses: LookupAddress[] = typeof result === 'string' ? [{ address: result, family: family ?? 0 }] : result
      const first = addresses[0]
      if (first === undefined) return callback(notFound(hostname), '', 0)
      for (const { address } of addresses) {
        const reason = forbiddenAddressReason(address)
        if (reason !== undefined) return callback(new ForbiddenAddressError(hostname, reason), '', 0)
      }
      if (options.all === true) return callback(null, addresses)
      callback(null, first.address, first.family)
    })
  }
}

/**
 * An undici connector that refuses forbidden literal addresses and connects to names through the
 * guarded lookup, except for `host` / `host:port` in allowHosts (compared with the connect's port).
 */
export function guardedConnector (allowHosts: readonly string[], resolve: LookupFunction): buildConnector.connector {
  const exempt = buildConnector({ lookup: resolve })
  const guarded = buildConnector({ lookup: guardLookup(resolve) })
  return (options, callback) => {
    const port = options.port === '' ? (options.protocol === 'https:' ? 443 : 80) : Number(options.port)
    if (isHostAllowed(options.hostname, port, allowHosts)) return exempt(options, callback)
    // Node skips the lookup for IP literals, so they are judged here.
    const reason = isIpLiteral(options.hostname) ? forbiddenAddressReason(options.hostname) : undefined
    if (reason !== undefined) {
      process.nextTick(callback, new ForbiddenAddressError(options.hostname, reason), null)
      return
    }
    guarded(options, callback)
  }
}

function notFound (hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' })
}
