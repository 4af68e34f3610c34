/**
 * Server frames built without JSON.stringify of a whole object, for the
 * messages a chat sends most: `msg`, `ack` and `typing`. Each produces exactly
 * the text JSON.stringify gives for the same message (test/unit/encode.test.ts).
 */
import type { MessageId } from './messages.js';

/** `{"type":"typing"}`, encoded once. */
export const TYPING_FRAME = '{"type":"typing"}';

/** A `msg` frame; only the text (and a chat id, which is a plain string) is escaped. */
export function encodeMsg(chat: string, text: string, ts: number): string {
  return `{"type":"msg","chat":${JSON.stringify(chat)},"text":${JSON.stringify(text)},"ts":${ts}}`;
}

/** An `ack` frame. */
export function encodeAck(id: MessageId): string {
  return typeof id === 'number' ? `{"type":"ack","id":${id}}` : `{"type":"ack","id":${JSON.stringify(id)}}`;
}
