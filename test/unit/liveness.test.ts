/**
 * Liveness on fake time over a bus whose delivery the test controls: a peer is
 * declared dead only when our own beats kept coming and its did not; a stall
 * that delays everyone's beats declares nobody dead, whatever order the queued
 * beats arrive in; a peer declared dead that beats again is alive again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bus, BusEvent, BusHandler } from '../../src/bus/bus.js';
import { Liveness } from '../../src/cluster/liveness.js';
import { Channels } from '../../src/cluster/ops.js';
import { ManualClock } from '../../src/util/clock.js';

const HEARTBEAT = 1000;
const DEAD_AFTER = 5000;

/** A bus that queues what is published until the test delivers it (a stalled Redis holds it all). */
class HeldBus implements Bus {
  readonly connected = true;
  readonly queue: string[] = [];
  #handler: BusHandler | null = null;
  publish(channel: string, message: string): Promise<number> {
    assert.equal(channel, Channels.heartbeat);
    this.queue.push(message);
    return Promise.resolve(1);
  }
  subscribe(_channel: string, handler: BusHandler): Promise<void> {
    this.#handler = handler;
    return Promise.resolve();
  }
  unsubscribe(): Promise<void> {
    return Promise.resolve();
  }
  on(_event: BusEvent, _listener: () => void): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  /** Delivers what was queued (only what `which` picks, when given; the rest stays queued). */
  flush(which: (message: string) => boolean = () => true): void {
    const batch = this.queue.splice(0);
    this.queue.push(...batch.filter((m) => !which(m)));
    for (const m of batch.filter(which)) this.#handler?.(m);
  }
  beat(id: string): void {
    this.#handler?.(JSON.stringify({ op: 'hb', id, kind: 'app' }));
  }
}

async function setup() {
  const clock = new ManualClock();
  const bus = new HeldBus();
  const events: string[] = [];
  const liveness = new Liveness(bus, {
    id: 'me',
    kind: 'app',
    heartbeatMs: HEARTBEAT,
    deadAfterMs: DEAD_AFTER,
    clock,
    onDead: (id) => events.push(`dead ${id}`),
    onAlive: (id, _kind, again) => events.push(`${again ? 'back' : 'new'} ${id}`),
  });
  await liveness.start();
  /** `ms` of normal life: every heartbeat, our own beat and peer `peer`'s arrive at once. */
  const live = (ms: number, peers: string[] = ['p']) => {
    for (let t = 0; t < ms; t += HEARTBEAT) {
      bus.flush();
      for (const p of peers) bus.beat(p);
      clock.advance(HEARTBEAT);
    }
  };
  return { clock, bus, events, liveness, live };
}

test('a peer that stops beating while ours keep coming is declared dead once, after dead-after', async () => {
  const { events, liveness, live } = await setup();
  live(3000);
  assert.deepEqual(events, ['new p']);
  live(DEAD_AFTER - 1000, []);
  assert.ok(liveness.isAlive('p'), 'not dead before dead-after');
  live(3000, []);
  assert.deepEqual(events, ['new p', 'dead p']);
  assert.equal(liveness.isAlive('p'), false);
});

test('a peer declared dead that beats again is alive again (onAlive with again)', async () => {
  const { events, liveness, live } = await setup();
  live(2000);
  live(DEAD_AFTER + 2000, []);
  live(1000);
  assert.deepEqual(events, ['new p', 'dead p', 'back p']);
  assert.ok(liveness.isAlive('p'));
});

for (const mineFirst of [true, false]) {
  const name = mineFirst ? 'our own beats arrive first' : 'theirs arrive first';
  test(`a bus stall longer than dead-after declares nobody dead when it ends (${name})`, async () => {
    const { clock, bus, events, liveness, live } = await setup();
    live(3000);
    // the stall: beats are published and queued, none delivered
    for (let i = 0; i < 8; i++) {
      clock.advance(HEARTBEAT);
      bus.queue.push(JSON.stringify({ op: 'hb', id: 'p', kind: 'app' }));
    }
    assert.deepEqual(events, ['new p'], 'nobody judged while we hear nothing');
    // the stall ends: one side's queued beats arrive a heartbeat (a check) before the other's
    const ours = (m: string) => m.includes('"me"') === mineFirst;
    bus.flush(ours);
    clock.advance(HEARTBEAT);
    bus.flush((m) => !ours(m));
    live(DEAD_AFTER - 1000);
    assert.deepEqual(events, ['new p']);
    assert.ok(liveness.isAlive('p'));
  });
}

test('after a stall, a peer that really died is still declared dead, dead-after later', async () => {
  const { clock, bus, events, live } = await setup();
  live(3000);
  clock.advance(DEAD_AFTER + 3000);
  bus.flush();
  live(DEAD_AFTER - 1000, []);
  assert.deepEqual(events, ['new p'], 'a fresh dead-after from the end of the stall');
  live(3000, []);
  assert.deepEqual(events, ['new p', 'dead p']);
});
