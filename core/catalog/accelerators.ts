// Canonical accelerator names (SkyPilot's spelling). The spec parser canonicalizes user input
// case-insensitively against this list (and suggests the nearest on a miss); the catalog uses the
// same names, so a parsed request always matches catalog rows by string equality.
export const ACCELERATORS = [
  'K80',
  'P100',
  'V100',
  'V100-32GB',
  'T4',
  'L4',
  'L40S',
  'A10',
  'A10G',
  'A100',
  'A100-80GB',
  'H100',
  'H200',
  'B200',
] as const;

export type AcceleratorName = (typeof ACCELERATORS)[number];

const byLower = new Map<string, AcceleratorName>(ACCELERATORS.map((a) => [a.toLowerCase(), a]));

/** Canonical spelling of an accelerator name, or undefined if unknown. */
export function canonicalAccelerator(name: string): AcceleratorName | undefined {
  return byLower.get(name.trim().toLowerCase());
}

/**
 * Names SkyPilot accepts that no cloud skyless launches on sells any more. The spec parser refuses
 * them with this reason (so `accelerators: K80` fails at submit with advice, not later as
 * "no feasible resources"); every other name has at least one catalog row (a catalog test checks).
 */
export const NOT_OFFERED: Readonly<Partial<Record<AcceleratorName, string>>> = {
  K80: 'AWS retired its K80 instances (p2) and GCP its K80 GPUs, so no cloud skyless launches on sells it; ask for T4 or L4, the cheapest GPUs offered now',
  A10: 'the A10 is sold by Azure and Lambda, which skyless does not launch on; AWS sells its variant as A10G (g5 instances): write A10G',
};
