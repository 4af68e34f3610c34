/**
 * Validation of client frames at the edge. Nothing else parses client frames.
 * Never throws: every fault becomes a result with a stable error code.
 */
import {
  CLIENT_MESSAGE_TYPES,
  Limits,
  type ClientMessage,
  type ClientMessageType,
  type ErrorCode,
  type MessageId,
} from './messages.js';
import {
  codePointLength,
  hasControl,
  hasLoneSurrogate,
  isOnlyWhiteSpace,
  stripInvisible,
  trimUnicode,
} from './text.js';
import { normalizeTrack } from './track.js';

export interface ParseFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** The offending message's id, only when it was valid. */
  id?: MessageId;
}
export type ParseResult = { ok: true; message: ClientMessage } | ParseFailure;

const TYPES = new Set<string>(CLIENT_MESSAGE_TYPES);

export function isValidId(id: unknown): id is MessageId {
  if (typeof id === 'number') return Number.isSafeInteger(id);
  if (typeof id === 'string') {
    return id.length > 0 && codePointLength(id) <= Limits.maxIdCodePoints;
  }
  return false;
}

/** Parses and validates one client frame (a JSON text). */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_json', message: 'the frame is not valid JSON' };
  }
  return validateClientMessage(value);
}

/** Validates an already-decoded client message. Search tracks come back normalised. */
export function validateClientMessage(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_json', message: 'the frame is not a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  const rawId = obj.id;
  const id = isValidId(rawId) ? rawId : undefined;
  const fail = (code: ErrorCode, message: string): ParseFailure =>
    id === undefined ? { ok: false, code, message } : { ok: false, code, message, id };

  const type = obj.type;
  if (type === undefined) return fail('bad_request', 'type is missing');
  if (typeof type !== 'string') return fail('bad_request', 'type must be a string');
  if (!TYPES.has(type)) return fail('unknown_type', `unknown message type "${clip(type)}"`);

  switch (type as ClientMessageType) {
    case 'search': {
      if (typeof obj.track !== 'string') return fail('bad_request', 'search.track must be a string');
      const track = normalizeTrack(obj.track);
      if (!track.ok) return fail('bad_request', track.message);
      let name: string | undefined;
      if (obj.name !== undefined) {
        if (typeof obj.name !== 'string') return fail('bad_request', 'search.name must be a string');
        if (hasLoneSurrogate(obj.name)) return fail('bad_request', 'search.name contains a lone surrogate');
        // bidi controls and zero-width characters would reorder or hide the text around a name
        name = trimUnicode(stripInvisible(obj.name));
        if (codePointLength(name) > Limits.maxNameCodePoints) {
          return fail('bad_request', `search.name is longer than ${Limits.maxNameCodePoints} characters`);
        }
        if (hasControl(name)) return fail('bad_request', 'search.name contains a control character');
        if (name === '') name = undefined;
      }
      return {
        ok: true,
        message:
          name === undefined
            ? { type: 'search', track: track.track }
            : { type: 'search', track: track.track, name },
      };
    }
    case 'say': {
      const idError = checkOptionalId(rawId);
      if (idError) return fail('bad_request', idError);
      const text = obj.text;
      if (typeof text !== 'string') return fail('bad_request', 'say.text must be a string');
      // kept as typed otherwise: the page shows each message in its own element, as text
      if (hasLoneSurrogate(text)) return fail('bad_request', 'say.text contains a lone surrogate');
      const length = codePointLength(text);
      if (length < 1) return fail('bad_request', 'say.text is empty');
      if (length > Limits.maxTextCodePoints) {
        return fail('bad_request', `say.text is longer than ${Limits.maxTextCodePoints} characters`);
      }
      if (isOnlyWhiteSpace(text)) return fail('bad_request', 'say.text is only whitespace');
      return { ok: true, message: id === undefined ? { type: 'say', text } : { type: 'say', text, id } };
    }
    case 'ping': {
      const idError = checkOptionalId(rawId);
      if (idError) return fail('bad_request', idError);
      return { ok: true, message: id === undefined ? { type: 'ping' } : { type: 'ping', id } };
    }
    case 'typing':
    case 'leave':
      return { ok: true, message: { type } as ClientMessage };
    case 'resume': {
      if (typeof obj.token !== 'string') return fail('bad_request', 'resume.token must be a string');
      if (obj.last === undefined) return { ok: true, message: { type: 'resume', token: obj.token } };
      if (typeof obj.last !== 'number' || !Number.isSafeInteger(obj.last) || obj.last < 0)
        return fail('bad_request', 'resume.last must be a non-negative safe integer');
      return { ok: true, message: { type: 'resume', token: obj.token, last: obj.last } };
    }
  }
}

function checkOptionalId(id: unknown): string | undefined {
  if (id === undefined || isValidId(id)) return undefined;
  return `id must be a non-empty string of at most ${Limits.maxIdCodePoints} characters or a safe integer`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
