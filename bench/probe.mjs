// Preloaded (`node --import ./bench/probe.mjs`) into every server the benchmarks start as a child process:
// measures the child's own event-loop delay, memory and CPU, and answers the runner over the IPC channel.
// Plain JavaScript so that it loads into `node dist/server.js` exactly as production runs.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { monitorEventLoopDelay } from 'node:perf_hooks'

if (typeof process.send === 'function') {
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  let peakRss = process.memoryUsage.rss()
  let cpuBase = process.cpuUsage()
  // RSS is sampled: the kernel's maxRSS is for the process's whole life, not since a reset.
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 50)
  sampler.unref()

  let profiler
  const ms = (ns) => Math.round(ns / 1e4) / 100
  process.on('message', (message) => {
    if (message?.type === 'reset') {
      lag.reset()
      peakRss = process.memoryUsage.rss()
      cpuBase = process.cpuUsage()
      process.send({ type: 'reset' })
      return
    }
    // The V8 CPU profiler (the one `node --cpu-prof` drives) over a window of the runner's choosing,
    // so that start-up and warm-up stay out of the profile.
    if (message?.type === 'profile-start') {
      profiler = new Session()
      profiler.connect()
      profiler.post('Profiler.enable', () => profiler.post('Profiler.start', () => process.send({ type: 'profile-start' })))
      return
    }
    if (message?.type === 'profile-stop') {
      profiler?.post('Profiler.stop', (error, result) => {
        if (!error) writeFileSync(message.path, JSON.stringify(result.profile))
        profiler.disconnect()
        profiler = undefined
        process.send({ type: 'profile-stop' })
      })
      return
    }
    if (message?.type === 'sample') {
      if (message.gc === true && typeof globalThis.gc === 'function') globalThis.gc()
      const memory = process.memoryUsage()
      const cpu = process.cpuUsage(cpuBase)
      peakRss = Math.max(peakRss, memory.rss)
      process.send({
        type: 'sample',
        lagMs: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max), mean: ms(lag.mean) },
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        externalBytes: memory.external + memory.arrayBuffers,
        peakRssBytes: peakRss,
        cpuMs: (cpu.user + cpu.system) / 1000
      })
    }
  })
  // The channel must not keep a server alive that is asked to stop.
  process.channel?.unref()
}
