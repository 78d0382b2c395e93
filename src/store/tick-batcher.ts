/**
 * Runs the calls made in one tick as one batch: a worker running many jobs at once then sends one
 * Redis command (one script run, one reply) for all of them instead of one each, which is most of
 * what a command costs on both sides. A call made alone goes out at the end of its tick, so
 * batching adds no waiting.
 *
 * `run` answers one result per item, in order. A failed batch fails every call in it.
 */
export function createTickBatcher<I, O>(
  run: (items: readonly I[]) => Promise<readonly O[]>,
  options: { maxBatch?: number; weight?: (item: I) => number } = {},
): (item: I) => Promise<O> {
  const maxBatch = Math.max(1, options.maxBatch ?? 64);
  // A call may weigh more than one (a batch job's events): a chunk closes once it reaches
  // `maxBatch` in weight, and a call is never split, so its items always share one run.
  const weight = options.weight ?? (() => 1);
  let pending: { item: I; resolve: (value: O) => void; reject: (err: unknown) => void }[] = [];

  const chunks = (calls: typeof pending): (typeof pending)[] => {
    const out: (typeof pending)[] = [];
    let current: typeof pending = [];
    let load = 0;
    for (const call of calls) {
      const w = weight(call.item);
      if (current.length > 0 && load + w > maxBatch) {
        out.push(current);
        current = [];
        load = 0;
      }
      current.push(call);
      load += w;
    }
    if (current.length > 0) out.push(current);
    return out;
  };

  const flush = (): void => {
    const calls = pending;
    pending = [];
    for (const chunk of chunks(calls)) {
      let result: Promise<readonly O[]>;
      try {
        result = run(chunk.map((c) => c.item));
      } catch (err) {
        result = Promise.reject(err);
      }
      result.then(
        (outputs) => {
          chunk.forEach((c, i) => {
            if (i < outputs.length) c.resolve(outputs[i]!);
            else c.reject(new Error(`batch answered ${outputs.length} results for ${chunk.length} items`));
          });
        },
        (err: unknown) => {
          for (const c of chunk) c.reject(err);
        },
      );
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      // process.nextTick runs once the current callback and its microtasks are done: every call
      // made by the jobs that one Redis reply woke up lands in the same batch.
      if (pending.length === 0) process.nextTick(flush);
      pending.push({ item, resolve, reject });
    });
}
