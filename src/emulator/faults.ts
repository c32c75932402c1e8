// Injected faults (EMULATOR_FAULTS): which one, if any, hits a call. The route acts them out.
import type { GatewayErrorCode } from './gateway-errors.js'
import type { Fault, FaultName } from './options.js'
import type { BusinessErrorCode } from './responses.js'

/** Faults that answer with the service's own error body. */
export const BUSINESS_ERROR_FAULTS: Partial<Record<FaultName, BusinessErrorCode>> = {
  50429: 50429,
  50430: 50430,
  50500: 50500,
  50501: 50501,
  50411: 50411,
  50412: 50412,
  50413: 50413,
  50511: 50511,
  50512: 50512,
  50518: 50518,
  50519: 50519
}

/** Faults that answer with the gateway's error body (a revoked key, a policy that denies the action). */
export const GATEWAY_ERROR_FAULTS: Partial<Record<FaultName, { code: GatewayErrorCode, message: string }>> = {
  SignatureDoesNotMatch: { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' },
  AccessDenied: { code: 'AccessDenied', message: 'User is not authorized to perform: cv:CVProcess.' },
  MissingAuthenticationToken: { code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token.' }
}

/** A 200 whose body a client cannot parse: a JSON answer cut short. */
export const MALFORMED_BODY = '{"code":10000,"data":{"algorithm_base_resp":{"status_code":0,'

/** The first fault, in the listed order, whose draw hits; probability 1 always hits. */
export function pickFault (faults: readonly Fault[], random: () => number = Math.random): FaultName | undefined {
  return faults.find((fault) => fault.probability > 0 && random() < fault.probability)?.name
}
