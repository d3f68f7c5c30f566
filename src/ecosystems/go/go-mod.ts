/**
 * go.mod read as data: the `go` and `toolchain` lines and the required modules with their versions. Only reading:
 * every edit is the go command's (`go get`, `go mod tidy`), so go.mod keeps the formatting go gives it.
 */

export interface GoModRequire {
  module: string;
  version: string;
  indirect: boolean;
}

export interface GoMod {
  module?: string;
  /** The `go` line: the oldest Go the module supports, e.g. "1.22" or "1.26.8". */
  go?: string;
  /** The `toolchain` line without its `go` prefix, e.g. "1.27.3". */
  toolchain?: string;
  requires: GoModRequire[];
}

const MODULE_PATH = /^[A-Za-z0-9][A-Za-z0-9._~\-/]*$/;

function unquote(token: string): string {
  return token.startsWith('"') || token.startsWith('`') ? token.slice(1, -1) : token;
}

function stripComment(line: string): { text: string; comment: string } {
  const at = line.indexOf('//');
  return at < 0 ? { text: line.trim(), comment: '' } : { text: line.slice(0, at).trim(), comment: line.slice(at + 2) };
}

export function parseGoMod(text: string): GoMod {
  const mod: GoMod = { requires: [] };
  let block: string | undefined;
  for (const raw of text.split('\n')) {
    const { text: line, comment } = stripComment(raw);
    if (block) {
      if (line === ')') block = undefined;
      else if (block === 'require' && line) addRequire(mod, line.split(/\s+/), comment);
      continue;
    }
    const words = line.split(/\s+/);
    if (words[1] === '(') block = words[0];
    else if (words[0] === 'module' && words[1]) mod.module = unquote(words[1]);
    else if (words[0] === 'go' && words[1]) mod.go = words[1];
    else if (words[0] === 'toolchain' && words[1]) mod.toolchain = words[1].replace(/^go/, '');
    else if (words[0] === 'require' && words.length >= 3) addRequire(mod, words.slice(1), comment);
  }
  return mod;
}

function addRequire(mod: GoMod, words: string[], comment: string): void {
  const [module, version] = [unquote(words[0]), words[1]];
  if (!MODULE_PATH.test(module) || !version) return;
  mod.requires.push({ module, version, indirect: /^\s*indirect\b/.test(comment) });
}

/** The version go.mod requires of `module`, or undefined when it is not a requirement. */
export function requiredVersion(mod: GoMod, module: string): string | undefined {
  return mod.requires.find((r) => r.module === module)?.version;
}
