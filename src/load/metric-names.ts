/**
 * Every metric the load generator records, in one place. Latencies are HDR
 * histograms in microseconds (mergeable across workers and agents); counters
 * are kept per second and in total.
 */

/** Latency histograms; each is measured from the intended time of the action. */
export const LATENCIES = {
  connect_time: 'from the intended arrival to the open WebSocket',
  time_to_welcome: 'from the intended arrival to the welcome message',
  time_to_match: 'from sending search to matched',
  time_to_match_hot: "time_to_match of searches for a hot track (the catalogue's hottest fraction)",
  time_to_match_cold: 'time_to_match of searches for a cold track (the rest of the catalogue)',
  message_latency: 'from the intended send time of a say to the partner receiving it (end to end)',
  ack_latency: 'from the intended send time of a say to its ack',
  expect_time: 'scripted users: from the start of an expect step to its match',
} as const;
export type LatencyName = keyof typeof LATENCIES;
export const LATENCY_NAMES = Object.keys(LATENCIES) as LatencyName[];

export const COUNTERS = {
  arrivals: 'users that arrived on schedule and started',
  arrivals_late: 'arrivals started more than 50 ms after their intended time (the generator fell behind)',
  arrivals_dropped: 'arrivals not started: over maxUsers, or more than 1 s behind schedule',
  connects: 'WebSocket connections opened',
  connect_errors: 'connections that failed to open',
  connects_abandoned: 'connections given up before they opened (the session or the run ended first)',
  sessions_done: 'sessions that ended (any way)',
  searches: 'search messages sent',
  users_matched: 'matched messages received (two per chat when the generator owns both members)',
  no_match: 'no_match messages received',
  search_timeouts: 'searches with no answer within the scenario search timeout',
  messages_sent: 'say messages sent',
  messages_acked: 'say messages acknowledged',
  messages_delivered: 'chat messages from generator users received by their partner',
  messages_lost: 'messages detected missing at the receiver (sequence gaps)',
  messages_out_of_order: 'messages received out of order',
  msgs_lost:
    "messages missing by the protocol's own numbering (1.1 seq): the gaps when a msg's seq is more than one above the last in its chat",
  msgs_duplicate:
    'msgs whose seq is not above the last in their chat (a repeat, dropped before anything else counts it)',
  messages_rejected: 'say messages answered with an error',
  messages_unconfirmed: 'say messages with neither ack nor error when the connection ended',
  errors: 'error messages received, any code, except the raced ones',
  errors_raced:
    "not_in_chat answering a say sent before partner_left arrived (the say crossed the end of the chat on the wire; the user model's race, not a fault)",
  closes_unexpected: 'connections closed or lost without the user asking',
  bad_drops: 'sessions that ended by dropping the socket on purpose (bad clients)',
  partner_away: 'partner_away messages received',
  script_failures: 'scripted users whose expect timed out or step failed',
} as const;
export type CounterName = keyof typeof COUNTERS;
export const COUNTER_NAMES = Object.keys(COUNTERS) as CounterName[];

/** Gauges sampled every second in each generator process. */
export const GAUGES = {
  users: 'virtual users alive (connecting or connected)',
  connected: 'open connections',
  chatting: 'users in a chat',
  event_loop_lag_ms: 'the worst event-loop delay in the last second',
  rss_bytes: 'resident memory of the generator processes',
} as const;
export type GaugeName = keyof typeof GAUGES;
export const GAUGE_NAMES = Object.keys(GAUGES) as GaugeName[];
