import type { SimCall, SimFault } from './types.js';

/** A fault waiting for a matching call, with the matches it has left. */
export type ArmedFault = Omit<SimFault, 'times'> & { remaining: number };

/**
 * Injected faults: armed by tests or the control surface, taken by the first matching API call.
 * Fault delays sleep here so a reset or close can wake every waiting request at once.
 */
export function createFaults() {
  let faults: ArmedFault[] = [];
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  function addFault(fault: SimFault): void {
    const { times, ...rest } = fault;
    faults.push({ ...rest, remaining: times ?? 1 });
  }

  function takeFault(call: SimCall, method: string): ArmedFault | undefined {
    for (const fault of faults) {
      if (fault.remaining <= 0) continue;
      if (fault.method !== undefined && fault.method !== method) continue;
      if (fault.operation !== undefined && fault.operation !== call.operation) continue;
      // A remove-answer fault is about removals only: a GET must not use it up.
      if (fault.removeAnswer !== undefined && call.operation !== 'remove') continue;
      if (fault.sessionId !== undefined && fault.sessionId !== call.sessionId) continue;
      if (fault.participantId !== undefined && fault.participantId !== call.participantId) continue;
      if (fault.probability !== undefined && Math.random() >= fault.probability) continue;
      fault.remaining -= 1;
      return fault;
    }
    return undefined;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(sleeper);
    });
  }

  function wakeSleepers(): void {
    for (const sleeper of sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    sleepers.clear();
  }

  return {
    add: addFault,
    take: takeFault,
    sleep,
    wakeSleepers,
    clear(): void {
      faults = [];
    },
    get count(): number {
      return faults.length;
    },
  };
}
