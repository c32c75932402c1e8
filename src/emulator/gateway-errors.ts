// The Volcengine API gateway's error answers (signing, routing), as its public error-code page lists them.

export const GATEWAY_ERRORS = {
  MissingParameter: { status: 400, codeN: 100002 },
  MissingAuthenticationToken: { status: 401, codeN: 100003 },
  MissingRequestInfo: { status: 400, codeN: 100004 },
  InvalidTimestamp: { status: 403, codeN: 100006 },
  InvalidActionOrVersion: { status: 404, codeN: 100008 },
  ServiceNotFound: { status: 404, codeN: 100007 },
  InvalidAccessKey: { status: 401, codeN: 100009 },
  SignatureDoesNotMatch: { status: 401, codeN: 100010 },
  InvalidSecretToken: { status: 401, codeN: 100026 },
  // The page gives no CodeN for these three; the values are ours.
  InvalidAuthorization: { status: 400, codeN: 100027 },
  InvalidCredential: { status: 400, codeN: 100028 },
  AccessDenied: { status: 403, codeN: 100029 }
} as const

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS

export interface GatewayFailure {
  code: GatewayErrorCode
  message: string
}

export interface GatewayErrorBody {
  ResponseMetadata: {
    RequestId: string
    Action: string
    Version: string
    Service: string
    Region: string
    Error: { CodeN: number, Code: string, Message: string }
  }
}

export interface GatewayContext {
  requestId: string
  action: string
  version: string
  service: string
  region: string
}

export function gatewayErrorBody (failure: GatewayFailure, context: GatewayContext): GatewayErrorBody {
  return {
    ResponseMetadata: {
      RequestId: context.requestId,
      Action: context.action,
      Version: context.version,
      Service: context.service,
      Region: context.region,
      Error: { CodeN: GATEWAY_ERRORS[failure.code].codeN, Code: failure.code, Message: failure.message }
    }
  }
}
