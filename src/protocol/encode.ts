/**
 * Server frames built without JSON.stringify of a whole object, for the
 * messages a chat sends most: `msg`, `ack` and `typing`. Each produces exactly
 * the text JSON.stringify gives for the same message (test/unit/encode.test.ts).
 */
import type { MessageId } from './messages.js';

/** `{"type":"typing"}`, encoded once. */
export const TYPING_FRAME = '{"type":"typing"}';

/** A `msg` frame; only the text (and a chat id, which is a plain string) is escaped. */
export function encodeMsg(chat: string, text: string, ts: number, seq: number): string {
  return `${msgPrefix(chat)}"text":${JSON.stringify(text)},"ts":${ts},"seq":${seq}}`;
}

/** How every encoded `msg` frame of `chat` begins. */
export function msgPrefix(chat: string): string {
  return `{"type":"msg","chat":${JSON.stringify(chat)},`;
}

/** The `seq` of an encoded `msg` frame (the last field, written by encodeMsg). */
export function seqOfMsg(frame: string): number {
  const at = frame.lastIndexOf('"seq":');
  return at < 0 ? 0 : Number(frame.slice(at + 6, -1));
}

/** An `ack` frame. */
export function encodeAck(id: MessageId, seq: number): string {
  return typeof id === 'number'
    ? `{"type":"ack","id":${id},"seq":${seq}}`
    : `{"type":"ack","id":${JSON.stringify(id)},"seq":${seq}}`;
}
