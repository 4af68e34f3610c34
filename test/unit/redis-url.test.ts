import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatRedisUrl,
  parseRedisUrl,
  redactRedisUrl,
  RedisUrlError,
  withoutSecret,
} from '../../src/bus/redis-url.js';

test('redactRedisUrl replaces the password of every URL with ***, and keeps the rest', () => {
  const cases: [string, string][] = [
    ['redis://app:s3cret@10.0.0.5:6379', 'redis://app:***@10.0.0.5:6379'],
    ['rediss://app:s3cret@redis.internal:6380/2', 'rediss://app:***@redis.internal:6380/2'],
    ['redis://:s3cret@127.0.0.1', 'redis://:***@127.0.0.1'],
    ['redis://app:s3cret@h1:1,h2:2,h3:3', 'redis://app:***@h1:1,h2:2,h3:3'],
    ['redis://app:p1@h1:1,redis://app:p2@h2:2', 'redis://app:***@h1:1,redis://app:***@h2:2'],
    ['redis://app:s3cret@[::1]:6379', 'redis://app:***@[::1]:6379'],
    // no password: nothing to hide (a lone user is a user name)
    ['redis://app@127.0.0.1:6379', 'redis://app@127.0.0.1:6379'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['127.0.0.1:6379,127.0.0.1:6380', '127.0.0.1:6379,127.0.0.1:6380'],
    ['', ''],
  ];
  for (const [url, shown] of cases) assert.equal(redactRedisUrl(url), shown, url);
});

test('redactRedisUrl hides whole passwords that should have been percent-encoded', () => {
  for (const url of [
    'redis://app:pa@ss@host:6379',
    'redis://app:pa/ss@host:6379',
    'redis://app:pa#ss@host:6379',
    'redis://app:pa,ss@h1:1,h2:2',
    'redis://app:pa:ss@host',
    'app:pass@host:6379',
  ]) {
    const shown = redactRedisUrl(url);
    assert.doesNotMatch(shown, /pa|ss(?!@)/, `${url} -> ${shown}`);
    assert.match(shown, /\*\*\*@/);
  }
});

test('redactRedisUrl works on text holding URLs (an error message), and on password= parameters', () => {
  assert.equal(
    redactRedisUrl('cannot connect to Redis at redis://app:hunter2@10.0.0.5:6379: WRONGPASS'),
    'cannot connect to Redis at redis://app:***@10.0.0.5:6379: WRONGPASS',
  );
  assert.equal(
    redactRedisUrl('redis://10.0.0.5:6379?password=hunter2&db=1'),
    'redis://10.0.0.5:6379?password=***&db=1',
  );
  assert.equal(withoutSecret('auth hunter2 failed: hunter2', 'hunter2'), 'auth *** failed: ***');
  assert.equal(withoutSecret('nothing to hide', undefined), 'nothing to hide');
});

test('parseRedisUrl: user, password (percent-decoded), TLS, port, database', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:7000'), {
    nodes: [{ host: '127.0.0.1', port: 7000 }],
    tls: false,
    db: 0,
  });
  assert.deepEqual(parseRedisUrl('rediss://app:p%40ss%2Cw0rd@redis.internal/3'), {
    nodes: [{ host: 'redis.internal', port: 6379 }],
    username: 'app',
    password: 'p@ss,w0rd',
    tls: true,
    db: 3,
  });
  assert.deepEqual(parseRedisUrl('redis://:only-a-password@[::1]:6379'), {
    nodes: [{ host: '::1', port: 6379 }],
    password: 'only-a-password',
    tls: false,
    db: 0,
  });
  // a bare host:port is redis://
  assert.deepEqual(parseRedisUrl('10.0.0.5:6380').nodes, [{ host: '10.0.0.5', port: 6380 }]);
});

test('parseRedisUrl: a password given beside the URL (SAMESONG_REDIS_PASSWORD) replaces the one in it', () => {
  assert.equal(parseRedisUrl('redis://app@h:1', { password: 'from-env' }).password, 'from-env');
  assert.equal(parseRedisUrl('redis://app:in-url@h:1', { password: 'from-env' }).password, 'from-env');
  assert.equal(parseRedisUrl('redis://app:in-url@h:1', { password: '' }).password, 'in-url');
  assert.equal(parseRedisUrl('redis://app@h:1').password, undefined);
});

test('parseRedisUrl: cluster seeds share the first seed’s scheme and credentials', () => {
  const target = parseRedisUrl('rediss://app:pw@h1:1,h2:2,rediss://h3:3,rediss://app:pw@h4:4', {
    cluster: true,
  });
  assert.deepEqual(target, {
    nodes: [
      { host: 'h1', port: 1 },
      { host: 'h2', port: 2 },
      { host: 'h3', port: 3 },
      { host: 'h4', port: 4 },
    ],
    username: 'app',
    password: 'pw',
    tls: true,
    db: 0,
  });
  for (const url of [
    'redis://app:pw@h1:1,rediss://h2:2',
    'redis://app:pw@h1:1,redis://other:pw@h2:2',
    'redis://app:pw@h1:1,redis://app:other@h2:2',
  ]) {
    assert.throws(() => parseRedisUrl(url, { cluster: true }), /share the first one's scheme/, url);
  }
  assert.throws(() => parseRedisUrl('redis://h1:1/2,h2:2', { cluster: true }), /no database numbers/);
});

test('parseRedisUrl refuses what it cannot use, and its errors never hold the password', () => {
  const bad: [string, RegExp][] = [
    ['http://app:hunter2@h:1', /starts with redis:\/\/ or rediss:\/\//],
    ['redis://app:hunter2@h:1?db=2', /no query/],
    ['redis://app:hunter2@h:1/x', /database number/],
    ['redis://app:hunter2@h:99999', /not a Redis URL/],
    ['redis://app:hunter2@h1:1,h2:2', /takes --cluster/],
    // a bare comma in a password splits the URL: refused, and hidden whole
    ['redis://app:hunter2,x@h1:1', /not a Redis URL/],
    ['redis://app:%E0%A4%A@h:1', /percent-encoding/],
    ['', /empty/],
  ];
  for (const [url, why] of bad) {
    assert.throws(
      () => parseRedisUrl(url),
      (err: Error) => {
        assert.ok(err instanceof RedisUrlError, url);
        assert.match(err.message, why, url);
        assert.doesNotMatch(err.message, /hunter2/, url);
        return true;
      },
    );
  }
});

test('formatRedisUrl writes a target back, without its password', () => {
  const target = parseRedisUrl('rediss://app:pw@h1:1,[::1]:2', { cluster: true });
  assert.equal(formatRedisUrl(target), 'rediss://app@h1:1,[::1]:2');
  assert.equal(formatRedisUrl(parseRedisUrl('redis://:pw@h:1/4')), 'redis://h:1/4');
  const { password, ...rest } = target;
  assert.equal(password, 'pw');
  assert.deepEqual(parseRedisUrl(formatRedisUrl(target), { cluster: true }), rest);
});
