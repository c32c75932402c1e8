// The baseline for the proxy's overhead: a bare fastify route that accepts the same multipart upload and
// answers a body of the same size as the proxy's (REPLY_FILE), doing nothing in between.
import { readFileSync } from 'node:fs'
import multipart from '@fastify/multipart'
import Fastify from 'fastify'

const reply = readFileSync(process.env.REPLY_FILE as string)
const app = Fastify({ logger: false })
await app.register(multipart)
app.get('/healthz', async () => ({ status: 'ok' }))
app.post('/upload', async (request, response) => {
  const file = await request.file()
  if (file === undefined) return await response.code(400).send({ message: 'no file' })
  await file.toBuffer()
  return await response.type('application/json').send(reply)
})
await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
