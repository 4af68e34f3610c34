/**
 * The samesong wire protocol, version 1, typed once (see PROTOCOL.md).
 * Shared by the server, the Node client, the load generator and the web page.
 */

export const PROTOCOL_VERSION = 1;

export type SessionState = 'idle' | 'searching' | 'chatting';
export type MessageId = string | number;

// ---- client → server -------------------------------------------------------

export interface SearchMessage {
  type: 'search';
  track: string;
  name?: string;
}
export interface SayMessage {
  type: 'say';
  text: string;
  id?: MessageId;
}
export interface TypingMessage {
  type: 'typing';
}
export interface LeaveMessage {
  type: 'leave';
}
export interface PingMessage {
  type: 'ping';
  id?: MessageId;
}
export interface ResumeMessage {
  type: 'resume';
  token: string;
  /** The highest `seq` the client received in its current chat (1.1). */
  last?: number;
}

export type ClientMessage =
  SearchMessage | SayMessage | TypingMessage | LeaveMessage | PingMessage | ResumeMessage;
export type ClientMessageType = ClientMessage['type'];
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'search',
  'say',
  'typing',
  'leave',
  'ping',
  'resume',
];

// ---- server → client -------------------------------------------------------

export interface WelcomeMessage {
  type: 'welcome';
  id: string;
  server: string;
  protocol: number;
  resume: string;
}
export interface SearchingMessage {
  type: 'searching';
  track: string;
}
export interface MatchedMessage {
  type: 'matched';
  chat: string;
  track: string;
  partner: string;
}
export interface NoMatchMessage {
  type: 'no_match';
  track: string;
}
export interface MsgMessage {
  type: 'msg';
  chat: string;
  text: string;
  ts: number;
  /** Position in this member's stream of the chat: 1, 2, 3, … (1.1). */
  seq: number;
}
export interface AckMessage {
  type: 'ack';
  id: MessageId;
  /** The `seq` the message got in the partner's stream (1.1). */
  seq: number;
}
export interface PartnerTypingMessage {
  type: 'typing';
}
export interface PartnerAwayMessage {
  type: 'partner_away';
  chat: string;
}
export interface PartnerBackMessage {
  type: 'partner_back';
  chat: string;
}
export type PartnerLeftReason = 'left' | 'disconnected';
export interface PartnerLeftMessage {
  type: 'partner_left';
  chat: string;
  reason: PartnerLeftReason;
}
export interface LeftMessage {
  type: 'left';
  chat?: string;
}
export interface PongMessage {
  type: 'pong';
  id?: MessageId;
  ts: number;
}
export interface ResumedMessage {
  type: 'resumed';
  id: string;
  state: SessionState;
  chat?: string;
  resume: string;
  /** Everything after `last` (or held while away) was delivered (1.1). */
  recovered: boolean;
}
export interface ByeMessage {
  type: 'bye';
  reason: string;
  retryAfterMs: number;
}
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  id?: MessageId;
}

export type ServerMessage =
  | WelcomeMessage
  | SearchingMessage
  | MatchedMessage
  | NoMatchMessage
  | MsgMessage
  | AckMessage
  | PartnerTypingMessage
  | PartnerAwayMessage
  | PartnerBackMessage
  | PartnerLeftMessage
  | LeftMessage
  | PongMessage
  | ResumedMessage
  | ByeMessage
  | ErrorMessage;
export type ServerMessageType = ServerMessage['type'];
/** The server message of a given type. */
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

// ---- errors and close codes ------------------------------------------------

export const ERROR_CODES = [
  'bad_json',
  'bad_request',
  'unknown_type',
  'not_in_chat',
  'partner_away',
  'rate_limited',
  'resume_failed',
  'unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  /** The server failed while handling one of this connection's messages (not the client's fault). */
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  takenOver: 4001,
} as const;

/** Limits fixed by the protocol. */
export const Limits = {
  maxPayloadBytes: 16_384,
  maxTextCodePoints: 1000,
  maxNameCodePoints: 32,
  maxIdCodePoints: 64,
  maxTrackCodePoints: 200,
  /** Chat messages kept per member and chat for recovery (1.1). */
  historyMessages: 100,
  /** How long a `say` may wait to be stored before it gets `unavailable` (1.1). */
  storeTimeoutMs: 10_000,
  /**
   * Chat messages held for an away partner, counting those written to its lost
   * connection that it had not been seen to read (they wait in its stream too).
   */
  maxHeldMessages: 100,
  /**
   * Chat messages written to a connection and not yet seen read (no answer to a
   * ping sent after them) at which the server pings at once to find out.
   */
  probeUnreadMessages: 32,
  /**
   * ... at which the connection is dropped as a slow reader and its session held
   * for resume. Must stay well below historyMessages: the unread messages are in
   * the member's stream, which keeps only historyMessages, and they count
   * against maxHeldMessages while it is away, so the gap between the two is what
   * its partner may still say meanwhile.
   */
  slowReaderMessages: 64,
  misbehaviourErrors: 100,
  misbehaviourWindowMs: 10_000,
} as const;
