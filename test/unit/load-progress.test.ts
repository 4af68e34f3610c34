import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Progress } from '../../src/load/controller.js';
import { ProgressView } from '../../src/load/progress.js';

/** A stream that records what is written; `isTTY` makes it look like a terminal. */
function sink(isTTY: boolean, columns = 200) {
  let text = '';
  const s = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  s.isTTY = isTTY;
  s.columns = columns;
  return { stream: s, text: () => text };
}

const at = (elapsedMs: number, extra: Partial<Progress> = {}): Progress => ({
  elapsedMs,
  totalMs: 10_000,
  phase: 'steady',
  users: 120,
  connected: 118,
  arrivalsPerSecond: 20,
  targetRate: 20,
  messagesPerSecond: 55,
  p99: { message_latency: 4.25, time_to_match: 812, connect_time: 1.5 },
  errors: 0,
  late: 0,
  dropped: 0,
  lagMs: 3,
  ...extra,
});

test('off a terminal, progress is one plain line per interval, no control characters', () => {
  const out = sink(false);
  const view = new ProgressView(out.stream, 1000);
  for (let ms = 0; ms <= 10_000; ms += 250)
    view.update(at(ms, ms === 7000 ? { late: 3, dropped: 1, lagMs: 120 } : {}));
  view.end();
  const lines = out.text().split('\n').filter(Boolean);
  assert.equal(lines.length, 10); // one a second, from 1 s to 10 s
  assert.ok(!out.text().includes('\r') && !out.text().includes('\x1b'), 'no control characters');
  assert.equal(
    lines[2],
    '3/10s steady | users 120 | arrivals/s 20 (plan 20) | msg/s 55 | p99 msg 4.3ms match 812ms connect 1.5ms | errors 0',
  );
  assert.ok(lines.some((l) => l.endsWith('| BEHIND: 3 late, 1 dropped starts (lag 120ms)')));
});

test('on a terminal, progress is a bar redrawn in place, clipped to the width, ended by a newline', () => {
  const out = sink(true, 60);
  const view = new ProgressView(out.stream);
  view.update(at(0));
  view.update(at(5000));
  view.update(at(10_000));
  view.end();
  const frames = out.text().split('\r\x1b[2K').filter(Boolean);
  assert.equal(frames.length, 3);
  assert.ok(frames[0]!.startsWith('[....................] 0/10s steady'));
  assert.ok(frames[1]!.startsWith('[##########..........] 5/10s steady'));
  assert.ok(frames[2]!.startsWith('[####################] 10/10s steady'));
  for (const f of frames) assert.ok(f.replace(/\n$/, '').length <= 59, `clipped: ${JSON.stringify(f)}`);
  assert.ok(out.text().endsWith('\n'));
  assert.equal(out.text().split('\n').length, 2);
});

test("off a terminal, a timer that drifts a few ms early still prints each second's line, and the last one once", () => {
  const out = sink(false);
  const view = new ProgressView(out.stream, 1000);
  for (const ms of [700, 1700, 2699, 3000, 3000]) view.update(at(ms, { totalMs: 3000 }));
  const lines = out.text().split('\n').filter(Boolean);
  assert.deepEqual(
    lines.map((l) => l.split(' ')[0]),
    ['1/3s', '2/3s', '3/3s'],
  );
});

test('the per-second figures are labelled with the second they are from', async () => {
  const { progressLine } = await import('../../src/load/progress.js');
  const line = progressLine(at(12_400, { dataSecond: 10, arrivalsPerSecond: 58, targetRate: 60 }));
  assert.match(line, /^12\/10s steady \| users 120 \| second 10: arrivals\/s 58 \(plan 60\)/);
});
