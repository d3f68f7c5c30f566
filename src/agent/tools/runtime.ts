/**
 * The tool runtime: every call the model makes is checked (tool allowed, arguments, path scope, command allowlist,
 * remaining tool calls), done or denied, and recorded as a StepEvent. Repeated denials end the run.
 */
import { explainRefusals, loadCommandPolicy } from '../../../policies/command-policy';
import { AGENT_TOOLS, type AgentTool, type Failure, type StepEvent, type VerificationReport } from '../../contracts';
import type { CommandResult } from '../../sandbox/driver';
import { TOOL_ARGUMENTS, type ScopeRequest, type ToolArguments } from './definitions';
import { WorkspaceFiles } from './workspace-files';
import { ToolDeniedError, ToolFailedError } from './workspace-path';

/** Runs a shell command in the run's sandbox, never on the host (the sandbox driver's `exec`). */
export type CommandRunner = (command: string, timeoutMs?: number) => Promise<CommandResult>;
/** Runs the verification plan in the sandbox. */
export type Verifier = () => Promise<VerificationReport>;

/** What the policy decision and the ExecutionSpec let the agent do; fixed for the whole run. */
export interface ToolScope {
  allowedTools: readonly AgentTool[];
  allowedCommands: readonly string[];
  allowedPaths: readonly string[];
  forbiddenPaths: readonly string[];
  /** Paths a human approved after the agent asked for them (request_scope), writable despite forbiddenPaths. */
  approvedPaths?: readonly string[];
  maxToolCalls: number;
}

export type ToolEvent = Omit<StepEvent, 'seq' | 'at'>;

export type RunStop =
  | { outcome: 'finished'; summary: string }
  | { outcome: 'needs_approval'; scopeRequest: ScopeRequest }
  | { outcome: 'failed'; failure: Failure };

export interface ToolCallResult {
  /** What the model is told. */
  content: string;
  allowed: boolean;
  stop?: RunStop;
}

export interface ToolRuntimeOptions {
  workspaceDir: string;
  scope: ToolScope;
  runCommand: CommandRunner;
  verify: Verifier;
  redact: (text: string) => string;
  onEvent?: (event: ToolEvent) => void;
  /** Epoch ms by which the run must end; a command gets no more than what is left. */
  deadline?: number;
  commandTimeoutMs?: number;
  denialLimits?: { consecutive: number; total: number };
}

export const DEFAULT_DENIAL_LIMITS = { consecutive: 3, total: 5 };
const MAX_COMMAND_OUTPUT_FOR_MODEL = 16_000;
const MAX_EVENT_DETAIL = 500;

type Handled = { content: string; event?: Partial<ToolEvent>; stop?: RunStop };

export class ToolRuntime {
  readonly events: StepEvent[] = [];
  /** Commands the agent ran in the sandbox, for the evidence's command list. */
  readonly commands: string[] = [];
  lastVerification?: VerificationReport;
  private readonly files: WorkspaceFiles;
  private calls = 0;
  private denied = 0;
  private deniedInARow = 0;

  constructor(private readonly options: ToolRuntimeOptions) {
    this.files = new WorkspaceFiles(options.workspaceDir, {
      allowedPaths: options.scope.allowedPaths,
      forbiddenPaths: options.scope.forbiddenPaths,
      approvedPaths: options.scope.approvedPaths,
    });
  }

  get toolCalls(): number {
    return this.calls;
  }

  get deniedCalls(): number {
    return this.denied;
  }

  get limitReached(): boolean {
    return this.calls >= this.options.scope.maxToolCalls;
  }

