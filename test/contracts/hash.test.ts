import { createHash } from 'node:crypto';
import { canonicalJson, hashSpec, sha256Hex } from '../../src/contracts/hash';

describe('workflow-safe SHA-256', () => {
  it.each(['', 'abc', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(1000), 'ünïcødé ✓ 🚀'])(
    'matches node:crypto for %j',
    (text) => {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    },
  );

  it('hashes a spec by content, whatever the key order', () => {
    expect(hashSpec({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(hashSpec({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(hashSpec({ a: 1 })).not.toBe(hashSpec({ a: 2 }));
    expect(canonicalJson({ b: 1, a: undefined, c: null })).toBe('{"b":1,"c":null}');
  });
});
