/**
 * The parts of a process, opened in order and closed in reverse: what opened
 * last closes first, and a part that failed to open closes those before it.
 */
export interface Part {
  readonly name: string;
  open?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export class Lifecycle {
  readonly #parts: Part[] = [];
  readonly #opened: Part[] = [];
  #closing: Promise<void> | null = null;

  constructor(private readonly onCloseError: (part: string, err: unknown) => void = () => {}) {}

  /** Adds the next part (opened after those added before it). */
  add(part: Part): this {
    this.#parts.push(part);
    return this;
  }

  /** Opens every part in order; if one fails, closes those already open and throws its error. */
  async open(): Promise<void> {
    for (const part of this.#parts) {
      try {
        await part.open?.();
      } catch (err) {
        await this.close();
        throw err;
      }
      this.#opened.push(part);
    }
  }

  /** Closes the open parts in reverse order (once; later calls wait for the first). A part that throws is reported and the rest still close. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const part of this.#opened.splice(0).reverse()) {
        try {
          await part.close?.();
        } catch (err) {
          this.onCloseError(part.name, err);
        }
      }
    })();
    return this.#closing;
  }
}
