/**
 * What the message box allows: Send only for a message the server would take
 * (not blank, at most the protocol's length, counted in code points as the
 * server counts them), and a counter once the message nears that length.
 */
import { Limits } from '../../../protocol/index.js';
import { codePointLength, isOnlyWhiteSpace } from '../../../protocol/text.js';

/** The counter shows from this many characters below the limit. */
export const COUNT_WITHIN = 100;

export interface ComposerCheck {
  /** True when the text may be sent as it is. */
  canSend: boolean;
  /** Longer than the protocol allows. */
  tooLong: boolean;
  /** The counter's text, or null while the text is well within the limit. */
  counter: string | null;
}

export function checkComposer(text: string, max: number = Limits.maxTextCodePoints): ComposerCheck {
  const length = codePointLength(text);
  const tooLong = length > max;
  const counter =
    length < max - COUNT_WITHIN
      ? null
      : tooLong
        ? `${length} / ${max} — ${length - max} too many`
        : `${length} / ${max}`;
  return { canSend: !tooLong && !isOnlyWhiteSpace(text), tooLong, counter };
}
