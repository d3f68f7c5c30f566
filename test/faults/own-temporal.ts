/**
 * A Temporal dev server of a fault test's own: its own ports and SQLite file, so killing it can never touch the shared
 * server other tests use. Started from the `temporal` binary `regatta dev up` installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureSearchAttributes, temporalAnswers } from '../../src/dev/temporal-server';
import { goToolPath } from '../../src/dev/tools';
import { cliSearchAttributeArgs } from '../../src/temporal/search-attributes';
import { eventually } from '../support/eventually';
import type { TemporalEndpoint } from './fault-campaign';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class OwnTemporalServer {
  private child?: ChildProcess;

  private constructor(
    readonly endpoint: TemporalEndpoint,
    readonly dbFile: string,
    private readonly binary: string,
    private readonly logFile: string,
  ) {}

  static async start(): Promise<OwnTemporalServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-temporal-'));
    const [port, uiPort] = [await freePort(), await freePort()];
    const server = new OwnTemporalServer(
      { address: `127.0.0.1:${port}`, uiUrl: `http://127.0.0.1:${uiPort}` },
      path.join(dir, 'temporal.db'),
      await goToolPath('temporal'),
      path.join(dir, 'temporal.log'),
    );
    await server.restart();
    await ensureSearchAttributes(server.config());
    return server;
  }

  /** Starts the server (again) from its SQLite file and resolves once it answers. */
  async restart(): Promise<void> {
    const [, port] = this.endpoint.address.split(':');
    const args = [
      'server',
      'start-dev',
      '--db-filename',
      this.dbFile,
      '--ip',
      '127.0.0.1',
      '--port',
      port,
      '--ui-port',
      new URL(this.endpoint.uiUrl).port,
      '--headless',
      '--namespace',
      'default',
      '--log-level',
      'warn',
      ...cliSearchAttributeArgs(),
    ];
    const log = fs.openSync(this.logFile, 'a');
    this.child = spawn(this.binary, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await eventually(() => temporalAnswers(this.config()), Boolean, 90_000);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  private config() {
    return { address: this.endpoint.address, namespace: 'default', tls: false, uiUrl: this.endpoint.uiUrl };
  }
}
