// openapi.yaml is a valid OpenAPI 3.1 document, in step with the routes, the error codes and the request schema.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { validate } from '@readme/openapi-parser'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { test } from 'tap'
import * as errors from '../../src/errors.js'
import { requestSchemas } from '../../scripts/openapi-schemas.js'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'
import { deref, documentedOperations, loadOpenApi, type Json } from './fixtures/openapi.js'

/** A page's styles, scripts and images are not API: they are documented by the page that loads them. */
const PAGE_ASSET = /\.(css|js|mjs|map|png|ico|svg|woff2?)$/

/** The contract's error classes in src/errors.ts, as `{ code, statusCode }`. */
function contractErrors (): Array<{ code: string, statusCode: number }> {
  return Object.entries(errors)
    .filter(([name, value]) => name.endsWith('Error') && typeof value === 'function')
    .map(([, Constructor]) => new (Constructor as new (message: string) => { code: string, statusCode: number })('x'))
    .map(({ code, statusCode }) => ({ code, statusCode }))
}

test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const document = loadOpenApi()
  t.equal(document.openapi, '3.1.0')
  const result = await validate(structuredClone(document) as never)
  t.ok(result.valid, result.valid ? 'valid' : JSON.stringify(result.errors))
  t.same(result.warnings, [])
})

test('the request schemas are the ones generated from src/stylize/schema.ts (run `npm run openapi`)', async (t) => {
  const schemas = loadOpenApi().components.schemas as Json
  for (const [name, schema] of Object.entries(requestSchemas())) {
    t.same(schemas[name], schema, `components.schemas.${name} matches StylizeFieldsSchema`)
  }
})

test('every route the app registers is documented, and every documented route exists', async (t) => {
  const routes: RouteOptions[] = []
  // fastify announces each new instance on this channel, before any plugin or route is added
  const collect = (message: unknown): void => {
    (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => { routes.push(route) })
  }
  subscribe('fastify.initialization', collect)
  const upstream = await startRecordingUpstream(t)
  let proxy
  try {
    proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { DEMO_PAGE: 'true', CORS_ORIGINS: 'https://app.example.com', MAX_EVENT_LOOP_DELAY_MS: '0', ADMIN_TOKEN: 'admin-token-of-the-docs-test' } })
  } finally {
    unsubscribe('fastify.initialization', collect)
  }

  const registered = new Set<string>()
  for (const route of routes) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      // HEAD routes are fastify's automatic twins of GET; hidden routes are plugin internals (swagger-ui's assets, the CORS preflight)
      if (method === 'HEAD' || (route.schema as { hide?: boolean } | undefined)?.hide === true || PAGE_ASSET.test(route.url)) continue
      // fastify's /jobs/:id is OpenAPI's /jobs/{id}
      registered.add(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  t.ok(registered.has('POST /stylize'), 'the collection saw the routes')
  const documented = documentedOperations(loadOpenApi())
  t.same([...registered].filter((operation) => !documented.includes(operation)), [], 'registered but not documented')

  const missing = documented.filter((operation) => {
    const [method, url] = operation.split(' ') as [string, string]
    return !proxy.app.hasRoute({ method: method as 'GET', url: url.replace(/\{(\w+)\}/g, ':$1') })
  })
  t.same(missing, [], 'documented but not registered (with DEMO_PAGE=true and ADMIN_TOKEN set)')
})

test('every error code of src/errors.ts is documented (for POST /stylize, or the jobs route that answers it), with its status and an example', async (t) => {
  const document = loadOpenApi()
  const contract = contractErrors()
  t.equal(contract.length, 20, 'the 20 codes of the contract')
  t.same([...(document.components.schemas.ErrorCode.enum as string[])].sort(), contract.map((e) => e.code).sort())

  for (const { code, statusCode } of contract) {
    // the one code POST /stylize cannot answer is documented where it can be
    const responses = (code === 'JOB_NOT_CANCELLABLE' ? document.paths['/jobs/{id}'].delete.responses : document.paths['/stylize'].post.responses) as Json
    const response = responses[String(statusCode)] as Json | undefined
    t.ok(response, `${statusCode} is documented`)
    if (response === undefined) continue
    const examples = Object.values(deref(document, response).content['application/json'].examples as Json) as Json[]
    const example = examples.find((e) => e.value.code === code)
    t.ok(example, `${statusCode} has an example of ${code}`)
    t.equal(example?.value.statusCode, statusCode, `${code}'s example has status ${statusCode}`)
  }
  const responses = document.paths['/stylize'].post.responses as Json
  t.ok(responses['200'].content['application/json'], 'the JSON answer')
  t.ok(responses['200'].content['image/jpeg'], 'the image bytes')
})

test('the documented headers: request ids, Retry-After, rate limits, Idempotency-Key', async (t) => {
  const document = loadOpenApi()
  const stylize = document.paths['/stylize'].post as Json
  const params = (stylize.parameters as Json[]).map((p) => deref(document, p).name as string)
  t.ok(params.includes('Idempotency-Key'))
  t.ok(params.includes('X-Request-Id'))
  t.same(Object.keys(stylize.responses['200'].headers as Json).sort(),
    ['X-Request-Id', 'X-Upstream-Request-Id', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].sort())
  for (const status of ['409', '429', '503']) {
    const response = deref(document, stylize.responses[status] as Json)
    t.ok(response.headers['Retry-After'], `${status} documents Retry-After`)
  }
  t.same(Object.keys(document.components.securitySchemes as Json).sort(), ['adminToken', 'apiKeyHeader', 'bearerAuth', 'metricsToken'])
})

test('"exactly one image source" is a union of complete shapes, each requiring one typed source, so code generators keep it', async (t) => {
  const schemas = loadOpenApi().components.schemas as Json
  const branches = (schema: Json): Json[] => (schema.oneOf as Json[]).map((branch) => (branch.allOf as Json[] | undefined)?.at(-1) ?? branch)
  for (const [name, sources] of [['StylizeJsonBody', ['image_url', 'image_base64']], ['StylizeMultipartBody', ['image', 'image_url']]] as const) {
    const shapes = branches(schemas[name] as Json)
    t.same(shapes.map((shape) => shape.required), sources.map((source) => [source]), `${name}: one branch per source`)
    for (const shape of shapes) {
      const source = (shape.required as string[])[0]!
      t.equal(shape.type, 'object')
      t.equal((shape.properties as Json)[source]?.type, 'string', `${name}: ${source} is typed in its branch`)
    }
  }
  t.same(((schemas.StylizeJsonBody as Json).oneOf as Json[]).map((branch) => (branch.allOf as Json[])[0]), [
    { $ref: '#/components/schemas/StylizeFields' }, { $ref: '#/components/schemas/StylizeFields' }
  ], 'each JSON branch is the whole field set with its source')
})

test('info.license, if any, has the url or identifier that strict OpenAPI 3.1 validators (swagger-parser) require', async (t) => {
  const license = (loadOpenApi().info as Json).license as Json | undefined
  t.ok(license === undefined || license.url !== undefined || license.identifier !== undefined)
})
