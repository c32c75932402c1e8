// The event loop ahead of image work for the CPU. When photos arrive faster than the cores prepare them,
// sharp's threads would take the cores and the event loop, which reads headers, refuses at once
// (503 OVERLOADED) and answers finished calls, would wait its turn: refusals then take seconds and the
// accept queue fills. Linux gives each thread its own nice value, and a new thread its creator's. So the
// threadpool is started now, from the main thread, and every thread but the main one is lowered
// (libuv's threadpool, V8's helpers); libvips' workers, started later by threadpool threads, inherit it.
// Lowering one's own priority needs no privilege. Elsewhere than Linux this does nothing.
import { readdirSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { setPriority } from 'node:os'

/** Lowers every thread of this process but the main one to `nice` (1..19); returns how many were lowered. */
export async function lowerHelperThreads (nice: number): Promise<number> {
  if (process.platform !== 'linux' || nice <= 0) return 0
  await stat('.') // one threadpool job: libuv starts all of its threads at the first
  let lowered = 0
  for (const entry of readdirSync('/proc/self/task')) {
    const tid = Number(entry)
    if (tid === process.pid) continue
    try {
      setPriority(tid, nice)
      lowered++
    } catch {
      // a thread that has just ended
    }
  }
  return lowered
}
