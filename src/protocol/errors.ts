/**
 * Every error code and close code of the protocol, with what causes it: the
 * source of docs/errors.md (a test fails when the two drift apart).
 */
import { CloseCode, type ErrorCode } from './messages.js';

export const ERROR_DOCS: Record<ErrorCode, string> = {
  bad_json: 'the frame is not a JSON object (invalid JSON, an array, a string, a number, null)',
  bad_request:
    'a field is missing, of the wrong type or out of range (type missing or not a string, bad track, name, text or id; a track, name or text holding a lone surrogate)',
  unknown_type: '`type` is not one of the client message types',
  not_in_chat: '`say` or `typing` while not chatting',
  partner_away:
    '`say` while 100 messages already wait for an away partner (those written to its lost connection that it had not read included); the message is not held',
  rate_limited:
    'more than the per-connection message rate (default 10/s, bursts of 20); the message is dropped',
  resume_failed:
    'a wrong, spent or expired token, or `resume` that is not the first message; the connection carries on as a new session',
  unavailable:
    'a `say` that could not be stored (where the partner can still get it if one process dies) within 10 s; it was not delivered and may be sent again',
};

export const CLOSE_DOCS: Record<number, string> = {
  [CloseCode.protocolError]:
    'a frame that breaks RFC 6455 (for example an unmasked client frame); the session ends',
  [CloseCode.unsupportedData]: 'a binary frame; the session ends',
  [CloseCode.invalidPayload]: 'a text frame that is not valid UTF-8; the session ends',
  [CloseCode.policyViolation]: 'more than 100 errors within 10 s; the session ends',
  [CloseCode.messageTooBig]: 'a message over 16,384 bytes, reassembled; the session ends',
  [CloseCode.internalError]:
    'the server failed while handling a message of this connection (a fault of the server, counted in `/metrics`); the session is held for resume',
  [CloseCode.serviceRestart]: 'the server is draining (after `bye`); the session is held for resume',
  [CloseCode.tryAgainLater]: 'the server is full (connection or open-file limit); no session was made',
  [CloseCode.takenOver]: 'the session was taken over by a `resume` on another connection',
};
