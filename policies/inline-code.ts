/**
 * Whether an interpreter's command line runs code written on the line itself (`node -e`, `python3 -c`, `perl -ne`) or
 * read from standard input (`node -`, `echo … | node`), rather than a named script file. Options are read the way
 * each interpreter reads them, up to the first argument that names its program: anything after it is the script's.
 */

/** One argument as written, and its value when no expansion decides it at run time. */
export interface Argument {
  text: string;
  value?: string;
}

export interface InlineCode {
  /** The interpreter, as named on the line. */
  program: string;
  /** The flag that brings the code (`-e`, `--eval`, `-`), or the argument only known at run time; undefined when no program is named. */
  flag?: string;
  /** How the code arrives, for a refusal's message. */
  how: 'flag' | 'stdin' | 'unknown';
}

interface InterpreterOptions {
  /** Short option letters that run the code given with them. */
  inlineLetters: string;
  /** Short option letters that name the program to run instead of a script file (`python -m module`). */
  programLetters: string;
  /** Short option letters that take a value: the rest of the word, else the next word. */
  valueLetters: string;
  /** Short option letters whose optional value is the rest of the word, never the next word (`perl -i.bak`). */
  restLetters: string;
  /** Short option letters followed by optional digits (`perl -l015`, `-0777`). */
  digitLetters: string;
  /** Options after which no program is read when none is named (version, help, a syntax check, a runner of named files). */
  noProgram: readonly string[];
  inlineLong: readonly string[];
  /** Long options whose value is the next word unless written with `=`. */
  valueLong: readonly string[];
  /** Options whose value is loaded as code: a `data:` URL there is inline code. */
  loadsModule: readonly string[];
}

const NONE: Omit<InterpreterOptions, 'inlineLetters'> = {
  programLetters: '',
  valueLetters: '',
  restLetters: '',
  digitLetters: '',
  noProgram: [],
  inlineLong: [],
  valueLong: [],
  loadsModule: [],
};

const NODE: InterpreterOptions = {
  ...NONE,
  inlineLetters: 'epi',
  valueLetters: 'rC',
  noProgram: ['-v', '--version', '-h', '--help', '-c', '--check', '--test', '--run', '--v8-options'],
  inlineLong: ['--eval', '--print', '--interactive'],
  valueLong: [
    '--require',
    '--import',
    '--loader',
    '--experimental-loader',
    '--conditions',
    '--input-type',
    '--env-file',
    '--title',
    '--run',
    '--test-reporter',
    '--test-reporter-destination',
    '--test-name-pattern',
    '--watch-path',
  ],
  loadsModule: ['-r', '--require', '--import', '--loader', '--experimental-loader'],
};

const PYTHON: InterpreterOptions = {
  ...NONE,
  inlineLetters: 'ci',
  programLetters: 'm',
  valueLetters: 'WXQ',
  noProgram: ['-V', '--version', '-h', '-?', '--help'],
  valueLong: ['--check-hash-based-pycs'],
};

const PERL: InterpreterOptions = {
  ...NONE,
  inlineLetters: 'eE',
  valueLetters: 'I',
  restLetters: 'iMmxdDCFV',
  digitLetters: '0l',
  noProgram: ['-v', '--version', '-h', '--help'],
};

const RUBY: InterpreterOptions = {
  ...NONE,
  inlineLetters: 'e',
  valueLetters: 'rICE',
  restLetters: 'FxKTWi',
  digitLetters: '0',
  noProgram: ['-v', '--version', '-h', '--help'],
};

/** Paths that are standard input under another name. */
const STDIN_PATHS = /^(\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0)$/;

function interpreterOptions(program: string): InterpreterOptions | undefined {
  const name = program.slice(program.lastIndexOf('/') + 1);
  if (name === 'node' || name === 'nodejs') return NODE;
  if (/^python(\d+(\.\d+)?)?$/.test(name)) return PYTHON;
  if (name === 'perl') return PERL;
  if (name === 'ruby') return RUBY;
  return undefined;
}

