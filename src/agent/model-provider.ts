/**
 * Which model the agent talks to: any OpenAI-compatible endpoint from configuration, or a recorded transcript.
 * The key stays in this process: it is sent only as the client's Authorization header, never in a prompt,
 * a container or an artifact.
 */
import fs from 'node:fs';
import OpenAI from 'openai';
import { z } from 'zod';
import { ContractViolationError, parseContract } from '../contracts/validate';
import { listPrice, parsePrice, type ModelPrice } from './pricing';
import { parseTranscript, ReplayEndpoint, type Transcript } from './transcript';

export type ModelProvider =
  | { kind: 'endpoint'; model: string; baseURL?: string; apiKey: string; price: ModelPrice }
  | { kind: 'replay'; transcript: Transcript };

const ModelEnv = z.object({
  REGATTA_MODEL: z.string().min(1).optional(),
  OPENAI_BASE_URL: z
    .url({
      protocol: /^https?$/,
      error: 'expected the http(s) base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1',
    })
    .optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  REGATTA_MODEL_PRICE: z
    .string()
    .refine(
      (text) => parsePrice(text) !== undefined,
      'expected "input,output" in US dollars per million tokens, e.g. 0.4,1.6',
    )
    .optional(),
  REGATTA_MODEL_REPLAY: z.string().min(1).optional(),
});

/** The configured model, or undefined when none is: then the agent does not run. */
export function modelProviderFromEnv(env: NodeJS.ProcessEnv = process.env): ModelProvider | undefined {
  const e = parseContract(ModelEnv, env, 'model configuration');
  if (e.REGATTA_MODEL_REPLAY)
    return { kind: 'replay', transcript: parseTranscript(fs.readFileSync(e.REGATTA_MODEL_REPLAY, 'utf8')) };
  if (!e.REGATTA_MODEL) return undefined;
  const price = e.REGATTA_MODEL_PRICE ? parsePrice(e.REGATTA_MODEL_PRICE) : listPrice(e.REGATTA_MODEL);
  if (!price) {
    throw new ContractViolationError('model configuration', [
      {
        path: 'REGATTA_MODEL_PRICE',
        value: undefined,
        expected: `a price for model "${e.REGATTA_MODEL}", which the pricing table does not list ("input,output" USD per million tokens)`,
      },
    ]);
  }
  if (!e.OPENAI_API_KEY && !e.OPENAI_BASE_URL) {
    throw new ContractViolationError('model configuration', [
      {
        path: 'OPENAI_API_KEY',
        value: undefined,
        expected: 'an API key, or OPENAI_BASE_URL for an endpoint that needs none',
      },
    ]);
  }
  // Local endpoints often take no key, but the client insists on one; this placeholder authorizes nothing.
  return {
    kind: 'endpoint',
    model: e.REGATTA_MODEL,
    baseURL: e.OPENAI_BASE_URL,
    apiKey: e.OPENAI_API_KEY ?? 'no-key',
    price,
  };
}

export interface ModelConnection {
  client: OpenAI;
  model: string;
  price: ModelPrice;
  /** Values that must never appear in anything the run keeps. */
  secrets: string[];
  /** Set when the provider is a recorded transcript. */
  replay?: ReplayEndpoint;
}

export function connectModel(
  provider: ModelProvider,
  options: { requestTimeoutMs?: number; maxRetries?: number } = {},
): ModelConnection {
  const common = { timeout: options.requestTimeoutMs ?? 120_000, maxRetries: options.maxRetries ?? 2 };
  if (provider.kind === 'replay') {
    const replay = new ReplayEndpoint(provider.transcript);
    const client = new OpenAI({
      ...common,
      apiKey: 'replay',
      baseURL: 'http://replay.invalid/v1',
      fetch: replay.fetch,
      maxRetries: 0,
    });
    return { client, model: provider.transcript.model, price: provider.transcript.price, secrets: [], replay };
  }
  const client = new OpenAI({ ...common, apiKey: provider.apiKey, baseURL: provider.baseURL });
  return {
    client,
    model: provider.model,
    price: provider.price,
    secrets: provider.apiKey === 'no-key' ? [] : [provider.apiKey],
  };
}
