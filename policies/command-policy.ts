/**
 * The command allowlist, read the way `sh -c` reads a line: tree-sitter's bash grammar parses it, and every simple
 * command inside (through lists, pipelines, subshells, groups, loops, `sh -c` scripts and `find -exec` commands) must
 * match an allowlist pattern. An interpreter running code from its command line or standard input (`node -e`,
 * `python3 -c`, `echo … | node`) needs a matching pattern that names the flag: `node *` means a named script file.
 * Command and process substitutions are refused wherever the shell would run them (single quotes and quoted heredocs
 * keep them as text), so are redirections that write outside the workspace and assignments that change what runs.
 * The parser is WebAssembly loaded asynchronously, so this runs in activities, never in workflow code.
 */
import { readFileSync } from 'node:fs';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { escapeRegExp, wildcardSource } from '../src/text/glob';
import { inlineCode, type InlineCode } from './inline-code';

export type RefusalReason =
  'not_allowlisted' | 'inline_code' | 'substitution' | 'redirection' | 'assignment' | 'unparsable';

export interface CommandRefusal {
  /** The whole command line. */
  command: string;
  /** The part of it refused, as written. */
  part: string;
  reason: RefusalReason;
  /** One sentence naming the part and why. */
  why: string;
}

/** Where the sandbox mounts the repository; relative paths resolve against it. */
export const WORKSPACE_DIR = '/workspace';

const SHELLS = new Set(['sh', 'bash', 'dash', '/bin/sh', '/bin/bash']);
/** `find` runs the command after these up to `;` or `+`, once per file. */
const FIND_EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir']);
const DEVICES = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/tty']);
const WRITING_OPERATORS = new Set(['>', '>>', '&>', '&>>', '>|', '<>', '>&']);
/** Variables that decide which program or library a command loads, so setting them changes what runs. */
const RUN_CHANGING_VARIABLES = /^(PATH|LD_\w+|NODE_OPTIONS|NODE_PATH|BASH_ENV|ENV|IFS|npm_config_script_shell)$/i;
const MAX_PART = 120;

export class CommandPolicy {
  private constructor(private readonly parser: Parser) {}

