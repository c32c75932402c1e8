// The machine a run happened on, recorded beside its numbers.
import { cpus, loadavg, platform, release, totalmem } from 'node:os'

export interface Machine {
  cpuModel: string
  cores: number
  memoryGiB: number
  node: string
  platform: string
  loadAverage: number[]
  uvThreadpoolSize: string
}

export function describeMachine (): Machine {
  const list = cpus()
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    node: process.version,
    platform: `${platform()} ${release()}`,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)'
  }
}
