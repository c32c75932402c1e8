// The OpenAPI document (openapi.yaml at the package root), read once: its text is served as is, its parsed
// form feeds swagger-ui.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

/** openapi.yaml sits two folders above this module, both as src/docs (tsx) and as dist/docs (built). */
export const OPENAPI_PATH = new URL('../../openapi.yaml', import.meta.url)

export interface OpenApiDocument {
  text: string
  document: Record<string, unknown>
}

export function readOpenApiDocument (path: URL | string = OPENAPI_PATH): OpenApiDocument {
  const text = readFileSync(path, 'utf8')
  return { text, document: parse(text) as Record<string, unknown> }
}
