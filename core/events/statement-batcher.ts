/**
 * Gathers calls and runs them as few statements: a call runs at once when fewer than
 * `maxInFlight` statements are out; otherwise it waits and goes with the others that arrived
 * meanwhile, in one batch. Each caller gets its own result (or its batch's error). Under load
 * this turns many round trips (and commits) into a few without delaying a lone caller.
 *
 * With `gatherTurn`, a statement leaves at the end of the event loop's turn (`setImmediate`)
 * rather than at the first call: the calls of one turn, such as those woken by the answers
 * read in one poll, go together instead of the first alone and the rest in the next batch.
 *
 * With `spread`, the calls waiting when statements can leave are shared evenly among the free
 * places (ten calls and two free places: two batches of five) rather than all put in the
 * first. The answers then come back in parts: this thread answers the first part's callers
 * while the database still runs the next, instead of the two waiting for each other in turn.
 */
export class StatementBatcher<In, Out> {
  readonly #run: (items: In[]) => Promise<Out[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #gatherTurn: boolean;
  readonly #spread: boolean;
  #pumpScheduled = false;
  #waiting: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  #inFlight = 0;

  /** `run` answers one result per item, in order. `gatherTurn` and `spread` are off unless set. */
  constructor(
    run: (items: In[]) => Promise<Out[]>,
    options: {
      maxBatch?: number;
      maxInFlight?: number;
      gatherTurn?: boolean;
      spread?: boolean;
    } = {},
  ) {
    this.#run = run;
    this.#maxBatch = options.maxBatch ?? 200;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#gatherTurn = options.gatherTurn ?? false;
    this.#spread = options.spread ?? false;
  }

  /** Runs `item` in the next batch and resolves with its result. */
  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (!this.#gatherTurn) {
      this.#pump();
      return;
    }
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#waiting.length > 0) {
      const share = this.#spread
        ? Math.ceil(this.#waiting.length / (this.#maxInFlight - this.#inFlight))
        : this.#maxBatch;
      const batch = this.#waiting.splice(0, Math.min(share, this.#maxBatch));
      this.#inFlight += 1;
      this.#run(batch.map((b) => b.item))
        .then(
          (results) => {
            batch.forEach((b, i) => {
              b.resolve(results[i] as Out);
            });
          },
          (error: unknown) => {
            for (const b of batch) b.reject(error);
          },
        )
        .finally(() => {
          this.#inFlight -= 1;
          this.#schedule();
        });
    }
  }
}
