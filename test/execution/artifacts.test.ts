/** The local artifact store: keys under runs/<runId>/<attempt>/, exact hashes, and no secrets in text. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalArtifactStore } from '../../src/artifacts/local';
import { redact, secretKinds, secretValues } from '../../src/artifacts/redact';
import { runArtifactKey } from '../../src/artifacts/store';

let root: string;
let store: LocalArtifactStore;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-artifacts-'));
  store = new LocalArtifactStore(root);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('LocalArtifactStore', () => {
  it('stores under runs/<runId>/<attempt>/<name> and returns a file:// reference with the sha256 and size of the stored bytes', async () => {
    const ref = await store.put(runArtifactKey('run/camp/acme/billing', 2, 'steps.log'), 'hello\n', 'log');
    const file = fileURLToPath(ref.uri);
    expect(path.relative(root, file)).toBe(path.join('runs', 'run', 'camp', 'acme', 'billing', '2', 'steps.log'));
    expect(ref).toEqual({
      name: 'steps.log',
      type: 'log',
      uri: expect.stringMatching(/^file:\/\//),
      sha256: createHash('sha256').update('hello\n').digest('hex'),
      size: 6,
    });
    expect((await store.get(ref.uri)).toString()).toBe('hello\n');
  });

  it('never lets a key or a URI leave its directory', async () => {
    expect(() => runArtifactKey('run/../../etc', 1, 'x')).toThrow('not allowed');
    expect(() => runArtifactKey('run/a', 1, '..')).toThrow('not allowed');
    await expect(store.put('../outside', 'x', 'log')).rejects.toThrow('escapes the store');
    await expect(store.get('file:///etc/passwd')).rejects.toThrow('outside the artifact store');
  });

  it('redacts secret values of the worker and token-shaped strings from text before storing it', async () => {
    process.env.REGATTA_TEST_API_KEY = 'a-very-secret-worker-value';
    try {
      const text = `key=a-very-secret-worker-value gh=ghp_${'x'.repeat(36)} aws=AKIAABCDEFGHIJKLMNOP openai=sk-${'y'.repeat(40)}`;
      const ref = await store.put(runArtifactKey('run/c/acme/a', 1, 'steps.log'), text, 'log');
      const stored = (await store.get(ref.uri)).toString();
      expect(stored).toBe('key=[REDACTED] gh=[REDACTED] aws=[REDACTED] openai=[REDACTED]');
      expect(ref.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    } finally {
      delete process.env.REGATTA_TEST_API_KEY;
    }
  });

  it('stores bytes it is given as bytes, unchanged', async () => {
    const body = Buffer.from(`+token ghp_${'x'.repeat(36)}\n`);
    const ref = await store.put(runArtifactKey('run/c/acme/a', 1, 'patch.diff'), body, 'patch');
    expect((await store.get(ref.uri)).equals(body)).toBe(true);
  });
});

describe('redaction', () => {
  it('leaves ordinary words that merely contain a token prefix alone', () => {
    const text = 'task-scheduler-for-billing-service and the desk-reservation-system-api';
    expect(redact(text, [])).toBe(text);
    expect(secretKinds(text, [])).toEqual([]);
  });

  it('finds secret values only in secret-named variables long enough to matter', () => {
    expect(
      secretValues({
        GITHUB_TOKEN: 'ghs_abcdefgh',
        OPENAI_API_KEY: 'sk-123456789',
        TEMPORAL_API_KEY: 'short',
        HOME: '/root/home/x',
      }),
    ).toEqual(['ghs_abcdefgh', 'sk-123456789']);
  });

  it('names the kinds of secret a text holds without repeating them', () => {
    expect(secretKinds(`x AKIAABCDEFGHIJKLMNOP and worker-secret-1`, ['worker-secret-1'])).toEqual([
      "a secret value from the worker's environment",
      'AWS access key id',
    ]);
  });
});
