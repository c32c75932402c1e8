// Security headers with @fastify/helmet: helmet's strict defaults for the API, and a policy of their own for
// the two HTML pages (/docs and the demo page on /), which the strict Content-Security-Policy would break.
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet'
import type { FastifyInstance, RouteOptions } from 'fastify'

type CspDirectives = Record<string, string[]>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/helmet reads a route's own options from here */
    helmet?: FastifyHelmetOptions
  }
}

/** What both pages need: their own scripts and styles only, no framing by others, no plugins. */
const PAGE_DIRECTIVES: CspDirectives = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  // swagger-ui and small pages set style attributes from their scripts
  'style-src': ["'self'", "'unsafe-inline'"]
  // no upgrade-insecure-requests: a page served over plain http (dev, a LAN address) would lose its own assets
}

/** /docs: swagger-ui's bundle, its styles, data: icons, and fetching /docs/json from the same origin. */
export const DOCS_CSP: CspDirectives = { ...PAGE_DIRECTIVES }

/** The demo page: shows the chosen photo (blob:) and the result (data:/blob:, or an https image_url). */
export const DEMO_PAGE_CSP: CspDirectives = { ...PAGE_DIRECTIVES, 'img-src': ["'self'", 'data:', 'blob:', 'https:'] }

function pageHelmet (directives: CspDirectives): FastifyHelmetOptions {
  return { contentSecurityPolicy: { useDefaults: false, directives } }
}

/** The page policy a route gets by its URL, or undefined for the API's strict one. */
export function pagePolicyFor (url: string): CspDirectives | undefined {
  if (url === '/docs' || url.startsWith('/docs/')) return DOCS_CSP
  if (url === '/') return DEMO_PAGE_CSP
  return undefined
}

export async function registerSecurityHeaders (app: FastifyInstance): Promise<void> {
  // Route by route, so that a page gets its own policy even when a plugin (swagger-ui) adds the route;
  // a route that sets its own `helmet` option keeps it.
  app.addHook('onRoute', (route: RouteOptions) => {
    const directives = pagePolicyFor(route.url)
    if (directives === undefined || route.helmet !== undefined || route.config?.helmet !== undefined) return
    route.config = { ...route.config, helmet: pageHelmet(directives) }
  })
  // Global, with helmet's defaults: the API's JSON and every error get the strict policy.
  await app.register(helmet, { global: true })
}
