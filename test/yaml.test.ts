import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { toYaml, YAML_OPTIONS } from '../lib/yaml';

/** What lib/yaml.ts must reproduce byte for byte. */
const reference = (value: unknown): string => yaml.dump(value, YAML_OPTIONS);

/** A small deterministic random source (mulberry32), so that a failure can be replayed by its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces that decide a scalar's style: indicators, comment and key separators, line breaks, unprintable and astral characters. */
const PIECES = [
  'a', 'Z', '0', '1', '9', '_', '.', '-', '+', ' ', '  ', ':', ': ', ' #', '#', '?', ',', '[', ']', '{', '}', '&', '*', '!', '|',
  '=', '>', "'", '"', '%', '@', '`', '\\', '/', '~', '<<', 'e', 'E', 'x', 'o', 'b', '\n', '\n\n', '\t', '\r', '\u0000', '\u0007',
  '\u001b', '\u007f', '\u0085', '\u00a0', '\u00e9', '\u2028', '\u2029', '\ufeff', '\ud83d\ude00', '\ud83d', '\ude00', '\uffff', '\ue000',
  'true', 'null', 'NULL', 'yes', 'off', 'inf', '.inf', '.NaN', '0x1F', '0o17', '0b101', '1_000', '1e3', '2024-01-02', '12:30:00',
];

function randomString(next: () => number): string {
  const count = Math.floor(next() * 6);
  let text = '';
  for (let i = 0; i < count; i++) text += PIECES[Math.floor(next() * PIECES.length)];
  return text;
}

const NUMBERS = [0, 1, -1, 42, 3.5, -0.25, 1e21, 1e-7, -5e-324, 2 ** 53, -0, NaN, Infinity, -Infinity, 0.1 + 0.2];

function randomValue(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.45) return randomString(next);
  if (pick < 0.5) return NUMBERS[Math.floor(next() * NUMBERS.length)];
  if (pick < 0.53) return next() < 0.5;
  if (pick < 0.56) return null;
  if (pick < 0.58) return undefined;
  const size = Math.floor(next() * 4);
  if (pick < 0.75) return Array.from({ length: size }, () => randomValue(next, depth + 1));
  const map: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) map[randomString(next)] = randomValue(next, depth + 1);
  return map;
}

describe('toYaml', () => {
  test('GIVEN generated values with edge-case strings WHEN written THEN the text is js-yaml\'s, byte for byte', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const value = randomValue(random(seed), 0);
      const expected = reference(value);
      if (toYaml(value) !== expected) {
        // The seed and value replay the failure.
        expect({ seed, value, text: toYaml(value) }).toEqual({ seed, value, text: expected });
      }
    }
  });

  test.each([
    ['an empty string', ''],
    ['strings that read as other types', ['1', '-1', '0.5', '1e3', 'true', 'False', 'null', '~', 'yes', 'on', 'Off', '1:30', '2024-01-02', '<<', '.inf', '0x1F']],
    ['indicators and separators', ['- a', '-a', 'a:', 'a: b', 'a:b', 'a #b', 'a#b', '#a', '? a', '*a', '&a', '!a', '%a', '@a', '`a', "'a", '"a', '[a]', '{a}', 'a,b', '|', '>']],
    ['leading and trailing spaces', [' a', 'a ', ' ', '\ta']],
    ['unicode', ['é', 'ü', '日本', '😀', '\u00a0', '\u0085', '\u2028', '\ufeff', '\ud83d', '\u0001', '\u007f']],
    ['multi-line strings', ['a\nb', 'a\nb\n', 'a\nb\n\n', '\n', '\n\n', ' a\nb', '\n a', 'a\n\n\nb', 'a\n  b\n', 'a\r\nb', 'a\tb\nc', '#!/bin/sh\nset -eu\n']],
    ['keys needing quotes', { '': 1, '1': 2, 'a: b': 3, 'a\nb': 4, ' a': 5, 'true': 6, '-': 7 }],
    ['numbers', NUMBERS],
    ['nesting', { a: [[1, [2]], { b: [] }, {}, [{ c: { d: 'x\ny' } }]], e: { f: { g: ['h', { i: 'j\n' }] } }, u: undefined, l: [undefined, null] }],
  ])('GIVEN %s WHEN written THEN the text is js-yaml\'s', (_name, value) => {
    expect(toYaml(value)).toBe(reference(value));
    expect(toYaml({ key: value })).toBe(reference({ key: value }));
    expect(toYaml([[value]])).toBe(reference([[value]]));
  });

  test('GIVEN values that are not plain JSON data WHEN written THEN js-yaml writes them', () => {
    const date = new Date(Date.UTC(2024, 0, 2));
    const longKey = 'k'.repeat(1100);
    expect(toYaml({ at: date })).toBe(reference({ at: date }));
    expect(toYaml({ [longKey]: 1 })).toBe(reference({ [longKey]: 1 }));
    expect(toYaml(undefined)).toBe(reference(undefined));
    expect(() => toYaml({ f: () => 1 })).toThrow(yaml.YAMLException);
  });

  test('GIVEN every file of dist/ WHEN its object is written again THEN the text is unchanged', () => {
    const root = path.join(__dirname, '..', 'dist');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(100);
    for (const file of files) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      expect({ file, text: toYaml(yaml.load(text)) }).toEqual({ file, text });
    }
  });
});
