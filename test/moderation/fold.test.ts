import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { createFoldCache, foldText } from '../../src/moderation/fold.js';
import { foldPattern } from '../../src/moderation/pattern-fold.js';

describe('foldText', () => {
  it.each([
    ['Аdmin', 'admin', 'a Cyrillic А'],
    ['Αdmin', 'admin', 'a Greek Α'],
    ['Ａｄｍｉｎ', 'admin', 'full-width letters'],
    ['𝐀𝐝𝐦𝐢𝐧', 'admin', 'mathematical bold letters'],
    ['Ad\u0301min', 'admin', 'a combining mark'],
    ['Suppоrt', 'support', 'a Cyrillic о'],
    ['frее crypto', 'free crypto', 'Cyrillic е'],
    ['morοn', 'moron', 'a Greek ο'],
    ['МОRОN', 'moron', 'Cyrillic capitals'],
    ['ΙDIOT', 'idiot', 'a Greek capital iota reads as I, not l'],
    ['Ad\u200bmin', 'admin', 'a zero-width space'],
    ['Ad\u202emin', 'admin', 'a bidi override'],
    ['Ad\u0007min', 'admin', 'a control character'],
    ['Café  au\tlait', 'cafe au lait', 'accents and spacing'],
    ['Straße', 'strasse', 'full case folding'],
  ])('%s folds to %s (%s)', (text, folded) => {
    expect(foldText(text)).toBe(folded);
  });

  it('reads plain ASCII as written, so a rule written with plain letters keeps matching', () => {
    // TS #39's skeleton would read these as "adrnin", "rnoron" and "lD".
    expect(foldText('admin')).toBe('admin');
    expect(foldText('moron')).toBe('moron');
    expect(foldText('1D 0K')).toBe('1d 0k');
  });

  it('leaves names in other scripts readable and distinct from Latin words', () => {
    for (const name of ['Дмитрий', 'Ελένη', 'Σωκράτης', '王伟', '한국어']) {
      expect(foldText(name)).not.toMatch(/^[a-z ]+$/);
    }
    expect(foldText('한국어')).toBe('한국어');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const once = foldText(text);
        expect(foldText(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('folds a text once however often it is read', () => {
    const fold = createFoldCache();
    const text = `${'Аdmin '.repeat(10)}`;
    expect(fold(text)).toBe(fold(text));
    expect(fold(text)).toBe(foldText(text));
  });
});

describe('foldPattern', () => {
  const folded = (pattern: string): string => {
    const result = foldPattern(pattern);
    if ('problem' in result) throw new Error(result.problem);
    return result.pattern;
  };

  it('drops the i flag and lower-cases literals', () => {
    expect(folded('(?i)^\\s*(admin|Support)\\b')).toBe('^\\s*(admin|support)\\b');
    expect(folded('(?is)A.B')).toBe('(?s)a.b');
    expect(folded('x(?i:AB)Y')).toBe('x(?:ab)y');
    expect(folded('\\QAdmin.\\E\\x41')).toBe('\\Qadmin.\\Ea');
    expect(folded('(?P<Name>\\S+)\\p{L}\\W')).toBe('(?P<Name>\\S+)\\p{L}\\W');
  });

  it('gives an upper-case class its lower-case counterpart', () => {
    expect(folded('(?i)[A-Z]{3}')).toBe('[a-zA-Z]{3}');
    expect(folded('[^A-Za-z]')).toBe('[^a-zA-Za-z]');
    expect(folded('(?i)[-A]')).toBe('[a-a-A]');
  });

  it('matches on folded text exactly what the pattern matches case-insensitively', () => {
    const patterns = [
      '(?i)^\\s*(admin|administrator|support|moderator|staff|videosdk)\\b',
      '(?i)https?://\\S+',
      'Free\\s+Crypto',
      '(?i)[A-Z]{3}\\d',
      '(?i)[^A-Z ]+$',
      '(?i)\\bsc[a-z]m\\b',
      '(?i)x[-A]y',
    ];
    const text = fc.string({ unit: fc.constantFrom(...'aAbBcCdDhHpPsStTxXyYzZ:/1 -'), maxLength: 24 });
    fc.assert(
      fc.property(fc.constantFrom(...patterns), text, (pattern, raw) => {
        const input = raw.toLowerCase();
        const caseless = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE).matcher(input).find();
        expect(RE2JS.compile(folded(pattern)).matcher(input).find()).toBe(caseless);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a pattern that holds characters folded text never holds', () => {
    const result = foldPattern('(?i)^Аdmin');
    expect(result).toEqual({ problem: expect.stringContaining('holds "А" (U+0410), which rules never see') });
    expect(foldPattern('café')).toEqual({ problem: expect.stringContaining('it reads as "e"') });
    expect(foldPattern('a\u202eb')).toEqual({ problem: expect.stringContaining('holds U+202E') });
  });

  it('refuses a pattern that tests letter case', () => {
    for (const pattern of ['[A-Z]{10,}', '\\p{Lu}+', '[[:upper:]]', '\\P{Ll}', '(?i)(?-i:AB)c']) {
      expect(foldPattern(pattern)).toEqual({ problem: expect.stringContaining('tests letter case') });
    }
    expect(foldPattern('(?i)[A-Z]{10,}')).toEqual({ pattern: '[a-zA-Z]{10,}' });
  });
});
