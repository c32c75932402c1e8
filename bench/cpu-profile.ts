// Reads a V8 .cpuprofile (node --cpu-prof) into where the time went: by function and by area
// (our code per file, each package, node internals, GC, idle), by self time.
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number }

export interface ProfileShare { name: string, percent: number }

export interface ProfileSummary {
  /** busy: every sample but idle */
  busyPercent: number
  byArea: ProfileShare[]
  byFunction: ProfileShare[]
}

function area (frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1] as string
  if (url.startsWith('node:')) return 'node internals'
  const ours = /\/dist\/(.+)$/.exec(url) ?? /\/(src\/.+)$/.exec(url)
  return ours !== null ? `ours: ${ours[1] as string}` : url
}

function top (totals: Map<string, number>, all: number, count: number): ProfileShare[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => ({ name, percent: Math.round(hits / all * 1000) / 10 }))
}

export function summariseProfile (path: string, count = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  let all = 0
  let idle = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    all += hits
    if (node.callFrame.functionName === '(idle)') { idle += hits; continue }
    const where = area(node.callFrame)
    areas.set(where, (areas.get(where) ?? 0) + hits)
    const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`
    functions.set(name, (functions.get(name) ?? 0) + hits)
  }
  const busy = all - idle
  return {
    busyPercent: all === 0 ? 0 : Math.round(busy / all * 1000) / 10,
    // shares of the busy time, so that idle waiting does not dilute them
    byArea: top(areas, busy, count),
    byFunction: top(functions, busy, count)
  }
}
