/**
 * A scripted OpenAI-compatible model on loopback: answers POST /v1/chat/completions with the next scripted reply
 * (tool calls, text, usage) and records every request, so tests drive the real `openai` client and can assert on
 * what was sent (headers, prompts, tool results).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  name: string;
  /** An object is sent JSON-encoded; a string is sent as is (to script malformed arguments). */
  arguments?: unknown;
}

export interface ScriptedReply {
  toolCalls?: ScriptedToolCall[];
  content?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Answer with this HTTP status and an error body instead of a completion. */
  status?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: {
    model?: string;
    messages?: { role: string; content?: unknown; tool_call_id?: string; tool_calls?: unknown[] }[];
    tools?: { function: { name: string } }[];
  };
}

/** A reply, or a function of the request that decides it (e.g. from the last tool result). */
export type ScriptStep = ScriptedReply | ((request: RecordedRequest) => ScriptedReply);

export interface ModelServer {
  /** The base URL an OpenAI client takes (ends in /v1). */
  baseURL: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const DEFAULT_USAGE = { prompt_tokens: 1000, completion_tokens: 100 };

export async function startModelServer(
  script: readonly ScriptStep[],
  options: { usage?: ScriptedReply['usage'] } = {},
): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  let turn = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        raw,
        body: raw ? JSON.parse(raw) : {},
      };
      requests.push(request);
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
        return send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
      const step = script[turn];
      if (!step)
        return send(res, 400, {
          error: {
            message: `the script has ${script.length} replies; request ${turn + 1} has none`,
            type: 'script_exhausted',
          },
        });
      let reply: ScriptedReply;
      try {
        reply = typeof step === 'function' ? step(request) : step;
      } catch (err) {
        // A failed expectation inside a scripted reply fails the run visibly (400 is not retried by the client).
        return send(res, 400, {
          error: { message: `scripted reply ${turn + 1} failed: ${(err as Error).message}`, type: 'script_assertion' },
        });
      }
      const current = turn++;
      if (reply.status)
        return send(res, reply.status, { error: { message: `scripted failure ${reply.status}`, type: 'scripted' } });
      send(res, 200, completion(current, request.body.model ?? 'scripted', reply, options.usage ?? DEFAULT_USAGE));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function completion(
  turn: number,
  model: string,
  reply: ScriptedReply,
  defaultUsage: NonNullable<ScriptedReply['usage']>,
) {
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: `call_${turn}_${index}`,
    type: 'function' as const,
    function: {
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
    },
  }));
  const usage = reply.usage ?? defaultUsage;
  return {
    id: `chatcmpl-scripted-${turn}`,
    object: 'chat.completion',
    created: 1_700_000_000 + turn,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          refusal: null,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
        logprobs: null,
      },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The content of the last tool message in a request (what the agent was told about its previous call). */
export function lastToolResult(request: RecordedRequest): string {
  const tool = [...(request.body.messages ?? [])].reverse().find((m) => m.role === 'tool');
  return typeof tool?.content === 'string' ? tool.content : '';
}
