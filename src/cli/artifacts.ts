/** `regatta artifacts …`: a run's evidence files, listed from its manifest and fetched from the artifact store. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { artifactStoreFor } from '../artifacts';
import { loadConfig } from '../config';
import { withClient } from './campaign';
import { action, emit, table, type OutputOptions } from './output';

export function registerArtifactCommands(program: Command): void {
  const artifacts = program.command('artifacts').description("a run's evidence files");

  artifacts
    .command('list <runId>')
    .description('the artifacts of a run, with type, size and sha256')
    .option('--json', 'machine-readable output')
    .action(
      action(async (runId: string, opts: OutputOptions) =>
        withClient(async (client) => {
          const listed = (await client.runStatus(runId)).manifest?.artifacts ?? [];
          emit(opts, listed, () =>
            listed.length
              ? table(
                  listed.map((a) => ({ ...a })),
                  ['name', 'type', 'size', 'sha256', 'uri'],
                )
              : `run ${runId} has no artifacts yet`,
          );
        }),
      ),
    );

  artifacts
    .command('get <uri>')
    .description('print an artifact (or write it with -o), from the local directory store or S3')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(
      action(async (uri: string, opts: { output?: string }) => {
        const body = await artifactStoreFor(loadConfig()).get(uri);
        if (opts.output) fs.writeFileSync(opts.output, body);
        else process.stdout.write(body);
      }),
    );
}
