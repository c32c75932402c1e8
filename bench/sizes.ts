// How big each scenario runs: `full` is the scenario; `quick` proves the harness and gives rough
// numbers in well under a minute; `smoke` is the tiny run `npm test` makes.

export type Mode = 'full' | 'quick' | 'smoke'

export interface Sizes {
  overhead: {
    warmup: number
    /** rounds alternate proxy, direct, bare so that noise hits all three alike */
    rounds: number
    sequentialPerRound: number
    loadMsPerRound: number
    connections: number
  }
  pipeline: {
    jpeg: [number, number]
    /** the arrivals scenario's photo, as a plain camera JPEG */
    photo: [number, number]
    png: [number, number]
    webp: [number, number]
    runs: number
    parallelImages: number
    parallelInFlight: number
  }
  inFlight: {
    clients: number
    latencyMs: number
    gatedClients: number
    gatedLatencyMs: number
    gatedQueueMax: number
  }
  arrivals: {
    /** the photo each client posts as JSON base64 */
    width: number
    height: number
    upstreamLatencyMs: number
    /** open-loop arrival rates, each for durationMs */
    rates: number[]
    durationMs: number
  }
  soak: {
    warmupMs: number
    measuredMs: number
    perSecond: number
    sampleEveryMs: number
  }
  signer: {
    rounds: number
    msPerRound: number
  }
}

export const SIZES: Record<Mode, Sizes> = {
  full: {
    overhead: { warmup: 200, rounds: 5, sequentialPerRound: 400, loadMsPerRound: 10_000, connections: 16 },
    pipeline: { jpeg: [4000, 3000], photo: [1200, 1600], png: [2310, 1732], webp: [1155, 866], runs: 30, parallelImages: 40, parallelInFlight: 8 },
    inFlight: { clients: 2000, latencyMs: 7000, gatedClients: 200, gatedLatencyMs: 2000, gatedQueueMax: 8 },
    arrivals: { width: 1200, height: 1600, upstreamLatencyMs: 7000, rates: [50, 200], durationMs: 10_000 },
    soak: { warmupMs: 60_000, measuredMs: 600_000, perSecond: 10, sampleEveryMs: 30_000 },
    signer: { rounds: 5, msPerRound: 2000 }
  },
  quick: {
    overhead: { warmup: 50, rounds: 1, sequentialPerRound: 100, loadMsPerRound: 2000, connections: 16 },
    pipeline: { jpeg: [4000, 3000], photo: [1200, 1600], png: [2310, 1732], webp: [1155, 866], runs: 5, parallelImages: 8, parallelInFlight: 8 },
    inFlight: { clients: 300, latencyMs: 1000, gatedClients: 40, gatedLatencyMs: 500, gatedQueueMax: 8 },
    arrivals: { width: 1200, height: 1600, upstreamLatencyMs: 1000, rates: [50, 200], durationMs: 3000 },
    soak: { warmupMs: 3000, measuredMs: 8000, perSecond: 10, sampleEveryMs: 4000 },
    signer: { rounds: 3, msPerRound: 200 }
  },
  smoke: {
    overhead: { warmup: 5, rounds: 1, sequentialPerRound: 10, loadMsPerRound: 300, connections: 4 },
    pipeline: { jpeg: [1200, 900], photo: [600, 800], png: [800, 600], webp: [640, 480], runs: 2, parallelImages: 2, parallelInFlight: 2 },
    inFlight: { clients: 20, latencyMs: 300, gatedClients: 20, gatedLatencyMs: 300, gatedQueueMax: 4 },
    arrivals: { width: 600, height: 800, upstreamLatencyMs: 100, rates: [10, 40], durationMs: 500 },
    soak: { warmupMs: 500, measuredMs: 1500, perSecond: 8, sampleEveryMs: 500 },
    signer: { rounds: 1, msPerRound: 50 }
  }
}
