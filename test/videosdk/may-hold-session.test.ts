import { describe, expect, it } from 'vitest';
import { mayHoldSession, type ApiResponse } from '../../src/videosdk/api-answer.js';

const answer = (text: string): ApiResponse => ({ status: 200, raw: Buffer.from(text), latencyMs: 1, body: undefined, session: undefined });

describe('mayHoldSession', () => {
  it('tells a session object from a confirmation message without parsing it', () => {
    expect(mayHoldSession(answer('{"id":"s1","start":"2026-01-01T00:00:00Z","participants":[]}'))).toBe(true);
    expect(mayHoldSession(answer('  {"roomId":"r1"}'))).toBe(true);
    expect(mayHoldSession(answer('"Participant removed"'))).toBe(false);
    expect(mayHoldSession(answer('{"message":"Participant removed"}'))).toBe(false);
    expect(mayHoldSession(answer('removed'))).toBe(false);
  });

  it('reads past the head of a large answer whose session keys come late', () => {
    const pad = 'x'.repeat(10_000);
    expect(mayHoldSession(answer(`{"note":"${pad}","participants":[]}`))).toBe(true);
    expect(mayHoldSession(answer(`{"note":"${pad}","message":"ok"}`))).toBe(false);
  });

  it('asks a parsed answer directly', () => {
    expect(mayHoldSession({ status: 200, latencyMs: 1, body: {}, session: { id: 's', participants: [] } as never })).toBe(true);
    expect(mayHoldSession({ status: 200, latencyMs: 1, body: 'ok', session: undefined })).toBe(false);
  });
});
