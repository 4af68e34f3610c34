/**
 * The number of things that happened in the chat while the tab was hidden,
 * shown in front of the document title ("(3) samesong — …") until the tab is
 * seen again.
 */

/** The title with `count` in front, or the title alone for 0. */
export const titleWithCount = (title: string, count: number): string =>
  count > 0 ? `(${count}) ${title}` : title;

export class UnreadTitle {
  #count = 0;
  readonly #title: string;

  constructor(private readonly doc: Document) {
    this.#title = doc.title;
    doc.addEventListener('visibilitychange', () => {
      if (doc.visibilityState === 'visible') this.#set(0);
    });
  }

  get count(): number {
    return this.#count;
  }

  /** Something the user would want to see happened: counted only while the tab is hidden. */
  bump(): void {
    if (this.doc.visibilityState === 'hidden') this.#set(this.#count + 1);
  }

  #set(count: number): void {
    this.#count = count;
    this.doc.title = titleWithCount(this.#title, count);
  }
}
