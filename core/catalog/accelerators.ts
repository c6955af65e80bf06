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
