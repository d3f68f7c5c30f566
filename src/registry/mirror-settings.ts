/** The registry mirror's settings, read once from the environment; a bad value names the variable, the value and what was expected. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { parseContract } from '../contracts/validate';
import type { MirrorSettings } from './mirror';

export const MIRROR_DEFAULT_PORT = 4874;
const DEFAULT_MAX_BYTES = 10 * 1024 ** 3;

const Url = z.url({ protocol: /^https?$/ }).transform((u) => (u.endsWith('/') ? u : `${u}/`));

const MirrorEnv = z.object({
  REGATTA_MIRROR_DIR: z.string().min(1),
  REGATTA_MIRROR_HOST: z.string().min(1).default('127.0.0.1'),
  REGATTA_MIRROR_PORT: z.coerce.number().int().min(0).max(65535).default(MIRROR_DEFAULT_PORT),
  REGATTA_MIRROR_UPSTREAM: Url,
  REGATTA_MIRROR_SCOPES: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const scopes: Record<string, string> = {};
      for (const pair of value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const match = /^(@[a-z0-9][\w.-]*)=(https?:\/\/\S+)$/i.exec(pair);
        if (!match) {
          ctx.addIssue({
            code: 'custom',
            message: `expected "@scope=http(s)://registry/" pairs separated by commas, got "${pair}"`,
          });
          continue;
        }
        scopes[match[1]!] = match[2]!.endsWith('/') ? match[2]! : `${match[2]!}/`;
      }
      return scopes;
    }),
  REGATTA_MIRROR_MAX_BYTES: z.coerce.number().int().positive().default(DEFAULT_MAX_BYTES),
  REGATTA_MIRROR_METADATA_MAX_AGE: z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s, 5m or 1h')
    .default('5m'),
});

export function hostRegistry(): string {
  return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
}

export function mirrorSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): MirrorSettings & { host: string; port: number } {
  const parsed = parseContract(
    MirrorEnv,
    {
      ...env,
      REGATTA_MIRROR_UPSTREAM: env.REGATTA_MIRROR_UPSTREAM || hostRegistry(),
      REGATTA_MIRROR_DIR: env.REGATTA_MIRROR_DIR || path.join(env.REGATTA_HOME || '.regatta', 'registry-mirror'),
    },
    'registry mirror settings',
  );
  return {
    dir: path.resolve(parsed.REGATTA_MIRROR_DIR),
    host: parsed.REGATTA_MIRROR_HOST,
    port: parsed.REGATTA_MIRROR_PORT,
    upstreams: { default: parsed.REGATTA_MIRROR_UPSTREAM, scopes: parsed.REGATTA_MIRROR_SCOPES },
    maxBytes: parsed.REGATTA_MIRROR_MAX_BYTES,
    metadataMaxAge: parsed.REGATTA_MIRROR_METADATA_MAX_AGE,
  };
}
