import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lifecycle } from '../../src/server/lifecycle.js';

function recorder() {
  const log: string[] = [];
  const part = (name: string, failOpen = false, failClose = false) => ({
    name,
    open: async () => {
      await Promise.resolve();
      if (failOpen) throw new Error(`${name} failed`);
      log.push(`open ${name}`);
    },
    close: () => {
      log.push(`close ${name}`);
      if (failClose) throw new Error(`${name} close failed`);
    },
  });
  return { log, part };
}

test('parts open in order and close in reverse, once', async () => {
  const { log, part } = recorder();
  const life = new Lifecycle().add(part('a')).add(part('b')).add(part('c'));
  await life.open();
  await Promise.all([life.close(), life.close()]);
  assert.deepEqual(log, ['open a', 'open b', 'open c', 'close c', 'close b', 'close a']);
});

test('a part that fails to open closes those before it, and its error is thrown', async () => {
  const { log, part } = recorder();
  const life = new Lifecycle().add(part('a')).add(part('b', true)).add(part('c'));
  await assert.rejects(life.open(), /b failed/);
  assert.deepEqual(log, ['open a', 'close a']);
});

test('a part that fails to close is reported and the others still close', async () => {
  const { log, part } = recorder();
  const errors: string[] = [];
  const life = new Lifecycle((name) => errors.push(name)).add(part('a')).add(part('b', false, true));
  await life.open();
  await life.close();
  assert.deepEqual(log, ['open a', 'open b', 'close b', 'close a']);
  assert.deepEqual(errors, ['b']);
});
