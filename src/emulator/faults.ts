// Injected faults (EMULATOR_FAULTS): which one, if any, hits a call. The route acts them out.
import type { Fault, FaultName } from './options.js'
import type { BusinessErrorCode } from './responses.js'

/** Faults that answer with the service's own error body. */
export const BUSINESS_ERROR_FAULTS: Partial<Record<FaultName, BusinessErrorCode>> = {
  50429: 50429,
  50430: 50430,
  50500: 50500,
  50501: 50501,
  50411: 50411,
  50511: 50511
}

/** A 200 whose body a client cannot parse: a JSON answer cut short. */
export const MALFORMED_BODY = '{"code":10000,"data":{"algorithm_base_resp":{"status_code":0,'

/** The first fault, in the listed order, whose draw hits; probability 1 always hits. */
export function pickFault (faults: readonly Fault[], random: () => number = Math.random): FaultName | undefined {
  return faults.find((fault) => fault.probability > 0 && random() < fault.probability)?.name
}
