/**
 * Message sequence numbers (protocol 1.1): every `msg` carries `seq`, 1, 2, 3…
 * per chat for this member. The page keeps the highest one it has shown, sends
 * it as `last` when it resumes, and drops a `msg` whose `seq` is not above it
 * (a replay after a resume may repeat one). A `msg` without `seq` (a server
 * that predates 1.1) is always shown.
 */

/**
 * The 1.1 fields the page reads or sends. Declared here until the protocol
 * types carry them.
 */
export interface MsgSeqFields {
  seq?: unknown;
}
export interface ResumedRecoveryFields {
  recovered?: unknown;
}
export interface ResumeWithLast {
  type: 'resume';
  token: string;
  last?: number;
}

/** A valid `seq`: a positive safe integer. */
export const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * The highest `seq` after a `msg` arrives, or null when the `msg` repeats one
 * already shown and is to be dropped. Without a valid `seq` the `msg` is shown
 * and `last` stays as it was.
 */
export function nextLast(last: number, seq: unknown): number | null {
  if (!isSeq(seq)) return last;
  return seq > last ? seq : null;
}

/**
 * The `last` to send in `resume`: the highest `seq` shown in the chat the page
 * is still in, or undefined when it is in no chat or has seen no `seq` yet (so
 * a server without sequence numbers never gets one).
 */
export function resumeLast(inChat: boolean, last: number): number | undefined {
  return inChat && isSeq(last) ? last : undefined;
}

/** The `resume` message for a token, with `last` when there is one. */
export function resumeMessage(token: string, last: number | undefined): ResumeWithLast {
  return last === undefined ? { type: 'resume', token } : { type: 'resume', token, last };
}

/** True only when the server says, explicitly, that part of what was missed is gone. */
export const recoveryIncomplete = (resumed: object | null): boolean =>
  (resumed as ResumedRecoveryFields | null)?.recovered === false;
