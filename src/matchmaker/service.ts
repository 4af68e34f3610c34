/**
 * A matchmaker shard as a service on the bus: one leader per shard (a Redis
 * lock it renews), standbys ready to take over. A new leader asks the app
 * servers to send their seekers again (`collect`), so no search is lost when a
 * matchmaker restarts, dies or Redis restarts.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Batcher, decodeBatch } from '../bus/batcher.js';
import type { Bus } from '../bus/bus.js';
import { Liveness } from '../cluster/liveness.js';
import { Channels, opName, type AppOp, type SeekerWire, type ShardOp } from '../cluster/ops.js';
import { newId } from '../util/ids.js';
import { Matchmaker, type Seeker } from './matchmaker.js';

export interface MatchmakerServiceOptions {
  bus: Bus;
  /** For the leader lock; null: this process is always the leader (one process, memory bus). */
  redis: Redis | Cluster | null;
  id: string;
  shard: number;
  shards: number;
  searchTimeoutMs: number;
  heartbeatMs: number;
  deadAfterMs: number;
  lockMs: number;
  logger: Logger;
}

export interface MatchmakerHandle {
  readonly id: string;
  readonly shard: number;
  readonly shards: number;
  readonly leader: boolean;
  /** Seekers waiting (0 on a standby). */
  readonly waiting: number;
  /** Ops received whose handling threw (each was dropped), by op name. */
  readonly faults: ReadonlyMap<string, number>;
  /** Matches made since this process started (only ever grows; a standby makes none). */
  readonly matches: number;
  /** Searches that timed out unmatched since this process started (only ever grows). */
  readonly timeouts: number;
  /** True while the bus is connected. */
  readonly busUp: boolean;
  /** True from the moment close() is called. */
  readonly closing: boolean;
  close(): Promise<void>;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export async function startMatchmaker(o: MatchmakerServiceOptions): Promise<MatchmakerHandle> {
  const log = o.logger;
  const lockKey = `samesong:mmlock:${o.shards}:${o.shard}`;
  const channel = Channels.shard(o.shard);
  const out = new Batcher<AppOp>(o.bus);
  let matchmaker: Matchmaker | null = null;
  let closed = false;
  let busy = false;
  const faults = new Map<string, number>();
  let matches = 0;
  let timeouts = 0;

  const fromWire = (w: SeekerWire): Seeker => ({ ...w, avoid: w.avoid ? new Map(w.avoid) : undefined });
  const toWire = (s: Seeker): SeekerWire => ({ ...s, avoid: s.avoid ? [...s.avoid] : undefined });

  const lead = async () => {
    const mm = new Matchmaker(
      { searchTimeoutMs: o.searchTimeoutMs },
      {
        onMatch(waiting, arriving) {
          matches++;
          const op: AppOp = {
            op: 'match',
            chat: newId(6),
            waiting: toWire(waiting),
            arriving: toWire(arriving),
          };
          out.send(Channels.app(waiting.server), op);
          if (arriving.server !== waiting.server) out.send(Channels.app(arriving.server), op);
        },
        onTimeout(seeker) {
          timeouts++;
          out.send(Channels.app(seeker.server), {
            op: 'timeout',
            session: seeker.session,
            seq: seeker.seq,
            track: seeker.track,
          });
        },
      },
    );
    matchmaker = mm;
    await o.bus.subscribe(channel, (message) => {
      for (const op of decodeBatch<ShardOp>(message)) {
        // One op that throws is dropped, counted and logged; the rest of the batch goes on.
        try {
          if (op.op === 'seek') mm.seek(fromWire(op.seeker));
          else if (op.op === 'cancel') mm.cancel(op.session);
        } catch (err) {
          const name = opName(op);
          faults.set(name, (faults.get(name) ?? 0) + 1);
          log.error({ err, op: name, shard: o.shard }, 'handling a shard op failed; dropped');
        }
      }
    });
    await o.bus.publish(Channels.apps, JSON.stringify([{ op: 'collect', shard: o.shard, shards: o.shards }]));
    log.info({ shard: o.shard, shards: o.shards }, 'leading the shard; seekers collected from app servers');
  };

  const stepDown = async (why: string) => {
    if (!matchmaker) return;
    matchmaker.close();
    matchmaker = null;
    await o.bus.unsubscribe(channel).catch(() => {});
    log.warn({ shard: o.shard, why }, 'no longer leading the shard');
  };

  // A matchmaker that starts while another holds the lock (it was restarted after a crash) lets
  // the standbys that were already waiting take it first: it competes for a lock freed within its
  // first 1.5 lock periods only after them, so a crashed leader comes back as the standby.
  const patientUntil = Date.now() + 1.5 * o.lockMs;
  let heldAtStart = false;

  const tick = async () => {
    if (closed || busy) return;
    busy = true;
    try {
      if (!o.redis) {
        if (!matchmaker) await lead();
        return;
      }
      if (matchmaker) {
        const renewed = await o.redis.eval(RENEW, 1, lockKey, o.id, String(o.lockMs));
        if (renewed !== 1) await stepDown('lock lost');
      } else if (!heldAtStart || Date.now() >= patientUntil) {
        const got = await o.redis.set(lockKey, o.id, 'PX', o.lockMs, 'NX');
        if (got === 'OK') await lead();
        else if (Date.now() < patientUntil) heldAtStart = true;
      }
    } catch (err) {
      // Redis unreachable: keep what we have; the lock decides again when it is back.
      log.debug({ err: (err as Error).message }, 'leader lock check failed');
    } finally {
      busy = false;
    }
  };

  const liveness = new Liveness(o.bus, {
    id: o.id,
    kind: 'matchmaker',
    heartbeatMs: o.heartbeatMs,
    deadAfterMs: o.deadAfterMs,
    onDead(server, kind) {
      if (kind !== 'app' || !matchmaker) return;
      const n = matchmaker.dropServer(server);
      log.warn({ server, seekers: n }, 'app server down: its seekers left the queue');
    },
    onAlive(server, kind, again) {
      // back after it was taken for dead: its seekers left the queue, it sends them again
      if (kind !== 'app' || !again || !matchmaker) return;
      const collect = [{ op: 'collect', shard: o.shard, shards: o.shards }];
      o.bus.publish(Channels.app(server), JSON.stringify(collect)).catch(() => {});
    },
  });
  await liveness.start();
  // After an outage the lock may be gone (Redis restarted): check at once.
  o.bus.on('up', () => void tick());
  await tick();
  // Checked often (a standby takes a freed lock within 100 ms, before a crashed leader's restart
  // can), renewed well before it expires.
  const timer = setInterval(() => void tick(), Math.max(50, Math.min(100, Math.floor(o.lockMs / 3))));
  timer.unref();

  return {
    id: o.id,
    shard: o.shard,
    shards: o.shards,
    get leader() {
      return matchmaker !== null;
    },
    get waiting() {
      return matchmaker?.size ?? 0;
    },
    faults,
    get matches() {
      return matches;
    },
    get timeouts() {
      return timeouts;
    },
    get busUp() {
      return o.bus.connected;
    },
    get closing() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      liveness.close();
      out.flush();
      const wasLeader = matchmaker !== null;
      await stepDown('closing');
      if (wasLeader && o.redis) await o.redis.eval(RELEASE, 1, lockKey, o.id).catch(() => {});
    },
  };
}
