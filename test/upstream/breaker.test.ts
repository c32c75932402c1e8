// The circuit breaker on a clock of the test's own.
import { test } from 'tap'
import { CircuitBreaker, type BreakerState } from '../../src/upstream/breaker.js'

function breaker (threshold = 3, cooldownMs = 1000) {
  let now = 0
  const transitions: Array<[BreakerState, BreakerState]> = []
  const circuit = new CircuitBreaker({ threshold, cooldownMs, now: () => now, onTransition: (from, to) => transitions.push([from, to]) })
  return { circuit, transitions, advance: (ms: number) => { now += ms } }
}

function fail (circuit: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) circuit.record(circuit.admit()!, 'failure')
}

test('opens after threshold consecutive failures and refuses until the cool-down ends', async (t) => {
  const { circuit, transitions, advance } = breaker(3, 1000)
  fail(circuit, 2)
  t.equal(circuit.state, 'closed')
  fail(circuit, 1)
  t.equal(circuit.state, 'open')
  t.same(transitions, [['closed', 'open']])
  t.equal(circuit.admit(), undefined)
  t.equal(circuit.retryAfterMs(), 1000)
  advance(400)
  t.equal(circuit.retryAfterMs(), 600)
  t.equal(circuit.admit(), undefined)
})

test('a success or an answer on the merits resets the count; throttling neither counts nor resets', async (t) => {
  const { circuit } = breaker(3)
  fail(circuit, 2)
  circuit.record(circuit.admit()!, 'healthy')
  fail(circuit, 2)
  circuit.record(circuit.admit()!, 'neutral')
  t.equal(circuit.state, 'closed')
  fail(circuit, 1)
  t.equal(circuit.state, 'open')
})

test('half-open lets exactly one probe through; its success closes the circuit', async (t) => {
  const { circuit, transitions, advance } = breaker(1, 1000)
  fail(circuit, 1)
  advance(1000)
  t.equal(circuit.state, 'half_open')
  t.equal(circuit.retryAfterMs(), undefined)
  const probe = circuit.admit()
  t.ok(probe?.probe)
  t.equal(circuit.admit(), undefined, 'a second caller is refused while the probe is out')
  circuit.record(probe!, 'success')
  t.equal(circuit.state, 'closed')
  t.ok(circuit.admit(), 'closed again')
  t.same(transitions, [['closed', 'open'], ['open', 'half_open'], ['half_open', 'closed']])
})

test('a failed probe opens the circuit for another cool-down; a neutral one frees the probe', async (t) => {
  const { circuit, advance } = breaker(2, 1000)
  fail(circuit, 2)
  advance(1000)
  const probe = circuit.admit()!
  circuit.record(probe, 'neutral')
  t.equal(circuit.state, 'half_open')
  const second = circuit.admit()!
  t.ok(second.probe)
  circuit.record(second, 'failure')
  t.equal(circuit.state, 'open')
  t.equal(circuit.retryAfterMs(), 1000)
  circuit.record(second, 'success')
  t.equal(circuit.state, 'open', 'a ticket counts once')
})

test('a ticket taken while closed may not call once the circuit opened', async (t) => {
  const { circuit } = breaker(1)
  const early = circuit.admit()!
  t.ok(circuit.allows(early))
  fail(circuit, 1)
  t.notOk(circuit.allows(early))
  circuit.record(early, 'neutral')
})
