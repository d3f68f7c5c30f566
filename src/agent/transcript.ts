/**
 * The transcript of an agent run (every model request and response, redacted) and a replay endpoint that serves a
 * recorded transcript turn by turn, so a run can be re-executed without a model.
 */
import { z } from 'zod';
import { parseContract } from '../contracts/validate';
import type { ModelPrice } from './pricing';

export const TRANSCRIPT_FORMAT = 'regatta.transcript/1';

export const TranscriptTurn = z.strictObject({
  turn: z.number().int().nonnegative(),
  at: z.iso.datetime(),
  durationMs: z.number().nonnegative(),
  /** Index of the first message this request added; each turn records only what is new, the full request is the concatenation. */
  messagesFrom: z.number().int().nonnegative(),
  messages: z.array(z.unknown()),
  /** The chat completion as the endpoint returned it. */
  response: z.unknown().optional(),
  /** Why the request failed, when it did (a replay fails the same way). */
  error: z.string().optional(),
});
export type TranscriptTurn = z.infer<typeof TranscriptTurn>;

export const Transcript = z.strictObject({
  format: z.literal(TRANSCRIPT_FORMAT),
  model: z.string().min(1),
  price: z.strictObject({ inputPerMillion: z.number().nonnegative(), outputPerMillion: z.number().nonnegative() }),
  startedAt: z.iso.datetime(),
  tools: z.array(z.unknown()),
  turns: z.array(TranscriptTurn),
});
export type Transcript = z.infer<typeof Transcript>;

export function parseTranscript(text: string): Transcript {
  return parseContract(Transcript, JSON.parse(text), 'agent transcript');
}

/** Collects turns as the loop makes requests; everything is passed through `redact` before it is kept. */
export class TranscriptRecorder {
  readonly transcript: Transcript;
  private recordedMessages = 0;

  constructor(
    model: string,
    price: ModelPrice,
    tools: readonly unknown[],
    private readonly redact: (text: string) => string,
  ) {
    this.transcript = {
      format: TRANSCRIPT_FORMAT,
      model,
      price,
      startedAt: new Date().toISOString(),
      tools: this.clean([...tools]),
      turns: [],
    };
  }

  record(messages: readonly unknown[], response: unknown, startedAt: number): void {
    this.transcript.turns.push({
      turn: this.transcript.turns.length,
      at: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
      messagesFrom: this.recordedMessages,
      messages: this.clean(messages.slice(this.recordedMessages)),
      response: response === undefined ? undefined : this.clean(response),
    });
    this.recordedMessages = messages.length;
  }

  recordFailure(messages: readonly unknown[], error: string, startedAt: number): void {
    this.record(messages, undefined, startedAt);
    this.transcript.turns[this.transcript.turns.length - 1].error = this.redact(error);
  }

  /** The full message list of a turn's request, rebuilt from the deltas. */
  static requestMessages(transcript: Transcript, turn: number): unknown[] {
    return transcript.turns.slice(0, turn + 1).flatMap((t) => t.messages);
  }

  private clean<T>(value: T): T {
    return JSON.parse(this.redact(JSON.stringify(value))) as T;
  }
}

interface RecordedMessageShape {
  role?: string;
  tool_call_id?: string;
}

/**
 * An OpenAI-compatible endpoint, as a `fetch` for the openai client, that answers each chat completion with the next
 * recorded response. Requests that differ in shape from the recorded ones are noted in `divergences`, not refused,
 * since command output (timings) legitimately differs between runs.
 */
export class ReplayEndpoint {
  readonly divergences: string[] = [];
  private served = 0;

  constructor(readonly transcript: Transcript) {}

  get turnsServed(): number {
    return this.served;
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/chat/completions'))
      return errorResponse(404, `the replay endpoint serves only chat completions, not ${url}`);
    const turn = this.transcript.turns[this.served];
    if (!turn)
      return errorResponse(
        400,
        `the recorded transcript has ${this.transcript.turns.length} turns; turn ${this.served} was asked for`,
      );
    this.served++;
    const body = JSON.parse(String(init?.body ?? '{}')) as { messages?: RecordedMessageShape[] };
    this.compare(turn, body.messages ?? []);
    if (turn.error !== undefined) return errorResponse(500, turn.error);
    return new Response(JSON.stringify(turn.response), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };

  private compare(turn: TranscriptTurn, messages: RecordedMessageShape[]): void {
    const expected = turn.messagesFrom + turn.messages.length;
    if (messages.length !== expected) {
      this.divergences.push(`turn ${turn.turn}: ${messages.length} messages sent, ${expected} recorded`);
      return;
    }
    const shape = (m: RecordedMessageShape) => `${m.role}:${m.tool_call_id ?? ''}`;
    const sent = messages.slice(turn.messagesFrom).map(shape).join(',');
    const recorded = (turn.messages as RecordedMessageShape[]).map(shape).join(',');
    if (sent !== recorded) this.divergences.push(`turn ${turn.turn}: sent [${sent}], recorded [${recorded}]`);
  }
}

function errorResponse(status: number, message: string): Response {
  return new Response(JSON.stringify({ error: { message, type: 'replay_error' } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
