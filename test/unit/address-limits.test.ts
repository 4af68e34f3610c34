import assert from 'node:assert/strict';
import { test } from 'node:test';
import proxyProtocol from 'proxy-protocol-js';
import { AddressEntry, AddressLimits, type AddressLimit } from '../../src/server/address-limits.js';
import {
  addressKey,
  addressMatcher,
  checkAddressList,
  normalizeAddress,
  readHeader,
} from '../../src/server/client-address.js';
import { avoids, addressRef, type Seeker } from '../../src/server/ports.js';
import { ManualClock } from '../../src/util/clock.js';

const config = { connections: 3, connectRate: 1, connectBurst: 2, chatsPerMinute: 6 };

function limits(exempt = '') {
  const clock = new ManualClock();
  const limited: AddressLimit[] = [];
  const l = new AddressLimits(config, addressMatcher(exempt), clock, { limited: (x) => limited.push(x) });
  return { l, clock, limited };
}

test('connections per address: at most the limit open, each address counted apart', () => {
  const { l, clock, limited } = limits();
  const held: AddressEntry[] = [];
  for (let i = 0; i < 3; i++) {
    const e = l.admit('203.0.113.7');
    assert.ok(e instanceof AddressEntry, `connection ${i}`);
    held.push(e);
    clock.advance(1000); // within the rate
  }
  assert.equal(l.admit('203.0.113.7'), 'connections');
  assert.ok(l.admit('203.0.113.8') instanceof AddressEntry, 'another address is not affected');
  held[0]!.release();
  assert.ok(l.admit('203.0.113.7') instanceof AddressEntry, 'a closed connection frees its place');
  assert.deepEqual(limited, ['connections']);
});

test('new connections per address: a burst, then the rate', () => {
  const { l, clock, limited } = limits();
  const a = l.admit('198.51.100.1');
  const b = l.admit('198.51.100.1');
  assert.ok(a instanceof AddressEntry && b instanceof AddressEntry);
  a.release();
  b.release();
  assert.equal(l.admit('198.51.100.1'), 'rate', 'the burst of 2 is spent');
  clock.advance(999);
  assert.equal(l.admit('198.51.100.1'), 'rate');
  clock.advance(1);
  assert.ok(l.admit('198.51.100.1') instanceof AddressEntry, 'one more after a second at 1/s');
  assert.deepEqual(limited, ['rate', 'rate']);
});

test('sockets per address are limited apart from connections, at twice their number', () => {
  const { l } = limits();
  const sockets = [0, 1, 2, 3, 4, 5].map(() => l.openSocket('192.0.2.1'));
  assert.ok(sockets.every((s) => s instanceof AddressEntry));
  assert.equal(l.openSocket('192.0.2.1'), 'sockets');
  (sockets[0] as AddressEntry).releaseSocket();
  assert.ok(l.openSocket('192.0.2.1') instanceof AddressEntry);
});

test('new chats per address: as many as the per-minute limit at once, then one per 60/limit s', () => {
  const { l, clock, limited } = limits();
  const e = l.admit('192.0.2.9') as AddressEntry;
  for (let i = 0; i < 6; i++) assert.equal(e.takeChat(), true, `chat ${i}`);
  assert.equal(e.takeChat(), false);
  clock.advance(9_999);
  assert.equal(e.takeChat(), false);
  clock.advance(1);
  assert.equal(e.takeChat(), true, 'one more after 10 s at 6/min');
  assert.deepEqual(limited, ['chats', 'chats']);
});

test('an exempt address is not counted at all', () => {
  const { l } = limits('10.0.0.0/8,loopback');
  for (let i = 0; i < 50; i++) {
    assert.equal(l.admit('10.1.2.3'), null);
    assert.equal(l.admit('127.0.0.1'), null);
    assert.equal(l.openSocket('::1'), null);
  }
  assert.equal(l.size, 0);
});

test('an IPv6 /64 is one address; IPv4-mapped IPv6 is the IPv4 address', () => {
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2:bbbb::2'), '2001:db8:1:2::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
  assert.equal(normalizeAddress('::ffff:203.0.113.5'), '203.0.113.5');
  const { l, clock } = limits();
  for (let i = 1; i <= 3; i++) {
    assert.ok(l.admit(`2001:db8:1:2::${i}`) instanceof AddressEntry);
    clock.advance(1000);
  }
  assert.equal(l.admit('2001:db8:1:2::99'), 'connections', 'the same /64');
});

test('idle addresses are forgotten once their buckets are full again, not before', () => {
  const { l, clock } = limits();
  const e = l.admit('192.0.2.50') as AddressEntry;
  e.release();
  l.sweep();
  assert.equal(l.size, 1, 'its rate bucket is not full: forgetting it would reset the rate limit');
  clock.advance(2000);
  l.sweep();
  assert.equal(l.size, 0);
  const f = l.admit('192.0.2.51') as AddressEntry;
  clock.advance(60_000);
  l.sweep();
  assert.equal(l.size, 1, 'an address holding a connection is kept');
  f.release();
  l.sweep();
  assert.equal(l.size, 0);
});

