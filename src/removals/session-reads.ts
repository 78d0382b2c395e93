import type { ApiResponse } from '../videosdk/client.js';

/**
 * Session reads (GET) shared by the removals of one session that need one at about the same
 * moment: a look before sending, the check of a remove answer that confirmed nothing, a snapshot.
 * At most one read of a session is in flight in a process, and at most one more waits behind it;
 * in a raid of thousands in one session (each read is the whole session) that is what keeps the
 * reads to a few, however many removals ask.
 *
 * A removal asks for a read that *started after* a point it names with `ticket()` (taken once
 * its remove call was answered): only such a read can show what that call did.
 */
export interface SessionReads {
  /** Orders a need against the reads: any read started after this call has a larger number. */
  ticket(): number;
  /** A read of the session started after `ticket`: the one in flight, the one waiting, or a new one. */
  after(sessionId: string, ticket: number): Promise<ApiResponse>;
}

interface SessionEntry {
  running?: { seq: number; promise: Promise<ApiResponse> };
  waiting?: Promise<ApiResponse>;
}

export function createSessionReads(read: (sessionId: string) => Promise<ApiResponse>): SessionReads {
  let started = 0;
  const sessions = new Map<string, SessionEntry>();

  function start(sessionId: string, entry: SessionEntry): Promise<ApiResponse> {
    const seq = ++started;
    const promise = read(sessionId).finally(() => {
      if (entry.running?.seq !== seq) return;
      entry.running = undefined;
      if (entry.waiting === undefined) sessions.delete(sessionId);
    });
    entry.running = { seq, promise };
    return promise;
  }

  return {
    ticket: () => started,
    after(sessionId, ticket) {
      let entry = sessions.get(sessionId);
      if (entry === undefined) {
        entry = {};
        sessions.set(sessionId, entry);
      }
      if (entry.running !== undefined && entry.running.seq > ticket) return entry.running.promise;
      if (entry.waiting !== undefined) return entry.waiting;
      if (entry.running === undefined) return start(sessionId, entry);
      // The read in flight started too early to show this removal: the next one starts when it ends.
      const current = entry;
      current.waiting = entry.running.promise.then(ignore, ignore).then(() => {
        current.waiting = undefined;
        return start(sessionId, current);
      });
      return current.waiting;
    },
  };
}

function ignore(): void {}
