/**
 * A fake Spotify on a loopback port, for --spotify-upstream: every Spotify host
 * under its own path (`/open.spotify.com/oembed`, `/api.spotify.com/v1/tracks/…`,
 * `/accounts.spotify.com/api/token`, `/spotify.link/<code>`), answering from
 * the tracks and links a test gives it, recording every request. Closed after
 * the test; nothing leaves loopback.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface FakeTrack {
  title: string;
  artists: string[];
  /** Defaults to an i.scdn.co address made from the id. */
  cover?: string;
}

export interface FakeLink {
  /** Default 307. */
  status?: number;
  location?: string;
}

export const CLIENT_ID = 'test-client';
export const CLIENT_SECRET = 'test-secret';

export interface FakeSpotify {
  /** The base URL for --spotify-upstream. */
  readonly url: string;
  readonly tracks: Map<string, FakeTrack>;
  readonly links: Map<string, FakeLink>;
  /** Every request, as `METHOD /host/path?query`. */
  readonly requests: string[];
  /** Requests of one kind so far: oembed, api, token, link. */
  count(kind: 'oembed' | 'api' | 'token' | 'link'): number;
  /** Answers every request this many ms late (0: at once). */
  delayMs: number;
  /** When set, every request waits until release() (or the client gives up). */
  hold: boolean;
  /** Requests waiting in hold now. */
  readonly held: number;
  release(): void;
  /** When set, every request is answered with this status (and Retry-After: 30 for 429). */
  failWith: number | null;
  /** Requests in progress now, and the most there were at once. */
  readonly inProgress: number;
  readonly maxInProgress: number;
  close(): Promise<void>;
}

/** The cover the fake gives a track without one of its own. */
export const fakeCover = (id: string) =>
  `https://i.scdn.co/image/ab67616d00001e02${Buffer.from(id).toString('hex').slice(0, 24)}`;

export async function startFakeSpotify(t: TestContext): Promise<FakeSpotify> {
  const tracks = new Map<string, FakeTrack>();
  const links = new Map<string, FakeLink>();
  const requests: string[] = [];
  const waiting: Array<() => void> = [];
  let inProgress = 0;
  let maxInProgress = 0;
  let tokens = 0;

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (fake.failWith !== null) {
      res.writeHead(fake.failWith, fake.failWith === 429 ? { 'retry-after': '30' } : {});
      return res.end();
    }
    if (url.pathname === '/open.spotify.com/oembed') {
      const id = /^https:\/\/open\.spotify\.com\/track\/([A-Za-z0-9]{22})$/.exec(
        url.searchParams.get('url') ?? '',
      )?.[1];
      const track = id && tracks.get(id);
      if (!id || !track) return json(404, { error: 'not found' });
      return json(200, {
        type: 'rich',
        version: '1.0',
        provider_name: 'Spotify',
        title: track.title,
        thumbnail_url: track.cover ?? fakeCover(id),
        thumbnail_width: 300,
        thumbnail_height: 300,
        html: '<iframe></iframe>',
      });
    }
    if (url.pathname === '/accounts.spotify.com/api/token' && req.method === 'POST') {
      const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
      if (req.headers.authorization !== `Basic ${basic}`) return json(400, { error: 'invalid_client' });
      return json(200, { access_token: `token-${++tokens}`, token_type: 'Bearer', expires_in: 3600 });
    }
    const api = /^\/api\.spotify\.com\/v1\/tracks\/([A-Za-z0-9]{22})$/.exec(url.pathname);
    if (api) {
      if (!/^Bearer token-\d+$/.test(req.headers.authorization ?? '')) return json(401, {});
      const id = api[1]!;
      const track = tracks.get(id);
      if (!track) return json(404, { error: { status: 404, message: 'Non existing id' } });
      const cover = track.cover ?? fakeCover(id);
      return json(200, {
        id,
        name: track.title,
        artists: track.artists.map((name) => ({ name })),
        album: {
          images: [
            { url: `${cover}640`, width: 640, height: 640 },
            { url: cover, width: 300, height: 300 },
            { url: `${cover}64`, width: 64, height: 64 },
          ],
        },
      });
    }
    const link = /^\/spotify\.link\/([^/]+)$/.exec(url.pathname);
    if (link) {
      const target = links.get(link[1]!);
      if (!target) return json(404, {});
      res.writeHead(target.status ?? 307, target.location ? { location: target.location } : {});
      return res.end();
    }
    json(404, { error: 'no such fake endpoint' });
  };

  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    inProgress++;
    maxInProgress = Math.max(maxInProgress, inProgress);
    res.on('close', () => inProgress--);
    const go = () => {
      if (!res.destroyed) answer(req, res);
    };
    if (fake.hold) waiting.push(go);
    else if (fake.delayMs > 0) setTimeout(go, fake.delayMs);
    else go();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const kinds = {
    oembed: ' /open.spotify.com/oembed',
    api: ' /api.spotify.com/v1/tracks/',
    token: ' /accounts.spotify.com/api/token',
    link: ' /spotify.link/',
  };
  const fake: FakeSpotify = {
    url: `http://127.0.0.1:${port}`,
    tracks,
    links,
    requests,
    count: (kind) => requests.filter((r) => r.includes(kinds[kind])).length,
    delayMs: 0,
    hold: false,
    get held() {
      return waiting.length;
    },
    release() {
      fake.hold = false;
      for (const go of waiting.splice(0)) go();
    },
    failWith: null,
    get inProgress() {
      return inProgress;
    },
    get maxInProgress() {
      return maxInProgress;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  t.after(() => fake.close());
  return fake;
}
