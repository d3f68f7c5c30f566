/**
 * A Docker engine that can go away without disturbing anyone else's: a unix socket that forwards every connection to
 * the real engine's socket until `cut()`, which drops the connections in flight and stops listening (as a killed
 * dockerd does), and `restore()` listens again. Containers keep running on the real engine meanwhile.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

export interface EngineProxy {
  socketPath: string;
  /** A client of the real engine through this proxy, speaking the API version Debian's engine does. */
  docker: Docker;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startEngineProxy(engineSocket = '/var/run/docker.sock'): Promise<EngineProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regatta-engine-'));
  const socketPath = path.join(dir, 'docker.sock');
  const open = new Set<net.Socket>();
  let server: net.Server | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const engine = net.connect(engineSocket);
        open.add(client).add(engine);
        const drop = () => {
          client.destroy();
          engine.destroy();
          open.delete(client);
          open.delete(engine);
        };
        client.on('error', drop).on('close', drop);
        engine.on('error', drop).on('close', drop);
        client.pipe(engine).pipe(client);
      });
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of open) socket.destroy();
    open.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    fs.rmSync(socketPath, { force: true });
  };

  await listen();
  return {
    socketPath,
    docker: new Docker({ socketPath, version: 'v1.41' }),
    cut,
    restore: listen,
    close: async () => {
      await cut();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