  async call(name: string, rawArguments: string): Promise<ToolCallResult> {
    this.calls++;
    const tool = name.slice(0, 64);
    if (this.calls > this.options.scope.maxToolCalls) {
      const failure: Failure = {
        kind: 'budget',
        message: `the agent reached the policy's limit of ${this.options.scope.maxToolCalls} tool calls`,
      };
      this.record({ kind: 'tool_call', name: tool, allowed: false, detail: `denied: ${failure.message}` });
      return { content: `DENIED: ${failure.message}.`, allowed: false, stop: { outcome: 'failed', failure } };
    }
    const started = Date.now();
    try {
      const args = this.validate(tool, rawArguments);
      const handled = await this.handle(tool as AgentTool, args);
      this.deniedInARow = 0;
      this.record({ kind: 'tool_call', name: tool, allowed: true, durationMs: Date.now() - started, ...handled.event });
      return { content: handled.content, allowed: true, stop: handled.stop };
    } catch (err) {
      if (err instanceof ToolFailedError || isFileSystemError(err)) {
        this.deniedInARow = 0;
        const message =
          err instanceof ToolFailedError
            ? err.message
            : `${(err as NodeJS.ErrnoException).code}: the file operation failed`;
        this.record({
          kind: 'tool_call',
          name: tool,
          allowed: true,
          durationMs: Date.now() - started,
          detail: `${describeCall(tool, rawArguments)}: error: ${message}`,
        });
        return { content: `ERROR: ${message}`, allowed: true };
      }
      if (!(err instanceof ToolDeniedError)) throw err;
      return this.deny(tool, rawArguments, err.reason);
    }
  }

  private deny(tool: string, rawArguments: string, reason: string): ToolCallResult {
    this.denied++;
    this.deniedInARow++;
    this.record({
      kind: 'tool_call',
      name: tool,
      allowed: false,
      detail: `denied: ${reason} (${describeCall(tool, rawArguments)})`,
    });
    const content = `DENIED: ${reason}. The call was not executed. The policy for this run cannot change; if the task needs more, call request_scope.`;
    const limits = this.options.denialLimits ?? DEFAULT_DENIAL_LIMITS;
    if (this.deniedInARow >= limits.consecutive || this.denied >= limits.total) {
      const failure: Failure = {
        kind: 'agent',
        message: `the agent made ${this.denied} denied tool call(s), ${this.deniedInARow} in a row; last: ${reason}`,
      };
      return { content, allowed: false, stop: { outcome: 'failed', failure } };
    }
    return { content, allowed: false };
  }

