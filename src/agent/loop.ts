/**
 * The agent loop: asks an OpenAI-compatible model for tool calls and carries them out through the tool runtime,
 * until the model finishes or asks for scope, or a limit (tool calls, budget, duration, denials) stops it.
 */
import type OpenAI from 'openai';
import { redact, secretValues } from '../artifacts/redact';
import type { CostReport, Failure, StepEvent, VerificationReport } from '../contracts';
import { connectModel, type ModelConnection, type ModelProvider } from './model-provider';
import { costOf } from './pricing';
import { CALL_A_TOOL, systemPrompt, taskMessage } from './prompt';
import { toolDefinitions, type ScopeRequest } from './tools/definitions';
import {
  ToolRuntime,
  type CommandRunner,
  type RunStop,
  type ToolEvent,
  type ToolScope,
  type Verifier,
} from './tools/runtime';
import { TranscriptRecorder, type Transcript } from './transcript';

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** What a policy decision grants the agent for one run. */
export interface AgentPolicy extends ToolScope {
  maxBudgetUsd: number;
  maxDurationMs: number;
}

export interface AgentProgress {
  turn: number;
  toolCalls: number;
  cost: CostReport;
}

export interface AgentRunInput {
  /** What to achieve, in the campaign's words (trusted: written by whoever started the campaign). */
  task: string;
  /** The host directory of the run's workspace (mounted in the sandbox at /workspace). */
  workspaceDir: string;
  policy: AgentPolicy;
  runCommand: CommandRunner;
  verify: Verifier;
  model: ModelProvider;
  /** The verifier's report after the deterministic steps; shown to the model as a tool result, since it is repository output. */
  initialVerification?: VerificationReport;
  commandTimeoutMs?: number;
  denialLimits?: { consecutive: number; total: number };
  /** Each tool call's StepEvent as it happens, with the run's progress (for heartbeats and the run log). */
  onEvent?: (event: ToolEvent, progress: AgentProgress) => void;
  /** Aborting (e.g. activity cancellation) stops the loop; the abort reason is thrown. */
  signal?: AbortSignal;
  /** Further secret values to keep out of the transcript and events (the model key and secret-named env values always are). */
  secrets?: readonly string[];
}

export interface AgentRunResult {
  outcome: 'finished' | 'needs_approval' | 'failed';
  /** The agent's summary when finished; otherwise why it stopped. */
  summary: string;
  failure?: Failure;
  scopeRequest?: ScopeRequest;
  cost: CostReport;
  transcript: Transcript;
  /** One `tool_call` StepEvent per call, allowed or denied, numbered from 0. */
  events: StepEvent[];
  toolCalls: number;
  deniedCalls: number;
  /** Commands the agent ran in the sandbox. */
  commands: string[];
  /** The last report of a run_verifier call, if any. */
  verification?: VerificationReport;
  /** For a replayed run: where the requests differed in shape from the recorded ones. */
  replayDivergences?: string[];
}

const MAX_TEXT_ONLY_ANSWERS = 3;
const INITIAL_VERIFICATION_CALL = 'call_regatta_initial_verification';

export async function runAgent(input: AgentRunInput): Promise<AgentRunResult> {
  const connection = connectModel(input.model);
  return new AgentLoop(input, connection).run();
}

class AgentLoop {
  private readonly startedAt = Date.now();
  private readonly deadline: number;
  private readonly secrets: string[];
  private readonly runtime: ToolRuntime;
  private readonly recorder: TranscriptRecorder;
  private readonly tools: OpenAI.Chat.Completions.ChatCompletionFunctionTool[];
  private readonly messages: Message[] = [];
  private promptTokens = 0;
  private completionTokens = 0;
  private turn = 0;
  /** The price of the dearest model turn so far. */
  private dearestTurnUsd = 0;

  constructor(
    private readonly input: AgentRunInput,
    private readonly model: ModelConnection,
  ) {
    this.deadline = this.startedAt + input.policy.maxDurationMs;
    this.secrets = [...new Set([...model.secrets, ...(input.secrets ?? []), ...secretValues()])].sort(
      (a, b) => b.length - a.length,
    );
    const clean = (text: string) => redact(text, this.secrets);
    this.runtime = new ToolRuntime({
      workspaceDir: input.workspaceDir,
      scope: input.policy,
      runCommand: input.runCommand,
      verify: input.verify,
      redact: clean,
      deadline: this.deadline,
      commandTimeoutMs: input.commandTimeoutMs,
      denialLimits: input.denialLimits,
      onEvent: (event) =>
        input.onEvent?.(event, { turn: this.turn, toolCalls: this.runtime.toolCalls, cost: this.cost() }),
    });
    this.tools = toolDefinitions(input.policy.allowedTools);
    this.recorder = new TranscriptRecorder(model.model, model.price, this.tools, clean);
  }

  async run(): Promise<AgentRunResult> {
    this.messages.push(
      { role: 'system', content: systemPrompt(this.input.policy) },
      { role: 'user', content: taskMessage(this.input.task) },
    );
    if (this.input.initialVerification) this.showInitialVerification(this.input.initialVerification);
    let textOnlyAnswers = 0;
    for (; ; this.turn++) {
      const limit = this.limitReached();
      if (limit) return this.result(limit);
      const answer = await this.ask();
      if ('outcome' in answer) return this.result(answer);
      const calls = answer.tool_calls ?? [];
      this.messages.push({
        role: 'assistant',
        content: answer.content ?? null,
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      if (this.overBudget()) return this.result(this.budgetStop());
      if (calls.length === 0) {
        if (++textOnlyAnswers >= MAX_TEXT_ONLY_ANSWERS)
          return this.result(failed('agent', `the model answered ${textOnlyAnswers} times without calling a tool`));
        this.messages.push({ role: 'user', content: CALL_A_TOOL });
        continue;
      }
      textOnlyAnswers = 0;
      for (const call of calls) {
        this.input.signal?.throwIfAborted();
        const outcome =
          call.type === 'function'
            ? await this.runtime.call(call.function.name, call.function.arguments)
            : await this.runtime.call(`custom:${call.custom.name}`, '{}');
        this.messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.content });
        if (outcome.stop) return this.result(outcome.stop);
      }
    }
  }

