import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsOf, formatHelp, parseArgs, type OptionSpec } from '../../src/config/options.js';
import { SERVE_OPTIONS, serverConfig, toServerConfig } from '../../src/server/config.js';

const SPECS: OptionSpec[] = [
  { name: 'port', type: 'int', default: 8080, min: 0, max: 65535, env: ['APP_PORT', 'PORT'], help: 'port' },
  { name: 'ratio', type: 'number', default: 1.5, min: 0.1, help: 'ratio' },
  { name: 'host', type: 'string', default: 'localhost', help: 'host' },
  { name: 'level', type: 'string', default: 'info', choices: ['info', 'warn'], help: 'level' },
  { name: 'color', type: 'bool', default: true, env: ['APP_COLOR'], help: 'color' },
  { name: 'urls', type: 'list', default: [], help: 'urls' },
];

test('defaults when nothing is given', () => {
  const r = parseArgs(SPECS, []);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.values, defaultsOf(SPECS));
  assert.equal(r.help, false);
});

test('values as --x v and --x=v; the last one wins; lists accumulate', () => {
  const r = parseArgs(SPECS, [
    '--port',
    '1',
    '--port=2',
    '--ratio=0.5',
    '--host',
    'h',
    '--urls',
    'a,b',
    '--urls=c',
  ]);
  assert.deepEqual(r.errors, []);
  assert.equal(r.values.port, 2);
  assert.equal(r.values.ratio, 0.5);
  assert.equal(r.values.host, 'h');
  assert.deepEqual(r.values.urls, ['a', 'b', 'c']);
});

test('booleans: --x, --no-x, --x=false', () => {
  assert.equal(parseArgs(SPECS, ['--no-color']).values.color, false);
  assert.equal(parseArgs(SPECS, ['--color']).values.color, true);
  assert.equal(parseArgs(SPECS, ['--color=false']).values.color, false);
  assert.match(parseArgs(SPECS, ['--color=maybe']).errors[0]!, /--color must be true or false/);
  assert.match(parseArgs(SPECS, ['--no-port']).errors[0]!, /unknown option --no-port/);
});

test('every problem is reported, each naming its flag', () => {
  const r = parseArgs(SPECS, [
    '--nope',
    '-x',
    '--port',
    'abc',
    '--ratio',
    '0.01',
    '--level',
    'loud',
    '--host',
  ]);
  assert.deepEqual(r.errors, [
    'unknown option --nope',
    'unknown option -x',
    'option --host needs a value',
    '--port must be a whole number, got "abc"',
    '--ratio must be at least 0.1, got 0.01',
    '--level must be one of info, warn, got "loud"',
  ]);
});

test('numbers: whole numbers, ranges, empty and non-finite values', () => {
  const err = (argv: string[]) => parseArgs(SPECS, argv).errors;
  assert.match(err(['--port', '1.5'])[0]!, /whole number/);
  assert.match(err(['--port', '65536'])[0]!, /at most 65535/);
  assert.match(err(['--port', '-1'])[0]!, /at least 0/);
  assert.match(err(['--port='])[0]!, /whole number, got ""/);
  assert.match(err(['--ratio', 'Infinity'])[0]!, /a number/);
  assert.match(err(['--ratio', 'NaN'])[0]!, /a number/);
  assert.match(err(['--port', '--host'])[0]!, /--port needs a value/);
  assert.equal(parseArgs(SPECS, ['--port', '0']).values.port, 0);
  assert.equal(parseArgs(SPECS, ['--port', '65535']).values.port, 65535);
});

test('environment variables: used when the flag is absent, first one set wins, checked the same way', () => {
  assert.equal(parseArgs(SPECS, [], { PORT: '81' }).values.port, 81);
  assert.equal(parseArgs(SPECS, [], { APP_PORT: '82', PORT: '81' }).values.port, 82);
  assert.equal(parseArgs(SPECS, [], { APP_PORT: '', PORT: '81' }).values.port, 81);
  assert.equal(parseArgs(SPECS, ['--port', '83'], { APP_PORT: '82' }).values.port, 83);
  assert.equal(parseArgs(SPECS, [], { APP_COLOR: 'off' }).values.color, false);
  assert.deepEqual(parseArgs(SPECS, [], { APP_PORT: 'x' }).errors, [
    'APP_PORT must be a whole number, got "x"',
  ]);
});

test('help and positionals', () => {
  const r = parseArgs(SPECS, ['-h', 'pos', '--', '--port', 'x']);
  assert.equal(r.help, true);
  assert.deepEqual(r.positionals, ['pos', '--port', 'x']);
  assert.deepEqual(r.errors, []);
  assert.equal(parseArgs(SPECS, ['--help']).help, true);
});

test('--help text lists every option with its default and environment names', () => {
  const text = formatHelp({ usage: 'x [options]', summary: 'Does x.' }, SPECS);
  assert.match(text, /^Usage: x \[options\]/);
  for (const s of SPECS) assert.match(text, new RegExp(`--${s.name}`));
  assert.match(text, /\[default: 8080\] \[env: APP_PORT, PORT\]/);
  assert.match(text, /\(info \| warn\)/);
  assert.match(text, /-h, --help/);
});

test('serve options: the documented defaults and SAMESONG_* names', () => {
  const c = toServerConfig(parseArgs(SERVE_OPTIONS, []).values);
  assert.deepEqual(
    {
      port: c.port,
      searchTimeout: c.searchTimeout,
      resumeGrace: c.resumeGrace,
      pingInterval: c.pingInterval,
      nextWindow: c.nextWindow,
      rate: c.rate,
      burst: c.burst,
      drainTimeout: c.drainTimeout,
    },
    {
      port: 8080,
      searchTimeout: 30,
      resumeGrace: 15,
      pingInterval: 25,
      nextWindow: 60,
      rate: 10,
      burst: 20,
      drainTimeout: 10,
    },
  );
  for (const s of SERVE_OPTIONS) {
    const name = `SAMESONG_${s.name.toUpperCase().replaceAll('-', '_')}`;
    assert.ok(s.env?.includes(name), `${s.name} reads ${name}`);
  }
  const env = parseArgs(SERVE_OPTIONS, [], { SAMESONG_SEARCH_TIMEOUT: '2.5', SAMESONG_RATE: '3' });
  assert.deepEqual(env.errors, []);
  assert.equal(toServerConfig(env.values).searchTimeout, 2.5);
  assert.equal(toServerConfig(env.values).rate, 3);
  assert.ok(Object.isFrozen(serverConfig({ port: 1 })));
  assert.equal(serverConfig({ port: 1 }).port, 1);
});
