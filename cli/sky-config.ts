// SkyPilot's user config, ~/.sky/config.yaml, as a SkyPilot user brings it. skyless reads the keys
// that mean something here and says, one line per key, why each other one does not apply, so no
// setting is silently ignored. Pure apart from `loadSkyConfig`, which reads the file.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CLOUDS, type Cloud } from '../core/spec/types.ts';

export interface SkyConfig {
  /** `allowed_clouds` restricted to the clouds skyless launches on (the dry run's cloud list). */
  allowedClouds?: Cloud[];
  /** One line per key that does not apply, naming it and why. */
  warnings: string[];
}

const WHY: Record<string, string> = {
  'jobs.controller': 'skyless has no jobs controller VM (Lambda and Step Functions do its work), so there is nothing to size or place',
  'jobs.bucket':
    "skyless keeps job files in its deployment's own bucket (created with the stack, or $SKYLESS_HOME on the embedded default); a per-user upload bucket is not supported, so this one is not used",
  'jobs.force_disable_cloud_bucket': "skyless always passes job files through its deployment's bucket; there is no controller to copy them to",
  'serve': 'skyless runs managed jobs only, not SkyServe services',
  'kubernetes': 'skyless launches on AWS and GCP only',
  'azure': 'skyless launches on AWS and GCP only',
  'api_server': 'skyless talks to its own control plane (`skyless config`), not a SkyPilot API server',
};

function why(key: string): string {
  return WHY[key] ?? (key.startsWith('aws.') || key.startsWith('gcp.') ? 'per-cloud SkyPilot settings (VPCs, images, labels…) are not read by skyless; its deployment settings configure launches' : 'skyless does not read this SkyPilot setting');
}

/** Interprets the text of ~/.sky/config.yaml (`where` names the file in messages). */
export function readSkyConfig(text: string, where = '~/.sky/config.yaml'): SkyConfig {
  const warnings: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return { warnings: [`${where}: not valid YAML, ignored (${(err as Error).message.split('\n')[0]})`] };
  }
  if (doc === null || doc === undefined) return { warnings };
  if (typeof doc !== 'object' || Array.isArray(doc)) return { warnings: [`${where}: expected a mapping of settings, ignored`] };
  const config: SkyConfig = { warnings };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'allowed_clouds') {
      const names = Array.isArray(value) ? value.map((v) => String(v).toLowerCase()) : [];
      const known = names.filter((n): n is Cloud => (CLOUDS as readonly string[]).includes(n) && n !== 'local');
      const other = names.filter((n) => !known.includes(n as Cloud));
      if (known.length > 0) config.allowedClouds = known;
      if (other.length > 0) warnings.push(`${where}: allowed_clouds: ${other.join(', ')} ignored: skyless launches on AWS and GCP only`);
      if (known.length === 0) warnings.push(`${where}: allowed_clouds: names neither aws nor gcp, so it is not used`);
      continue;
    }
    // `jobs` holds several settings: judge each of them, so a user sees which one is meant.
    if (key === 'jobs' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const sub of Object.keys(value)) warnings.push(`${where}: jobs.${sub}: does not apply: ${why(`jobs.${sub}`)}`);
      continue;
    }
    warnings.push(`${where}: ${key}: does not apply: ${why(key)}`);
  }
  return config;
}

/** Reads $HOME/.sky/config.yaml; no HOME or no file: nothing to read. */
export function loadSkyConfig(env: Readonly<Record<string, string | undefined>>): SkyConfig {
  const home = env.HOME;
  if (!home) return { warnings: [] };
  let text: string;
  try {
    text = readFileSync(join(home, '.sky', 'config.yaml'), 'utf8');
  } catch {
    return { warnings: [] };
  }
  return readSkyConfig(text);
}
