import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shortLinkCode, typedShortLink } from '../../src/protocol/track-info.js';

test('a short link is https://spotify.link/<code> and nothing else', () => {
  assert.equal(shortLinkCode('https://spotify.link/AbC12_-z'), 'AbC12_-z');
  assert.equal(shortLinkCode('http://spotify.link/AbC12_-z/?si=1#x'), 'AbC12_-z');
  assert.equal(shortLinkCode('HTTPS://Spotify.Link/abc'), 'abc');
  for (const url of [
    'https://spotify.link',
    'https://spotify.link/',
    'https://spotify.link/a/b',
    'https://spotify.link/a%2Fb',
    'https://spotify.link/a.b',
    'https://spotify.link:443x/abc',
    'https://spotify.link:8443/abc',
    'https://u:p@spotify.link/abc',
    'https://spotify.link.example/abc',
    'https://xspotify.link/abc',
    'https://spotify.link./abc',
    'ws://spotify.link/abc',
    'spotify.link/abc',
    `https://spotify.link/${'x'.repeat(65)}`,
    'not a url',
  ]) {
    assert.equal(shortLinkCode(url), null, url);
  }
});

test('what a user types is a short link with or without its scheme', () => {
  assert.equal(typedShortLink('  spotify.link/AbC12 '), 'https://spotify.link/AbC12');
  assert.equal(typedShortLink('https://spotify.link/AbC12?si=x'), 'https://spotify.link/AbC12');
  assert.equal(typedShortLink('SPOTIFY.LINK/AbC12'), 'https://spotify.link/AbC12');
  assert.equal(typedShortLink('https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC'), null);
  assert.equal(typedShortLink('spotify.linkage/abc'), null);
  assert.equal(typedShortLink('Daft Punk - One More Time'), null);
  assert.equal(typedShortLink('spotify.link/a/b'), null);
});
