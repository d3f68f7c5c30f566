/**
 * `maven-upgrade`: move a dependency pom.xml already declares to `version`, where its version is written: the
 * `<properties>` entry when the version is `${a.property}` (so every dependency sharing it moves together, as the
 * repository meant), else the literal `<version>`; the dependency's own entry first, else its dependencyManagement
 * entry. The pom is read and written as bytes in the sandbox and edited as text here: everything but the version's
 * characters stays as the repository wrote it. A dependency the pom does not declare is refused by name.
 */
import type { MavenUpgradeStep } from '../../contracts/execution';
import type { CommandResult } from '../../sandbox/driver';
import type { Recipe, RecipeContext, RecipeOutcome } from '../../recipes/types';
import { PomError, setDependencyVersion } from './pom';
import type { z } from 'zod';

type MavenUpgrade = z.infer<typeof MavenUpgradeStep>;

const READ_POM = `node -e "process.stdout.write(require('fs').readFileSync('pom.xml').toString('base64'))"`;

/** One shell argument may hold 128 KiB: a large pom is written in base64 chunks to a scratch file, then renamed. */
const CHUNK = 64_000;

function writePomCommands(text: string): string[] {
  const encoded = Buffer.from(text, 'utf8').toString('base64');
  const scratch = '.regatta-pom.xml.partial';
  const commands = [`node -e "require('fs').writeFileSync('${scratch}', '')"`];
  for (let at = 0; at < encoded.length; at += CHUNK)
    commands.push(
      `node -e "require('fs').appendFileSync('${scratch}', Buffer.from(process.argv[1], 'base64'))" ${encoded.slice(at, at + CHUNK)}`,
    );
  commands.push(`node -e "require('fs').renameSync('${scratch}', 'pom.xml')"`);
  return commands;
}

export const mavenUpgradeRecipe: Recipe<MavenUpgrade> = {
  name: 'maven-upgrade',
  async apply(step, ctx) {
    const results: CommandResult[] = [];
    const outcome = (ok: boolean, detail: string): RecipeOutcome => ({ ok, detail, commands: [], results });
    const read = await exec(ctx, READ_POM, results);
    if (read.exitCode !== 0) return outcome(false, 'the repository has no pom.xml at its root');
    const before = Buffer.from(read.output.trim(), 'base64').toString('utf8');
    let edit: ReturnType<typeof setDependencyVersion>;
    try {
      edit = setDependencyVersion(before, step.dependency, step.version);
    } catch (err) {
      if (err instanceof PomError) return outcome(false, err.message);
      throw err;
    }
    const where =
      edit.source.kind === 'property'
        ? `property ${edit.source.property}`
        : `<version> of ${edit.source.managed ? 'its dependencyManagement entry' : 'the dependency'}`;
    if (edit.from === step.version)
      return outcome(true, `${step.dependency} is already ${step.version}; nothing changed`);
    for (const command of writePomCommands(edit.text)) {
      const written = await exec(ctx, command, results);
      if (written.exitCode !== 0) return outcome(false, `writing pom.xml failed: ${written.output.trim().slice(-500)}`);
    }
    return outcome(true, `${step.dependency} ${edit.from} → ${step.version} (pom.xml, ${where})`);
  },
};

async function exec(ctx: RecipeContext, command: string, results: CommandResult[]): Promise<CommandResult> {
  const result = await ctx.exec(command);
  results.push(result);
  return result;
}
