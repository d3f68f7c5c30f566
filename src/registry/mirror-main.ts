/**
 * Entry point of the registry mirror service (`regatta dev up` starts it; an execution host runs one beside its
 * workers): Verdaccio on a loopback port of its own, the read-only guard on the port sandboxes reach.
 * Settings come from the environment, validated here: REGATTA_MIRROR_DIR, REGATTA_MIRROR_PORT, REGATTA_MIRROR_UPSTREAM
 * (default: the host's `npm config get registry`), REGATTA_MIRROR_SCOPES (`@scope=url,…`), REGATTA_MIRROR_MAX_BYTES,
 * REGATTA_MIRROR_METADATA_MAX_AGE. The upstream is reached with the host's trust (NODE_EXTRA_CA_CERTS set by the caller).
 */
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import { runServer } from 'verdaccio';
import { mirrorSettingsFromEnv } from './mirror-settings';
import { mirrorStorage, startMirrorGuard, verdaccioConfig } from './mirror';

async function main(): Promise<void> {
  const settings = mirrorSettingsFromEnv();
  fs.mkdirSync(mirrorStorage(settings.dir), { recursive: true });
  const configFile = path.join(settings.dir, 'config.yaml');
  fs.writeFileSync(configFile, verdaccioConfig(settings));
  const verdaccio = (await runServer(configFile)) as import('node:http').Server;
  await new Promise<void>((resolve) => verdaccio.listen(0, '127.0.0.1', resolve));
  verdaccio.keepAliveTimeout = 60_000;
  const verdaccioPort = (verdaccio.address() as net.AddressInfo).port;
  const guard = await startMirrorGuard({
    verdaccioUrl: `http://127.0.0.1:${verdaccioPort}/`,
    storage: mirrorStorage(settings.dir),
    maxBytes: settings.maxBytes,
    host: settings.host,
    port: settings.port,
    log: (line) => console.log(line),
  });
  console.log(
    `registry mirror on ${guard.url} (upstream ${settings.upstreams.default}, scopes ${JSON.stringify(settings.upstreams.scopes)}, at most ${settings.maxBytes} bytes)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