  private validate(tool: string, rawArguments: string): unknown {
    if (!(AGENT_TOOLS as readonly string[]).includes(tool))
      throw new ToolDeniedError(`there is no tool named ${JSON.stringify(tool)}`);
    if (!this.options.scope.allowedTools.includes(tool as AgentTool))
      throw new ToolDeniedError(`the tool ${tool} is not allowed by policy`);
    let json: unknown;
    try {
      json = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
    } catch {
      throw new ToolDeniedError('the arguments are not valid JSON');
    }
    const parsed = TOOL_ARGUMENTS[tool as AgentTool].safeParse(json);
    if (!parsed.success) {
      throw new ToolDeniedError(
        `invalid arguments: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
    }
    return parsed.data;
  }

  private async handle(tool: AgentTool, args: unknown): Promise<Handled> {
    switch (tool) {
      case 'read_file':
        return this.readFile(args as ToolArguments['read_file']);
      case 'write_file': {
        const a = args as ToolArguments['write_file'];
        const written = this.files.write(a.path, a.content);
        return {
          content: `${written.created ? 'created' : 'wrote'} ${written.path} (${written.bytes} bytes)`,
          event: { detail: `write ${written.path}` },
        };
      }
      case 'edit_file': {
        const a = args as ToolArguments['edit_file'];
        const edited = this.files.edit(a.path, a.old_text, a.new_text);
        return { content: `edited ${edited.path}`, event: { detail: `edit ${edited.path}` } };
      }
      case 'list_files': {
        const a = args as ToolArguments['list_files'];
        const listed = this.files.list(a.path, a.recursive);
        return {
          content: this.redact(listed.entries.join('\n') + (listed.truncated ? '\n[listing truncated]' : '')),
          event: { detail: `list ${a.path}` },
        };
      }
      case 'search_text': {
        const a = args as ToolArguments['search_text'];
        const found = this.files.search(a.text, a.path, a.ignore_case);
        const content = found.matches.length
          ? found.matches.join('\n') + (found.truncated ? '\n[more matches not shown]' : '')
          : 'no matches';
        return {
          content: this.redact(content),
          event: {
            detail: `search ${JSON.stringify(a.text.slice(0, 100))} in ${a.path}: ${found.matches.length} match(es)`,
          },
        };
      }
      case 'run_command':
        return this.runCommand(args as ToolArguments['run_command']);
      case 'run_verifier':
        return this.runVerifier();
      case 'request_scope': {
        const scopeRequest = args as ScopeRequest;
        return {
          content: 'scope requested; the run stops here and waits for a human',
          event: { detail: `scope requested: ${scopeRequest.reason}` },
          stop: { outcome: 'needs_approval', scopeRequest },
        };
      }
      case 'finish': {
        const { summary } = args as ToolArguments['finish'];
        return { content: 'finished', event: { detail: 'finished' }, stop: { outcome: 'finished', summary } };
      }
    }
  }

  private readFile(a: ToolArguments['read_file']): Handled {
    const read = this.files.read(a.path, { offset: a.offset, limit: a.limit });
    const note = read.truncated
      ? `\n[${read.path} has ${read.totalLines} lines; not all are shown — use offset and limit]`
      : '';
    return { content: this.redact(read.content + note), event: { detail: `read ${read.path}` } };
  }

  private async runCommand(a: ToolArguments['run_command']): Promise<Handled> {
    const refusals = (await loadCommandPolicy()).check(a.command, this.options.scope.allowedCommands);
    if (refusals.length > 0) {
      const why = explainRefusals(refusals);
      throw new ToolDeniedError(
        `the command ${JSON.stringify(a.command.slice(0, 200))} is not in the allowlist${why ? `: ${why}` : ''} (allowed: ${this.options.scope.allowedCommands.join(', ') || 'nothing'})`,
      );
    }
    const result = await this.options.runCommand(a.command, this.commandTimeout(a.timeout_seconds));
    this.commands.push(a.command);
    const status = `exit code ${result.exitCode} in ${result.durationMs} ms${result.timedOut ? ' (timed out and stopped)' : ''}${result.outputTruncated ? ` (output capped; ${result.outputBytes} bytes printed)` : ''}`;
    return {
      content: this.redact(`${status}\n${tail(result.output, MAX_COMMAND_OUTPUT_FOR_MODEL)}`),
      event: {
        detail: `$ ${a.command}${result.timedOut ? ' (timed out)' : ''}`,
        exitCode: result.exitCode,
        outputBytes: result.outputBytes,
        outputTruncated: result.outputTruncated,
      },
    };
  }

  private async runVerifier(): Promise<Handled> {
    const report = await this.options.verify();
    this.lastVerification = report;
    const lines = [`verdict: ${report.verdict}`];
    for (const c of report.commands)
      lines.push(`$ ${c.command}`, `exit code ${c.exitCode} in ${c.durationMs} ms`, c.output.trimEnd());
    const failed = report.commands.find((c) => c.exitCode !== 0);
    return {
      content: this.redact(tail(lines.join('\n'), MAX_COMMAND_OUTPUT_FOR_MODEL)),
      event: { detail: `verifier: ${report.verdict}`, exitCode: failed?.exitCode ?? 0 },
    };
  }

  private commandTimeout(requestedSeconds: number | undefined): number | undefined {
    const limits = [
      requestedSeconds ? requestedSeconds * 1000 : undefined,
      this.options.commandTimeoutMs,
      this.options.deadline ? Math.max(1000, this.options.deadline - Date.now()) : undefined,
    ];
    const defined = limits.filter((l): l is number => l !== undefined);
    return defined.length ? Math.min(...defined) : undefined;
  }

  private record(event: ToolEvent): void {
    const clean = {
      ...event,
      detail: event.detail === undefined ? undefined : this.redact(event.detail).slice(0, MAX_EVENT_DETAIL),
    };
    this.events.push({ seq: this.events.length, at: new Date().toISOString(), ...clean });
    this.options.onEvent?.(clean);
  }

  private redact(text: string): string {
    return this.options.redact(text);
  }
}

/** A short, safe description of a call for the event log. */
function describeCall(tool: string, rawArguments: string): string {
  try {
    const args = JSON.parse(rawArguments) as Record<string, unknown>;
    const subject = args.command ?? args.path ?? args.text;
    return typeof subject === 'string' ? `${tool} ${JSON.stringify(subject.slice(0, 200))}` : tool;
  } catch {
    return tool;
  }
}

function isFileSystemError(err: unknown): boolean {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    typeof (err as NodeJS.ErrnoException).syscall === 'string'
  );
}

/** Keeps the end of long output, where test runners print failures and summaries. */
function tail(text: string, max: number): string {
  return text.length <= max ? text : `[… ${text.length - max} characters omitted …]\n${text.slice(-max)}`;
}
