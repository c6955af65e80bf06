import type { Cloud, AcceleratorRequest } from '../spec/types.ts';
import type { BlockScope } from '../errors.ts';

/**
 * One launchable choice: an instance type in a region (and, for spot, in one zone, since spot prices
 * differ by zone), with its hourly price per node. On-demand candidates list every zone of the region;
 * the provider tries them in order.
 */
export interface Candidate {
  cloud: Cloud;
  region: string;
  zones: string[];
  instanceType: string;
  vcpus: number;
  memoryGb: number;
  accelerator?: AcceleratorRequest;
  spot: boolean;
  /** $/hour for one node. */
  hourlyPrice: number;
  /** Index of the ResourceRequest (after any_of/ordered expansion) this candidate satisfies. */
  requestIndex: number;
}

export type BlockedScope =
  | { scope: 'zone'; cloud: string; region: string; zone: string }
  | { scope: 'region'; cloud: string; region: string }
  | { scope: 'cloud'; cloud: string };

export type { BlockScope };