test('the address tag is the same for the same address, and differs between addresses', () => {
  const { l } = limits();
  const a = l.admit('192.0.2.60') as AddressEntry;
  const b = limits().l.admit('192.0.2.60') as AddressEntry;
  const c = l.admit('192.0.2.61') as AddressEntry;
  assert.equal(a.tag, b.tag, 'same on every server');
  assert.notEqual(a.tag, c.tag);
  assert.ok(!a.tag.includes('192'), 'the address itself does not travel');
});

test('the next rule: a seeker avoids a former partner and any seeker from its address', () => {
  const seeker = (session: string, from?: string, avoid?: Map<string, number>): Seeker => ({
    session,
    server: 's',
    track: 't',
    seq: 1,
    since: 0,
    from,
    avoid,
  });
  const victim = seeker(
    'v',
    'home',
    new Map([
      ['spammer1', 100],
      [addressRef('spamnet'), 100],
    ]),
  );
  assert.equal(avoids(victim, seeker('spammer1'), 50), true);
  assert.equal(
    avoids(victim, seeker('spammer2', 'spamnet'), 50),
    true,
    'a new session from the same address',
  );
  assert.equal(avoids(victim, seeker('other', 'elsewhere'), 50), false);
  assert.equal(avoids(victim, seeker('spammer2', 'spamnet'), 100), false, 'the ban ends');
});

test('address lists: CIDRs, addresses and names; a bad entry names the flag', () => {
  const m = addressMatcher('10.0.0.0/8, 192.0.2.7,loopback');
  assert.equal(m('10.200.0.1'), true);
  assert.equal(m('192.0.2.7'), true);
  assert.equal(m('192.0.2.8'), false);
  assert.equal(m('127.3.4.5'), true);
  assert.equal(m('::1'), true);
  assert.equal(addressMatcher('')('127.0.0.1'), false);
  assert.match(checkAddressList('10.0.0.0/99') ?? '', /10\.0\.0\.0\/99|invalid/i);
  assert.match(checkAddressList('not-an-address') ?? '', /not-an-address/);
  assert.throws(() => addressMatcher('nope', '--trust-proxy'), /--trust-proxy/);
});

test('PROXY headers: v2 (IPv4, IPv6, LOCAL) and v1 give the client address and their length', () => {
  const v2 = Buffer.from(
    new proxyProtocol.V2ProxyProtocol(
      proxyProtocol.Command.PROXY,
      proxyProtocol.TransportProtocol.STREAM,
      new proxyProtocol.IPv4ProxyAddress(
        proxyProtocol.IPv4Address.createFrom([203, 0, 113, 9]),
        40000,
        proxyProtocol.IPv4Address.createFrom([10, 0, 0, 1]),
        8080,
      ),
    ).build(),
  );
  const rest = Buffer.from('GET / HTTP/1.1\r\n');
  assert.deepEqual(readHeader(Buffer.concat([v2, rest])), { length: v2.length, address: '203.0.113.9' });
  assert.equal(readHeader(v2.subarray(0, 10)), 'more');
  assert.equal(readHeader(v2.subarray(0, v2.length - 1)), 'more');

  const v6 = Buffer.from(
    new proxyProtocol.V2ProxyProtocol(
      proxyProtocol.Command.PROXY,
      proxyProtocol.TransportProtocol.STREAM,
      new proxyProtocol.IPv6ProxyAddress(
        proxyProtocol.IPv6Address.createFrom([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]),
        40000,
        proxyProtocol.IPv6Address.createFrom([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        8080,
      ),
    ).build(),
  );
  assert.deepEqual(readHeader(v6), { length: v6.length, address: '2001:db8::5' });

  const local = Buffer.from(
    new proxyProtocol.V2ProxyProtocol(
      proxyProtocol.Command.LOCAL,
      proxyProtocol.TransportProtocol.UNSPEC,
      new proxyProtocol.UnspecProxyAddress(),
    ).build(),
  );
  assert.deepEqual(readHeader(local), { length: local.length, address: undefined }, 'a health check');

  const v1 = Buffer.from('PROXY TCP4 198.51.100.4 10.0.0.1 5555 8080\r\nGET /');
  assert.deepEqual(readHeader(v1), { length: 44, address: '198.51.100.4' });
  assert.equal(readHeader(Buffer.from('PROXY TCP4 198.51')), 'more');
  assert.deepEqual(readHeader(rest), { length: 0, address: undefined }, 'no header at all');
  assert.deepEqual(readHeader(Buffer.from('POST /x')), { length: 0, address: undefined });
  assert.match(String(readHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`))), /too long/);
  assert.match(String(readHeader(Buffer.from('PROXY TCP4 nonsense\r\n'))), /bad PROXY v1/);
});
