import { describe, expect, it } from 'vitest';
import { createSessionReads } from '../../src/removals/session-reads.js';
import type { ApiResponse } from '../../src/videosdk/client.js';

/** A read function whose answers the test hands out one by one. */
function controlledReads() {
  const pending: { sessionId: string; settle: (r: ApiResponse | Error) => void }[] = [];
  const read = (sessionId: string) =>
    new Promise<ApiResponse>((resolve, reject) => {
      pending.push({ sessionId, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    });
  const answer = (n: number): ApiResponse => ({ status: 200, body: { n }, session: undefined, latencyMs: 1 });
  /** Lets queued continuations run. */
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return { read, pending, answer, tick };
}

describe('session reads', () => {
  it('removals of one session that need a read at the same moment share one GET; a need that comes after it started waits for the next', async () => {
    const { read, pending, answer, tick } = controlledReads();
    const reads = createSessionReads(read);

    const a = reads.after('s1', reads.ticket());
    const b = reads.after('s1', 0);
    expect(pending).toHaveLength(1);
    // Both needs came before the read started: one GET serves them.
    const ticketAfterStart = reads.ticket();
    // These answers came after the read in flight started: it cannot show them, so one more
    // read waits behind it, shared by all of them.
    const c = reads.after('s1', ticketAfterStart);
    const d = reads.after('s1', ticketAfterStart);
    // Another session reads on its own.
    const other = reads.after('s2', reads.ticket());
    expect(pending.map((p) => p.sessionId)).toEqual(['s1', 's2']);

    pending[0]!.settle(answer(1));
    expect(await a).toEqual(answer(1));
    expect(await b).toBe(await a);
    await tick();
    expect(pending.map((p) => p.sessionId)).toEqual(['s1', 's2', 's1']);
    pending[2]!.settle(answer(2));
    expect((await c).body).toEqual({ n: 2 });
    expect(await d).toBe(await c);
    pending[1]!.settle(answer(3));
    expect((await other).body).toEqual({ n: 3 });
  });

  it('a failed read fails those who shared it, and the one waiting behind it still goes out', async () => {
    const { read, pending, answer, tick } = controlledReads();
    const reads = createSessionReads(read);
    const first = reads.after('s1', reads.ticket());
    const second = reads.after('s1', reads.ticket());
    pending[0]!.settle(new Error('503'));
    await expect(first).rejects.toThrow('503');
    await tick();
    expect(pending).toHaveLength(2);
    pending[1]!.settle(answer(2));
    expect((await second).body).toEqual({ n: 2 });
    // Nothing in flight: the next need starts a read at once.
    void reads.after('s1', reads.ticket());
    expect(pending).toHaveLength(3);
  });
});
