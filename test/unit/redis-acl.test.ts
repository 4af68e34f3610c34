import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  aclFileLine,
  aclUsersOf,
  hashedPassword,
  newRoleUsers,
  REDIS_CONF,
  withPasswords,
} from '../../src/ops/redis-acl.js';

const conf = readFileSync(REDIS_CONF, 'utf8');
const userLines = (text: string) => text.split('\n').filter((l) => l.startsWith('user '));

test('deploy/redis.conf turns the default user off and ships placeholders, not passwords', () => {
  const lines = userLines(conf);
  assert.equal(lines[0], 'user default off resetpass resetkeys resetchannels -@all');
  for (const role of ['app', 'matchmaker', 'admin']) {
    const line = lines.find((l) => l.startsWith(`user ${role} `));
    assert.ok(line, role);
    // '#<…>' is no SHA-256: redis-server refuses the file until it is replaced
    assert.match(line, new RegExp(` #<sha256-of-the-${role}-password> `), role);
    assert.doesNotMatch(line, / >/, `${role}: no clear-text password`);
  }
});

test('each role gets its own fresh password; the file gets their hashes', () => {
  const a = newRoleUsers(conf);
  const b = newRoleUsers(conf);
  assert.deepEqual(Object.keys(a), ['app', 'matchmaker', 'admin']);
  const passwords = Object.values(a).map((u) => u.password);
  assert.equal(new Set([...passwords, ...Object.values(b).map((u) => u.password)]).size, 6);
  for (const p of passwords) assert.ok(p.length >= 32, 'long random passwords');
  assert.equal(hashedPassword('pw'), `#${createHash('sha256').update('pw').digest('hex')}`);

  const given = Object.fromEntries(Object.values(a).map((u) => [u.username, u.password]));
  const rendered = withPasswords(conf, given);
  assert.doesNotMatch(rendered, /#<sha256/);
  for (const u of Object.values(a)) {
    assert.ok(!rendered.includes(u.password), 'only hashes in the file');
    assert.ok(rendered.includes(hashedPassword(u.password)));
  }
  // everything else as shipped
  assert.deepEqual(
    rendered.split('\n').filter((l) => !l.startsWith('user ')),
    conf.split('\n').filter((l) => !l.startsWith('user ')),
  );
  assert.throws(() => withPasswords(conf, { app: 'x' }), /no password given for the Redis user matchmaker/);
});

test('an ACL file line keeps the rules of deploy/redis.conf and ends with the hash', () => {
  const [app] = aclUsersOf(conf, { app: 'pw', matchmaker: 'pw2', admin: 'pw3' });
  assert.equal(app!.username, 'app');
  const line = aclFileLine(app!);
  const shipped = userLines(conf).find((l) => l.startsWith('user app '))!;
  assert.equal(line, `${shipped.replace(' #<sha256-of-the-app-password>', '')} ${hashedPassword('pw')}`);
});