/** How `program args…` runs code that is not a named file; undefined when it runs a named script, or is no interpreter. */
export function inlineCode(program: string, args: readonly Argument[]): InlineCode | undefined {
  const options = interpreterOptions(program);
  if (!options) return undefined;
  let readsStdin = true;
  for (let i = 0; i < args.length; i++) {
    const { value, text } = args[i];
    if (value === undefined) return mayBeOption(text) ? { program, flag: text, how: 'unknown' } : undefined;
    if (value === '--') return programArgument(program, args[i + 1], readsStdin);
    if (value === '-' || !value.startsWith('-')) return programArgument(program, args[i], readsStdin);
    const option = value.startsWith('--') ? longOption(value, options) : shortOption(value, options);
    if (option.inline) return { program, flag: value.startsWith('--') ? value.split('=')[0] : value, how: 'flag' };
    if (option.namesProgram) return undefined;
    if (option.noProgram) readsStdin = false;
    if (option.takesNext) {
      const next = args[++i];
      if (next && options.loadsModule.includes(value) && (next.value === undefined || next.value.startsWith('data:')))
        return { program, flag: value, how: 'flag' };
    }
  }
  return readsStdin ? { program, how: 'stdin' } : undefined;
}

interface OptionReading {
  /** The option brings inline code. */
  inline?: boolean;
  /** The option names the program (`python -m module`); what follows is the program's. */
  namesProgram?: boolean;
  /** No program is read when none is named (the option prints something, or checks or runs named files). */
  noProgram?: boolean;
  /** Its value is the next word. */
  takesNext?: boolean;
}

function longOption(word: string, options: InterpreterOptions): OptionReading {
  const [name, value] = word.split(/=(.*)/s, 2);
  if (options.inlineLong.includes(name)) return { inline: true };
  if (options.loadsModule.includes(name) && value?.startsWith('data:')) return { inline: true };
  return {
    noProgram: options.noProgram.includes(name),
    takesNext: value === undefined && options.valueLong.includes(name),
  };
}

/** Short options may be bundled (`-lne`, `-Bc`); a letter that takes a value takes the rest of the word (else, for some, the next word). */
function shortOption(word: string, options: InterpreterOptions): OptionReading {
  if (options.noProgram.includes(word)) return { noProgram: true };
  for (let j = 1; j < word.length; j++) {
    const letter = word[j];
    if (options.inlineLetters.includes(letter)) return { inline: true };
    if (options.programLetters.includes(letter)) return { namesProgram: true };
    if (options.restLetters.includes(letter)) return {};
    if (options.valueLetters.includes(letter)) {
      const rest = word.slice(j + 1);
      if (options.loadsModule.includes(`-${letter}`) && rest.startsWith('data:')) return { inline: true };
      return { takesNext: rest === '' };
    }
    if (options.digitLetters.includes(letter)) while (/\d/.test(word[j + 1] ?? '')) j++;
  }
  return {};
}

/** The argument that names the program: a script file, or standard input under some name. */
function programArgument(program: string, arg: Argument | undefined, readsStdin: boolean): InlineCode | undefined {
  if (!arg) return readsStdin ? { program, how: 'stdin' } : undefined;
  if (arg.value === undefined) return mayBeOption(arg.text) ? { program, flag: arg.text, how: 'unknown' } : undefined;
  if (arg.value === '-' || STDIN_PATHS.test(arg.value)) return { program, flag: arg.value, how: 'stdin' };
  return undefined;
}

/** An argument whose value only run time knows may turn out to be `-e`; one that starts with a literal other than `-` cannot. */
function mayBeOption(text: string): boolean {
  const start = text.replace(/^["']+/, '');
  return start === '' || start.startsWith('$') || start.startsWith('`') || start.startsWith('-');
}
