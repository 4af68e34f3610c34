import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketQuantile } from '../../src/server/live-stats.js';
import { chooseEncoding } from '../../src/server/static-files.js';
import { backoffDelay, byeDelay } from '../../src/web/browser/chat/backoff.js';
import { trackLabel } from '../../src/web/browser/chat/tracks.js';
import { serversFromQuery } from '../../src/web/browser/dashboard/poller.js';

test('reconnect delays grow exponentially, are capped, and jitter within [d/2, d]', () => {
  const options = { baseMs: 500, capMs: 8000 };
  assert.equal(
    backoffDelay(0, options, () => 0),
    250,
  );
  assert.equal(
    backoffDelay(0, options, () => 1),
    500,
  );
  assert.equal(
    backoffDelay(3, options, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(4, options, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(50, options, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(50, options, () => 0),
    4000,
  );
  assert.equal(
    byeDelay(1200, 250, () => 0),
    1200,
  );
  assert.equal(
    byeDelay(1200, 250, () => 1),
    1450,
  );
  assert.equal(byeDelay(-5, 0), 0);
});

test('quantiles from histogram bucket deltas', () => {
  const bounds = [0.01, 0.1, 1, Infinity];
  const older = { bounds, counts: [5, 5, 5, 5] };
  // since `older`: 10 observations ≤ 0.1 s (all above 0.01 s), 0 more
  const newer = { bounds, counts: [5, 15, 15, 15] };
  assert.ok(Math.abs(bucketQuantile(0.5, older, newer) - 0.055) < 1e-9);
  assert.ok(Math.abs(bucketQuantile(0.99, older, newer) - 0.0991) < 1e-9);
  assert.equal(bucketQuantile(0.5, newer, newer), 0);
  // everything in +Inf: the largest finite bound
  assert.equal(bucketQuantile(0.5, undefined, { bounds, counts: [0, 0, 0, 4] }), 1);
});

test('encodings: brotli first, q=0 refuses one', () => {
  assert.equal(chooseEncoding('gzip, deflate, br'), 'br');
  assert.equal(chooseEncoding('gzip, br;q=0'), 'gzip');
  assert.equal(chooseEncoding('identity'), null);
  assert.equal(chooseEncoding(undefined), null);
  assert.equal(chooseEncoding('*'), 'gzip');
});

test('track labels and dashboard server lists', () => {
  assert.deepEqual(trackLabel('spotify:track:4uLU6hMCjMI75M1A2tKUQC'), {
    text: 'Spotify track 4uLU6hMC…',
    href: 'https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC',
  });
  assert.equal(trackLabel('daft punk - one more time').text, 'Daft Punk - One More Time');
  assert.deepEqual(serversFromQuery('', 'http://here:1'), ['http://here:1']);
  assert.deepEqual(
    serversFromQuery('?servers=http://a:1,javascript:alert(1),http://a:1/x,https://b', 'http://here:1'),
    ['http://a:1', 'https://b'],
  );
});
