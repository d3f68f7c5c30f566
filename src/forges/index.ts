/** The forge registry: configuration names a provider, and each provider is a folder with one constructor here. */
import path from 'node:path';
import type { RegattaConfig } from '../config';
import { GitHubForge } from './github';
import { LocalForge } from './local';
import type { Forge } from './types';

type ForgeConfig = RegattaConfig['forge'];

const providers: { [K in ForgeConfig['kind']]: (config: Extract<ForgeConfig, { kind: K }>, home: string) => Forge } = {
  local: (_config, home) => new LocalForge(localForgeRoot(home)),
  github: (config) => new GitHubForge({ apiUrl: config.apiUrl, token: config.token }),
};

export function forgeFor(config: Pick<RegattaConfig, 'forge' | 'home'>): Forge {
  const create = providers[config.forge.kind] as (forge: ForgeConfig, home: string) => Forge;
  return create(config.forge, config.home);
}

/** Where the local forge keeps its change requests, under the Regatta home. */
export function localForgeRoot(home: string): string {
  return path.join(home, 'forge', 'local');
}

export { ForgeRateLimitedError, ForgeRequestError, type ForgeErrorKind } from './errors';
export type { ChangeRequestDraft, Forge, RepoRef } from './types';
