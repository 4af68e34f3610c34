/**
 * The Redis ACL users of deploy/redis.conf, one per role, with passwords put
 * in: the local deployment (`samesong up`) runs redis-server with these very
 * users and fresh passwords, so what the shipped file allows is what the
 * deployment is tested with.
 *
 * In a `user` line of the file the one word starting with `#` or `>` is the
 * password (shipped as a `#<…>` placeholder that redis-server refuses); the
 * rest are its rules.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpsError } from './errors.js';
import { DEPLOY_DIR } from './haproxy.js';

export const REDIS_CONF = join(DEPLOY_DIR, 'redis.conf');

/** The roles that sign in to Redis: the two kinds of process, and the operator. */
export const REDIS_ROLES = ['app', 'matchmaker', 'admin'] as const;
export type RedisRole = (typeof REDIS_ROLES)[number];

export interface RedisCredentials {
  username: string;
  password: string;
}

export interface RedisAclUser extends RedisCredentials {
  /** Its rules: on/off, commands, keys, channels (what follows the name in a `user` line, less the password). */
  rules: string;
}

/** A new random password (192 bits, URL-safe). */
export function newRedisPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** What Redis keeps of a password: `#` and its SHA-256 in hex. */
export function hashedPassword(password: string): string {
  return `#${createHash('sha256').update(password).digest('hex')}`;
}

const isPassword = (word: string) => word.startsWith('#') || word.startsWith('>');

interface UserLine {
  /** Index of the line in the file. */
  line: number;
  name: string;
  words: string[];
}

function userLines(conf: string): UserLine[] {
  return conf.split('\n').flatMap((text, line) => {
    const words = text.trim().split(/\s+/);
    return words[0] === 'user' && words[1] ? [{ line, name: words[1], words: words.slice(2) }] : [];
  });
}

/**
 * The users of a redis.conf that sign in with a password (not `default`),
 * with the passwords given; an OpsError when one of them has none given.
 */
export function aclUsersOf(conf: string, passwords: Readonly<Record<string, string>>): RedisAclUser[] {
  return userLines(conf)
    .filter((u) => u.words.some(isPassword))
    .map((u) => {
      const password = passwords[u.name];
      if (!password) throw new OpsError('bad_options', `no password given for the Redis user ${u.name}`);
      return { username: u.name, password, rules: u.words.filter((w) => !isPassword(w)).join(' ') };
    });
}

/** The roles' users from deploy/redis.conf, each with a new random password. */
export function newRoleUsers(conf = readFileSync(REDIS_CONF, 'utf8')): Record<RedisRole, RedisAclUser> {
  const users = aclUsersOf(conf, Object.fromEntries(REDIS_ROLES.map((r) => [r, newRedisPassword()])));
  const byName = new Map(users.map((u) => [u.username, u]));
  const missing = REDIS_ROLES.filter((r) => !byName.has(r));
  if (missing.length > 0) {
    throw new OpsError('bad_options', `${REDIS_CONF} has no ACL user for ${missing.join(', ')}`);
  }
  return Object.fromEntries(REDIS_ROLES.map((r) => [r, byName.get(r)!])) as Record<RedisRole, RedisAclUser>;
}

/** An ACL file line for a user (its password hashed, given last so that no rule resets it). */
export function aclFileLine(user: RedisAclUser): string {
  return `user ${user.username} ${user.rules} ${hashedPassword(user.password)}`;
}

/** A redis.conf with each user's password placeholder replaced by the hash of the password given. */
export function withPasswords(conf: string, passwords: Readonly<Record<string, string>>): string {
  const lines = conf.split('\n');
  for (const u of userLines(conf)) {
    if (!u.words.some(isPassword)) continue;
    const password = passwords[u.name];
    if (!password) throw new OpsError('bad_options', `no password given for the Redis user ${u.name}`);
    const words = u.words.map((w) => (isPassword(w) ? hashedPassword(password) : w));
    lines[u.line] = ['user', u.name, ...words].join(' ');
  }
  return lines.join('\n');
}
