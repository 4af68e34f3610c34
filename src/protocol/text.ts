/** Unicode helpers for the protocol's length and character rules (lengths count code points). */

const WHITE_SPACE_RUN = /\p{White_Space}+/gu;
const LEADING_OR_TRAILING_WHITE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;
const ONLY_WHITE_SPACE = /^\p{White_Space}*$/u;
const CONTROL = /\p{Cc}/u;
// In a `u` regular expression a surrogate pair is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/**
 * Invisible characters that reorder or hide text: the bidi embeddings,
 * overrides, isolates and marks, and the zero-width characters (docs/security.md).
 */
const INVISIBLE = /[\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/gu;
// eslint-disable-next-line no-control-regex -- the protocol's rule is about control characters
const CONTROL_EXCEPT_TAB_LF_CR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;

/** Number of Unicode code points in `s` (a lone surrogate counts as one). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Trims Unicode White_Space (not only what String.prototype.trim removes). */
export function trimUnicode(s: string): string {
  return s.replace(LEADING_OR_TRAILING_WHITE_SPACE, '');
}

export function collapseWhiteSpace(s: string): string {
  return s.replace(WHITE_SPACE_RUN, ' ');
}

export function isOnlyWhiteSpace(s: string): boolean {
  return ONLY_WHITE_SPACE.test(s);
}

export function hasControl(s: string): boolean {
  return CONTROL.test(s);
}

export function hasControlExceptTabNewline(s: string): boolean {
  return CONTROL_EXCEPT_TAB_LF_CR.test(s);
}

/** True when `s` holds a surrogate that is not half of a pair (JSON's `"\\ud800"` decodes to one). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** Removes bidi controls and zero-width characters (see INVISIBLE). */
export function stripInvisible(s: string): string {
  return s.replace(INVISIBLE, '');
}