  static async load(): Promise<CommandPolicy> {
    await Parser.init();
    // Bytes, not a path: given a path, web-tree-sitter reads it through a dynamic import that Jest's VM cannot run.
    const bash = await Language.load(readFileSync(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm')));
    const parser = new Parser();
    parser.setLanguage(bash);
    return new CommandPolicy(parser);
  }

  /** Every part of `command` the allowlist refuses, in the order a reader meets them; empty when it is allowed. */
  check(command: string, allowlist: readonly string[]): CommandRefusal[] {
    const refusals: CommandRefusal[] = [];
    this.checkScript(command, command, allowlist, refusals);
    return refusals;
  }

  allowed(command: string, allowlist: readonly string[]): boolean {
    return this.check(command, allowlist).length === 0;
  }

  private checkScript(script: string, command: string, allowlist: readonly string[], refusals: CommandRefusal[]): void {
    const tree = this.parser.parse(script);
    if (!tree) throw new Error(`the shell parser returned no tree for ${JSON.stringify(script.slice(0, MAX_PART))}`);
    try {
      const broken = tree.rootNode.hasError ? firstError(tree.rootNode) : undefined;
      if (broken) {
        const part = (broken.isMissing ? broken.parent?.text : broken.text) || script;
        refusals.push(
          refusal(command, part, 'unparsable', `${quote(part)} is not complete shell, so what it runs cannot be read`),
        );
        return;
      }
      const walker = new ScriptWalker(command, allowlist, refusals, (inner) =>
        this.checkScript(inner, command, allowlist, refusals),
      );
      const before = refusals.length;
      const commands = walker.visit(tree.rootNode);
      if (commands === 0 && refusals.length === before)
        refusals.push(
          refusal(command, script, 'not_allowlisted', `${quote(script)} runs no command the allowlist names`),
        );
    } finally {
      tree.delete();
    }
  }
}

let loading: Promise<CommandPolicy> | undefined;

/** The process-wide policy; the parser loads once. */
export function loadCommandPolicy(): Promise<CommandPolicy> {
  loading ??= CommandPolicy.load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/** Why a line was refused, part by part; undefined when the line is itself one unlisted command and says so. */
export function explainRefusals(refusals: readonly CommandRefusal[]): string | undefined {
  if (refusals.length === 0) return undefined;
  const [first] = refusals;
  if (refusals.length === 1 && first.reason === 'not_allowlisted' && first.part === first.command.trim())
    return undefined;
  return refusals.map((r) => r.why).join('; ');
}

/** `curl x | sh ("curl x" is not in the allowlist; "sh" is not in the allowlist)`. */
export function describeRefusedCommand(refusals: readonly CommandRefusal[]): string {
  if (refusals.length === 0) return '';
  const why = explainRefusals(refusals);
  return why ? `${refusals[0].command} (${why})` : refusals[0].command;
}

class ScriptWalker {
  constructor(
    private readonly command: string,
    private readonly allowlist: readonly string[],
    private readonly refusals: CommandRefusal[],
    private readonly checkInnerScript: (script: string) => void,
  ) {}

  /** Walks a node, refusing what it must; returns how many simple commands it found. */
  visit(node: Node): number {
    switch (node.type) {
      case 'comment':
        return 0;
      case 'command_substitution':
        this.refuse(node.text, 'substitution', `${quote(node.text)} is a command substitution`);
        return 0;
      case 'process_substitution':
        this.refuse(node.text, 'substitution', `${quote(node.text)} is a process substitution`);
        return 0;
      case 'file_redirect':
        this.checkRedirect(node);
        return this.visitAll(node.children.filter((c) => c.type !== 'word' && c.type !== 'number'));
      case 'variable_assignment':
        this.checkAssignment(node);
        return this.visitAll(node.children);
      case 'command':
      case 'declaration_command':
      case 'unset_command':
        return this.checkSimpleCommand(node);
      default:
        return this.visitAll(node.children);
    }
  }

  private visitAll(nodes: readonly Node[]): number {
    return nodes.reduce((found, child) => found + this.visit(child), 0);
  }

  private checkSimpleCommand(node: Node): number {
    const nested = this.visitAll(node.children);
    const words = [...commandWords(node), ...strayRedirectWords(node)];
    if (words.length === 0 || words.map((w) => w.text).join(' ') === '') return nested;
    this.checkWords(words);
    return nested + 1;
  }

  /** One command's words: the allowlist, inline code, and the commands it runs in turn (`sh -c`, `find -exec`). */
  private checkWords(words: readonly Node[]): void {
    const text = words.map((w) => w.text).join(' ');
    const matching = this.allowlist.filter((pattern) => commandPattern(pattern).test(text));
    if (matching.length === 0) {
      this.refuse(text, 'not_allowlisted', `${quote(text)} is not in the allowlist`);
      return;
    }
    const [program, ...args] = words.map((w) => ({ text: w.text, value: literalValue(w) }));
    const inline = inlineCode(program.value ?? program.text, args);
    if (inline && !matching.some((pattern) => namesInlineCode(pattern, inline)))
      this.refuse(text, 'inline_code', inlineCodeRefusal(text, inline, matching));
    else if (words.length >= 3 && SHELLS.has(words[0].text) && words[1].text === '-c') this.checkShellScript(words[2]);
    else if (words[0].text === 'find') this.checkFindCommands(words);
  }

  /** `find … -exec cmd {} ;` runs `cmd` for each file, so `cmd` is checked as a command of its own. */
  private checkFindCommands(words: readonly Node[]): void {
    for (let i = 1; i < words.length; i++) {
      if (!FIND_EXEC.has(literalValue(words[i]) ?? '')) continue;
      const end = words.findIndex((w, j) => j > i && [';', '+'].includes(literalValue(w) ?? ''));
      const command = words.slice(i + 1, end === -1 ? words.length : end);
      if (command.length > 0) this.checkWords(command);
      if (end === -1) return;
      i = end;
    }
  }

  /** `sh -c '…'` runs its argument as shell, so the argument is checked as a line of its own. */
  private checkShellScript(word: Node): void {
    const script = literalValue(word);
    if (script === undefined)
      this.refuse(word.text, 'unparsable', `${quote(word.text)} is a script only known at run time`);
    else this.checkInnerScript(script);
  }

  private checkRedirect(node: Node): void {
    const operator = node.children.find((c) => !c.isNamed)?.type ?? '';
    const destination =
      node.childrenForFieldName('destination')[0] ?? node.namedChildren.find((c) => c.type !== 'file_descriptor');
    if (!WRITING_OPERATORS.has(operator) || !destination || destination.type === 'number' || destination.text === '-')
      return;
    const path = literalValue(destination);
    const part = node.text.slice(0, destination.endIndex - node.startIndex);
    if (path === undefined)
      this.refuse(part, 'redirection', `${quote(part)} is a redirection to a path only known at run time`);
    else if (!insideWorkspace(path))
      this.refuse(part, 'redirection', `${quote(part)} is a redirection outside the workspace`);
  }

  private checkAssignment(node: Node): void {
    const name = node.childForFieldName('name')?.text ?? '';
    if (RUN_CHANGING_VARIABLES.test(name))
      this.refuse(node.text, 'assignment', `${quote(node.text)} is an assignment to ${name}, which changes what runs`);
  }

  private refuse(part: string, reason: RefusalReason, why: string): void {
    this.refusals.push(refusal(this.command, part, reason, why));
  }
}

function firstError(node: Node): Node | undefined {
  if (node.type === 'ERROR' || node.isMissing) return node;
  for (const child of node.children) {
    const found = child.hasError || child.isMissing ? firstError(child) : undefined;
    if (found) return found;
  }
  return undefined;
}

function refusal(command: string, part: string, reason: RefusalReason, why: string): CommandRefusal {
  return { command, part, reason, why };
}

/** The command name and its arguments, without assignments and redirections (checked on their own). */
function commandWords(node: Node): Node[] {
  if (node.type !== 'command') return [node];
  return node.children.filter(
    (c) =>
      c.type !== 'variable_assignment' &&
      c.type !== 'file_redirect' &&
      c.type !== 'herestring_redirect' &&
      c.type !== 'comment',
  );
}

/** The grammar hangs words after a redirection's target (`npm > log test`) on the redirection; the shell passes them as arguments. */
function strayRedirectWords(node: Node): Node[] {
  const parent = node.parent;
  if (parent?.type !== 'redirected_statement' || parent.childForFieldName('body')?.id !== node.id) return [];
  return parent.children
    .filter((c) => c.type === 'file_redirect')
    .flatMap((r) => r.childrenForFieldName('destination').slice(1));
}

/** The value the shell would give a word, when no expansion decides it at run time. */
function literalValue(node: Node): string | undefined {
  switch (node.type) {
    case 'word':
      return /[$`~*?[]/.test(node.text) ? undefined : node.text.replace(/\\(.)/gs, '$1');
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'string':
      return node.namedChildren.every((c) => c.type === 'string_content')
        ? node.text.slice(1, -1).replace(/\\([$`"\\\n])/g, '$1')
        : undefined;
    case 'concatenation': {
      const parts = node.namedChildren.map(literalValue);
      return parts.every((p) => p !== undefined) ? parts.join('') : undefined;
    }
    default:
      return undefined;
  }
}

/** A pattern admits inline code when it spells out the flag before any wildcard (`node -e *`), or standard input in full. */
function namesInlineCode(pattern: string, inline: InlineCode): boolean {
  const literal = pattern.trim().split('*')[0];
  if (inline.flag === undefined) return !pattern.includes('*');
  return new RegExp(`(^|\\s)${escapeRegExp(inline.flag)}(?=\\s|=|$)`).test(literal);
}

function inlineCodeRefusal(text: string, inline: InlineCode, matching: readonly string[]): string {
  const patterns = `${matching.map(quote).join(', ')} ${matching.length > 1 ? 'allow' : 'allows'} ${inline.program} only with a named script file`;
  switch (inline.how) {
    case 'flag':
      return `${quote(text)} runs code given with ${inline.flag}: ${patterns}; a pattern that names ${inline.flag}, such as ${quote(`${inline.program} ${inline.flag} *`)}, allows it`;
    case 'stdin':
      return `${quote(text)} reads its program from standard input${inline.flag ? ` (${inline.flag})` : ''}: ${patterns}`;
    case 'unknown':
      return `${quote(text)} has ${inline.flag} where ${inline.program} reads its options; only run time knows its value, which may be a flag such as -e: ${patterns}`;
  }
}

function insideWorkspace(path: string): boolean {
  if (DEVICES.has(path) || /^\/dev\/fd\/\d+$/.test(path)) return true;
  const absolute = path.startsWith('/');
  if (absolute && path !== WORKSPACE_DIR && !path.startsWith(`${WORKSPACE_DIR}/`)) return false;
  const segments: string[] = [];
  for (const segment of (absolute ? path.slice(WORKSPACE_DIR.length) : path).split('/')) {
    if (segment === '..') {
      if (segments.pop() === undefined) return false;
    } else if (segment !== '' && segment !== '.') segments.push(segment);
  }
  return true;
}

const patterns = new Map<string, RegExp>();

/** `*` in a pattern spans anything, spaces and quotes included; a trailing ` *` also admits no arguments (`cat` for `cat *`). */
function commandPattern(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    const trimmed = pattern.trim();
    const anyArguments = trimmed.endsWith(' *');
    const source = wildcardSource(anyArguments ? trimmed.slice(0, -2) : trimmed);
    re = new RegExp(`^${source}${anyArguments ? '(?: .*)?' : ''}$`, 's');
    patterns.set(pattern, re);
  }
  return re;
}

function quote(text: string): string {
  const oneLine = text.length > MAX_PART ? `${text.slice(0, MAX_PART)}…` : text;
  return JSON.stringify(oneLine);
}
