/** A tensor as it crosses between the pool and an inference thread. */
export interface WireTensor {
  type: string;
  data: ArrayBufferView | readonly string[];
  dims: readonly number[];
}

/** What an inference thread opens: graph files by role, on these providers. */
export interface ThreadSetup {
  /** `main` is the manifest's model file; companions go by their role. */
  graphs: Record<string, string>;
  executionProviders: string[];
}

/** A request to an inference thread. */
export type ThreadRequest =
  | { kind: 'run'; id: number; role: string; feeds: Record<string, WireTensor> }
  | { kind: 'close'; id: number };

/** An inference thread's answer; id 0 answers the opening of its graphs. */
export type ThreadResponse =
  | { id: number; ok: true; outputs: Record<string, WireTensor> }
  | { id: number; ok: false; error: string };
