/** Model configuration is validated at the edge: no model means no agent; a model without a price is refused. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContractViolationError } from '../../src/contracts/validate';
import { modelProviderFromEnv } from '../../src/agent/model-provider';
import { costOf, listPrice } from '../../src/agent/pricing';
import { TRANSCRIPT_FORMAT } from '../../src/agent/transcript';

test('without REGATTA_MODEL there is no model, and the agent does not run', () => {
  expect(modelProviderFromEnv({ OPENAI_API_KEY: 'a-key-that-is-not-used' })).toBeUndefined();
});

test('a listed model on an OpenAI-compatible endpoint is priced from the table', () => {
  expect(
    modelProviderFromEnv({
      REGATTA_MODEL: 'gpt-4o-mini',
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    }),
  ).toEqual({
    kind: 'endpoint',
    model: 'gpt-4o-mini',
    baseURL: 'http://127.0.0.1:9/v1',
    apiKey: 'k',
    price: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  });
  expect(listPrice('gpt-4o-2024-08-06')).toEqual(listPrice('gpt-4o'));
  expect(costOf('gpt-4o', listPrice('gpt-4o')!, 1_000_000, 100_000)).toEqual({
    model: 'gpt-4o',
    promptTokens: 1_000_000,
    completionTokens: 100_000,
    usd: 3.5,
  });
});

test('a model the table does not list needs REGATTA_MODEL_PRICE, so a budget is never priced at zero', () => {
  const env = { REGATTA_MODEL: 'local-coder-7b', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' };
  expect(() => modelProviderFromEnv(env)).toThrow(ContractViolationError);
  expect(() => modelProviderFromEnv(env)).toThrow(/REGATTA_MODEL_PRICE.*local-coder-7b/);
  expect(() => modelProviderFromEnv({ ...env, REGATTA_MODEL_PRICE: 'cheap' })).toThrow(
    /REGATTA_MODEL_PRICE: got "cheap"; expected "input,output"/,
  );
  expect(modelProviderFromEnv({ ...env, REGATTA_MODEL_PRICE: '0.2, 0.8' })).toEqual(
    expect.objectContaining({ price: { inputPerMillion: 0.2, outputPerMillion: 0.8 } }),
  );
});

test('an endpoint without a base URL needs a key', () => {
  expect(() => modelProviderFromEnv({ REGATTA_MODEL: 'gpt-4o' })).toThrow(/OPENAI_API_KEY/);
  expect(() => modelProviderFromEnv({ REGATTA_MODEL: 'gpt-4o', OPENAI_BASE_URL: 'ftp://x' })).toThrow(
    /OPENAI_BASE_URL/,
  );
});

test('REGATTA_MODEL_REPLAY serves a recorded transcript instead of a model', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-replay-')), 'transcript.json');
  const transcript = {
    format: TRANSCRIPT_FORMAT,
    model: 'gpt-4o',
    price: { inputPerMillion: 2.5, outputPerMillion: 10 },
    startedAt: new Date().toISOString(),
    tools: [],
    turns: [],
  };
  fs.writeFileSync(file, JSON.stringify(transcript));
  expect(modelProviderFromEnv({ REGATTA_MODEL_REPLAY: file })).toEqual({ kind: 'replay', transcript });
  fs.writeFileSync(file, JSON.stringify({ ...transcript, format: 'other' }));
  expect(() => modelProviderFromEnv({ REGATTA_MODEL_REPLAY: file })).toThrow(/invalid agent transcript/);
});
