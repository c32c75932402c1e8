// A zero-work CVProcess stand-in for the benchmarks: reads the body, waits LATENCY_MS (default 0), answers
// the success body in REPLY_FILE. No signature check and no image work, so that the proxy in front of it
// is what gets measured. GET /_stats answers { calls, inFlight, maxInFlight } like the emulator's.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const reply = readFileSync(process.env.REPLY_FILE as string)
const latencyMs = Number(process.env.LATENCY_MS ?? 0)
const stats = { calls: 0, inFlight: 0, maxInFlight: 0, bytesIn: 0 }

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(req.url === '/_stats' ? stats : { status: 'ok' }))
    return
  }
  stats.calls++
  stats.inFlight++
  stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
  res.once('close', () => { stats.inFlight-- })
  req.on('data', (chunk: Buffer) => { stats.bytesIn += chunk.length })
  req.on('end', () => {
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length })
      res.end(reply)
    }
    if (latencyMs > 0) setTimeout(answer, latencyMs)
    else answer()
  })
})
// Thousands of slow calls at once: no request timeout of Node's own in the way.
server.requestTimeout = 0
server.maxConnections = 100_000
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
