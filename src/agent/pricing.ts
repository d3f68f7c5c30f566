/** What a model's tokens cost, so a run's spend can be held to the policy's budget. */
import type { CostReport } from '../contracts';

/** US dollars per million tokens. */
export interface ModelPrice {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** List prices of common OpenAI models; any other model needs REGATTA_MODEL_PRICE, so a budget is never priced at zero by accident. */
export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5': { inputPerMillion: 1.25, outputPerMillion: 10 },
  'gpt-5-mini': { inputPerMillion: 0.25, outputPerMillion: 2 },
  'gpt-5-nano': { inputPerMillion: 0.05, outputPerMillion: 0.4 },
  'gpt-4.1': { inputPerMillion: 2, outputPerMillion: 8 },
  'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  'gpt-4.1-nano': { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
  'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  o3: { inputPerMillion: 2, outputPerMillion: 8 },
  'o4-mini': { inputPerMillion: 1.1, outputPerMillion: 4.4 },
};

/** The table's price for `model`, also for dated snapshots such as `gpt-4o-2024-08-06`. */
export function listPrice(model: string): ModelPrice | undefined {
  if (MODEL_PRICES[model]) return MODEL_PRICES[model];
  const base = Object.keys(MODEL_PRICES)
    .filter((name) => model.startsWith(`${name}-`) && /^\d{4}-\d{2}-\d{2}$/.test(model.slice(name.length + 1)))
    .sort((a, b) => b.length - a.length)[0];
  return base ? MODEL_PRICES[base] : undefined;
}

/** Parses `input,output` (USD per million tokens), as REGATTA_MODEL_PRICE spells a price. */
export function parsePrice(text: string): ModelPrice | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  return match ? { inputPerMillion: Number(match[1]), outputPerMillion: Number(match[2]) } : undefined;
}

export function costOf(model: string, price: ModelPrice, promptTokens: number, completionTokens: number): CostReport {
  const usd = (promptTokens * price.inputPerMillion + completionTokens * price.outputPerMillion) / 1_000_000;
  return { model, promptTokens, completionTokens, usd: Math.round(usd * 1e6) / 1e6 };
}