  /** One chat completion; a stop instead when the endpoint fails or the run's time runs out. */
  private async ask(): Promise<OpenAI.Chat.Completions.ChatCompletionMessage | RunStop> {
    const requestStarted = Date.now();
    const remaining = Math.max(1, this.deadline - requestStarted);
    const signals = [AbortSignal.timeout(remaining), ...(this.input.signal ? [this.input.signal] : [])];
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.model.client.chat.completions.create(
        { model: this.model.model, messages: this.messages, tools: this.tools, tool_choice: 'auto' },
        { signal: AbortSignal.any(signals) },
      );
    } catch (err) {
      this.input.signal?.throwIfAborted();
      this.recorder.recordFailure(this.messages, (err as Error).message, requestStarted);
      if (Date.now() >= this.deadline) return this.timeoutStop();
      return failed('infra', `the model endpoint failed: ${redact((err as Error).message, this.secrets)}`);
    }
    this.recorder.record(this.messages, completion, requestStarted);
    const before = this.cost().usd;
    this.countUsage(completion);
    this.dearestTurnUsd = Math.max(this.dearestTurnUsd, this.cost().usd - before);
    const message = completion.choices?.[0]?.message;
    return message ?? failed('agent', 'the model returned no message');
  }

  /** The deterministic steps' failing verification, presented as the result of a run_verifier call so it stays data. */
  private showInitialVerification(report: VerificationReport): void {
    const lines = [`verdict: ${report.verdict}`];
    for (const c of report.commands) lines.push(`$ ${c.command}`, `exit code ${c.exitCode}`, c.output.trimEnd());
    this.messages.push(
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: INITIAL_VERIFICATION_CALL, type: 'function', function: { name: 'run_verifier', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: INITIAL_VERIFICATION_CALL, content: redact(lines.join('\n'), this.secrets) },
    );
  }

  private countUsage(completion: OpenAI.Chat.Completions.ChatCompletion): void {
    if (completion.usage) {
      this.promptTokens += completion.usage.prompt_tokens;
      this.completionTokens += completion.usage.completion_tokens;
      return;
    }
    // An endpoint that reports no usage is charged by a rough count (four characters a token) rather than not at all.
    this.promptTokens += Math.ceil(JSON.stringify(this.messages).length / 4);
    this.completionTokens += Math.ceil(JSON.stringify(completion.choices ?? []).length / 4);
  }

  private cost(): CostReport {
    return costOf(this.model.model, this.model.price, this.promptTokens, this.completionTokens);
  }

  private overBudget(): boolean {
    return this.cost().usd > this.input.policy.maxBudgetUsd;
  }

  /** A turn costs more as the conversation grows, so the dearest turn so far is the best guess at the next one's price. */
  private nextTurnUnaffordable(): boolean {
    return this.cost().usd + this.dearestTurnUsd > this.input.policy.maxBudgetUsd;
  }

  private limitReached(): RunStop | undefined {
    this.input.signal?.throwIfAborted();
    if (Date.now() >= this.deadline) return this.timeoutStop();
    if (this.cost().usd >= this.input.policy.maxBudgetUsd || this.nextTurnUnaffordable()) return this.budgetStop();
    if (this.runtime.limitReached)
      return failed(
        'budget',
        `the agent used all ${this.input.policy.maxToolCalls} tool calls the policy allows without finishing`,
      );
    return undefined;
  }

  private budgetStop(): RunStop {
    const next =
      this.cost().usd < this.input.policy.maxBudgetUsd
        ? `; another turn (about $${this.dearestTurnUsd.toFixed(4)}) would overrun it`
        : '';
    return failed(
      'budget',
      `the agent spent $${this.cost().usd.toFixed(4)} of its $${this.input.policy.maxBudgetUsd} budget without finishing${next}`,
    );
  }

  private timeoutStop(): RunStop {
    return failed('timeout', `the agent ran out of its ${this.input.policy.maxDurationMs} ms`);
  }

  private result(stop: RunStop): AgentRunResult {
    const common = {
      cost: this.cost(),
      transcript: this.recorder.transcript,
      events: this.runtime.events,
      toolCalls: this.runtime.toolCalls,
      deniedCalls: this.runtime.deniedCalls,
      commands: this.runtime.commands,
      verification: this.runtime.lastVerification,
      replayDivergences: this.model.replay?.divergences,
    };
    const clean = (text: string) => redact(text, this.secrets);
    if (stop.outcome === 'finished') return { ...common, outcome: 'finished', summary: clean(stop.summary) };
    if (stop.outcome === 'needs_approval') {
      const scopeRequest = JSON.parse(clean(JSON.stringify(stop.scopeRequest))) as ScopeRequest;
      return {
        ...common,
        outcome: 'needs_approval',
        summary: `the agent asks for more scope: ${scopeRequest.reason}`,
        scopeRequest,
      };
    }
    return { ...common, outcome: 'failed', summary: stop.failure.message, failure: stop.failure };
  }
}

function failed(kind: Failure['kind'], message: string): RunStop {
  return { outcome: 'failed', failure: { kind, message } };
}
