import { counterKey, ruleHitsKey, type CounterSpec, type RuleHitSpec } from '../moderation/types.js';

/**
 * How the counters of one (specs, strike windows, rule hits) triple are read, worked out once: the
 * sorted sets (one per scope and type serves every window of it), the counted rules' hit sets,
 * and the result keys of each in answer order.
 */
export interface Layout {
  /** Distinct strike windows (seconds), as given. */
  strikeWindows: readonly number[];
  /** Their names in `ObservedCounts.strikes`. */
  strikeNames: readonly string[];
  strikeWindowsMs: readonly number[];
  sets: readonly CounterSet[];
  /** One sorted set per counted rule (every window of it reads the one set). */
  hitSets: readonly HitSet[];
  /**
   * The shape of an answer: `subjects[i]` is '' where set i (then hit set i - sets.length) had no
   * subject. Objects to copy, and the keys to fill in answer order.
   */
  shape(subjects: readonly string[], from: number): AnswerShape;
}

/** See `Layout.shape`: copied with spread, so every answer of a layout shares one object shape. */
export interface AnswerShape {
  /** Every strike window at 0, frozen: the answer of most events. */
  noStrikes: Readonly<Record<string, number>>;
  eventCounts: Readonly<Record<string, number>>;
  ruleHits: Readonly<Record<string, number>>;
  countKeys: readonly string[];
  hitKeys: readonly string[];
}

export interface CounterSet {
  scope: 'participant' | 'session';
  type: string;
  windowsMs: readonly number[];
  longestMs: number;
  /** `longestMs` as Redis takes it (the set's TTL). */
  keepMs: string;
  resultKeys: readonly string[];
}

export interface HitSet {
  rule: string;
  windowsMs: readonly number[];
  resultKeys: readonly string[];
}

export function layoutOf(specs: readonly CounterSpec[], strikeWindows: readonly number[], ruleHits: readonly RuleHitSpec[]): Layout {
  const hitSets: { rule: string; windowsMs: number[]; resultKeys: string[] }[] = [];
  for (const spec of ruleHits) {
    let set = hitSets.find((h) => h.rule === spec.rule);
    if (set === undefined) {
      set = { rule: spec.rule, windowsMs: [], resultKeys: [] };
      hitSets.push(set);
    }
    const resultKey = ruleHitsKey(spec);
    if (!set.resultKeys.includes(resultKey)) {
      set.windowsMs.push(windowMs(spec.windowSeconds));
      set.resultKeys.push(resultKey);
    }
  }
  const sets: { scope: 'participant' | 'session'; type: string; windowsMs: number[]; longestMs: number; resultKeys: string[] }[] = [];
  for (const spec of specs) {
    let set = sets.find((s) => s.scope === spec.scope && s.type === spec.type);
    if (set === undefined) {
      set = { scope: spec.scope, type: spec.type, windowsMs: [], longestMs: 0, resultKeys: [] };
      sets.push(set);
    }
    const resultKey = counterKey(spec);
    if (!set.resultKeys.includes(resultKey)) {
      set.windowsMs.push(windowMs(spec.windowSeconds));
      set.longestMs = Math.max(set.longestMs, windowMs(spec.windowSeconds));
      set.resultKeys.push(resultKey);
    }
  }
  const windows = [...new Set(strikeWindows)];
  const strikeNames = windows.map(String);
  const shapes = new Map<number, AnswerShape>();
  const build = (has: (i: number) => boolean): AnswerShape => {
    const countKeys = sets.flatMap((set, i) => (has(i) ? set.resultKeys : []));
    const hitKeys = hitSets.flatMap((set, i) => (has(sets.length + i) ? set.resultKeys : []));
    const zeros = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, 0]));
    return { noStrikes: Object.freeze(zeros(strikeNames)), eventCounts: zeros(countKeys), ruleHits: zeros(hitKeys), countKeys, hitKeys };
  };
  const shape = (subjects: readonly string[], from: number): AnswerShape => {
    const n = sets.length + hitSets.length;
    // Up to 30 sets the shape is cached by a bit mask of those with a subject.
    if (n > 30) return build((i) => subjects[from + i] !== '');
    let present = 0;
    for (let i = 0; i < n; i++) if (subjects[from + i] !== '') present |= 1 << i;
    let found = shapes.get(present);
    if (found === undefined) {
      found = build((i) => (present & (1 << i)) !== 0);
      shapes.set(present, found);
    }
    return found;
  };
  return {
    strikeWindows: windows,
    strikeNames,
    strikeWindowsMs: windows.map(windowMs),
    sets: sets.map((set) => ({ ...set, keepMs: String(set.longestMs) })),
    hitSets,
    shape,
  };
}

/**
 * The layouts of one counter store: the worker passes the same specs array for every event of a
 * type (the rule set's counter plan), so each is worked out once per plan; other callers pay for
 * it per call.
 */
export function createLayouts(): (
  specs: readonly CounterSpec[],
  strikeWindows: readonly number[],
  ruleHits: readonly RuleHitSpec[],
) => Layout {
  const layouts = new WeakMap<
    readonly CounterSpec[],
    { strikeWindows: readonly number[]; ruleHits: readonly RuleHitSpec[]; layout: Layout }[]
  >();
  return (specs, strikeWindows, ruleHits) => {
    let known = layouts.get(specs);
    if (known === undefined) {
      known = [];
      layouts.set(specs, known);
    }
    // The plan's own arrays first (no string to build); equal contents second.
    for (const k of known) if (k.strikeWindows === strikeWindows && k.ruleHits === ruleHits) return k.layout;
    const windowsKey = `${strikeWindows.join(',')}|${ruleHits.map(ruleHitsKey).join(',')}`;
    for (const k of known)
      if (`${k.strikeWindows.join(',')}|${k.ruleHits.map(ruleHitsKey).join(',')}` === windowsKey) {
        if (known.length < 16) known.push({ strikeWindows, ruleHits, layout: k.layout });
        return k.layout;
      }
    const layout = layoutOf(specs, strikeWindows, ruleHits);
    if (known.length < 16) known.push({ strikeWindows, ruleHits, layout });
    return layout;
  };
}

// Windows below 1 ms would make an empty range and a zero PEXPIRE (which deletes the key).
export function windowMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}
