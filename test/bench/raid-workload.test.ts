import { describe, expect, it } from 'vitest';
import { RAID_STAFF, raidBotId, raidEvent } from '../../src/bench/workload.js';

describe('the raid workload', () => {
  it("has every bot join and chat, and the staff speak without taking a bot's place", () => {
    const bots = 5000;
    const events = Array.from({ length: 50_000 }, (_, i) => raidEvent(i, bots, 0));
    const joined = new Set(events.filter((e) => e.type === 'participant-joined').map((e) => e.participantId));
    const chatted = new Set(
      events.filter((e) => e.type === 'chat-message' && e.participantId?.startsWith('raid-bot-')).map((e) => e.participantId),
    );
    expect(joined.size).toBe(bots);
    expect(chatted.size).toBe(bots);
    expect(joined.has(raidBotId(499)) && joined.has(raidBotId(4999))).toBe(true);
    const staff = new Set<string>(RAID_STAFF.map((s) => s.participantId));
    expect(events.filter((e) => staff.has(e.participantId ?? '')).length).toBe(100);
  });
});
