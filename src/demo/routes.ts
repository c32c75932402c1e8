// The demo page on `/` (DEMO_PAGE=true): three static files, read once from this module's own folder,
// which is src/demo under tsx and dist/demo after `npm run build` (the build copies them there).
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'

const FILES = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/demo.css', file: 'demo.css', type: 'text/css; charset=utf-8' },
  { route: '/demo.js', file: 'demo.js', type: 'text/javascript; charset=utf-8' }
] as const

export const DEMO_FOLDER = new URL('./', import.meta.url)

export async function demoRoutes (app: FastifyInstance): Promise<void> {
  for (const { route, file, type } of FILES) {
    const body = await readFile(new URL(file, DEMO_FOLDER))
    // No key and no rate limit: the page itself holds nothing; its API calls carry the user's key.
    app.get(route, { config: { rateLimit: false } }, async (_request, reply) => {
      return reply.type(type).header('cache-control', 'no-cache').send(body)
    })
  }
}
