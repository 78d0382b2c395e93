/**
 * Lets the event loop serve what waits (health checks, BullMQ's job lock renewals, replies from
 * Redis) once synchronous work has held it for `sliceMs`: call it between units of work and await
 * what it returns, if anything. Costs nothing while the loop has been free recently.
 */
export function createYielder(sliceMs = 20, clock: () => number = () => performance.now()): () => Promise<void> | undefined {
  let since = clock();
  return () => {
    if (clock() - since < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = clock();
        resolve();
      }),
    );
  };
}
