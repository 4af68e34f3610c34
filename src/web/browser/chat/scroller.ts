/**
 * Keeps the message list where the reader wants it. A reader at the bottom
 * stays there: when a message or notice is added, and when the list itself
 * shrinks or grows (the typing indicator, the end-of-chat buttons). A reader
 * who scrolled up keeps their place; what arrives below is counted on a "new
 * messages" button that takes them down.
 */

/** Within this many pixels of the end counts as at the bottom. */
const AT_BOTTOM_PX = 32;

export type Follow =
  /** Scroll down only when the reader is at the bottom; count it otherwise. */
  | 'if-at-bottom'
  /** Always scroll down: the reader sent it, or it ends the chat. */
  | 'always';

export class MessageScroller {
  #atBottom = true;
  #lastTop = 0;
  #unseen = 0;

  constructor(
    private readonly list: HTMLElement,
    private readonly button: HTMLButtonElement,
    /** Called after the button took the reader down (to move focus somewhere useful). */
    onJump: () => void,
  ) {
    list.addEventListener(
      'scroll',
      () => {
        // Judged by the direction: a scroll event comes before the ResizeObserver in a frame, so
        // one caused by this class's own scrolling may already see the list shrunk, the bottom
        // moved away. Only a move up (the reader's) leaves the bottom.
        const top = list.scrollTop;
        const atEnd = list.scrollHeight - top - list.clientHeight <= AT_BOTTOM_PX;
        if (top < this.#lastTop) this.#atBottom = atEnd;
        else if (atEnd) this.#atBottom = true;
        this.#lastTop = top;
        if (this.#atBottom) this.#setUnseen(0);
      },
      { passive: true },
    );
    // The list's size changes when something beside it comes or goes; the scroll position does not follow.
    new ResizeObserver(() => {
      if (this.#atBottom) this.toBottom();
    }).observe(list);
    button.addEventListener('click', () => {
      this.toBottom();
      onJump();
    });
  }

  /** `node` was just added at the end of the list. */
  added(follow: Follow): void {
    if (follow === 'always' || this.#atBottom) this.toBottom();
    else this.#setUnseen(this.#unseen + 1);
  }

  toBottom(): void {
    this.list.scrollTop = this.list.scrollHeight;
    this.#lastTop = this.list.scrollTop;
    this.#atBottom = true;
    this.#setUnseen(0);
  }

  #setUnseen(count: number): void {
    this.#unseen = count;
    this.button.hidden = count === 0;
    this.button.textContent = count === 1 ? '1 new message' : `${count} new messages`;
  }
}
