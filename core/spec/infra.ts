// Where a task may run: `infra: aws`, `aws/us-east-1`, `aws/us-east-1/us-east-1a`, `*/us-east-1`,
// `*` — or the older separate `cloud`/`region`/`zone` keys (docs/behaviour.md §1). `*` (or an absent part) means
// any. Clouds are case-insensitive; regions and zones are kept as written.

import { CLOUDS, type Cloud, type InfraSelector } from './types.ts';
import type { IssueList } from './issues.ts';
import { joinPath } from './issues.ts';
import { didYouMean } from './suggest.ts';
import { describe, expectNonEmptyString, present, type Mapping } from './values.ts';

/**
 * The location keys of one resources level. A key present with an undefined value means "any" and
 * still overrides an outer default: `infra: aws` in an `any_of` candidate replaces an outer
 * `infra: gcp/us-central1` entirely, while a lone `region:` key replaces only the region.
 */
export type LocationOverride = { [K in keyof InfraSelector]?: InfraSelector[K] };

const INFRA_FORMS = 'write CLOUD, CLOUD/REGION or CLOUD/REGION/ZONE, with * for any part';

export function parseCloud(value: unknown, path: string, issues: IssueList): Cloud | undefined {
  const text = expectNonEmptyString(value, path, issues);
  if (text === undefined) return undefined;
  const cloud = text.trim().toLowerCase();
  if ((CLOUDS as readonly string[]).includes(cloud)) return cloud as Cloud;
  issues.add(path, `unknown cloud '${text.trim()}'${didYouMean(cloud, CLOUDS)}`);
  return undefined;
}

/** `aws/us-east-1/us-east-1a` → {cloud, region, zone}, every key present (undefined = any). */
export function parseInfra(value: unknown, path: string, issues: IssueList): LocationOverride | undefined {
  if (typeof value !== 'string') {
    issues.add(path, `must be a string such as aws/us-east-1 (got ${describe(value)})`);
    return undefined;
  }
  const text = value.trim();
  const parts = text.split('/').map((part) => part.trim());
  if (text === '' || parts.length > 3 || parts.some((part) => part === '')) {
    issues.add(path, `invalid infra '${text}'; ${INFRA_FORMS}`);
    return undefined;
  }
  const [cloudPart, regionPart, zonePart] = parts;
  const cloud = cloudPart === '*' ? undefined : parseCloud(cloudPart, path, issues);
  if (cloudPart !== '*' && cloud === undefined) return undefined;
  const wildcardToUndefined = (part: string | undefined) => (part === undefined || part === '*' ? undefined : part);
  return { cloud, region: wildcardToUndefined(regionPart), zone: wildcardToUndefined(zonePart) };
}

/**
 * Reads the location keys of one resources level (outer, or one candidate). `infra` and the older
 * keys at the same level are an error: the user meant one of them and we cannot tell which.
 */
export function parseLocation(map: Mapping, path: string, issues: IssueList): LocationOverride {
  const legacyKeys = (['cloud', 'region', 'zone'] as const).filter((key) => present(map[key]));
  if (present(map.infra) && legacyKeys.length > 0) {
    issues.add(joinPath(path, 'infra'), `use either infra or ${legacyKeys.join('/')}, not both`);
    return {};
  }
  if (present(map.infra)) return parseInfra(map.infra, joinPath(path, 'infra'), issues) ?? {};

  const location: LocationOverride = {};
  if (present(map.cloud)) location.cloud = parseCloud(map.cloud, joinPath(path, 'cloud'), issues);
  for (const key of ['region', 'zone'] as const) {
    if (!present(map[key])) continue;
    const text = expectNonEmptyString(map[key], joinPath(path, key), issues);
    if (text !== undefined) location[key] = text.trim();
  }
  return location;
}

/** Outer defaults, then a candidate's overrides, as a selector without "any" keys. */
export function mergeLocation(outer: LocationOverride, candidate: LocationOverride): InfraSelector {
  const merged = { ...outer, ...candidate };
  const selector: InfraSelector = {};
  if (merged.cloud !== undefined) selector.cloud = merged.cloud;
  if (merged.region !== undefined) selector.region = merged.region;
  if (merged.zone !== undefined) selector.zone = merged.zone;
  return selector;
}

/**
 * On AWS and GCP a zone's name starts with its region's (`us-east-1a` in `us-east-1`,
 * `us-central1-a` in `us-central1`), so a mismatch is certainly a typo. Other clouds' naming is not
 * assumed.
 */
export function checkZoneInRegion(selector: InfraSelector, path: string, issues: IssueList): void {
  const { cloud, region, zone } = selector;
  if ((cloud === 'aws' || cloud === 'gcp') && region !== undefined && zone !== undefined && !zone.startsWith(region)) {
    issues.add(path, `zone '${zone}' is not in region '${region}'`);
  }
}
