// The admission limits' defaults, one definition per deployment kind (docs/behaviour.md, "Limits").
// Every place that needs a default reads it from here: the CDK settings, the Lambdas' environment
// defaults, the embedded control plane, and the docs quote these numbers.

export interface AdmissionLimits {
  /** Jobs launching at once (STARTING, or RECOVERING with a launch in flight). */
  maxLaunching: number;
  /** Jobs holding instances at once (launching + RUNNING). */
  maxRunning: number;
}

/**
 * A deployed stack (`aws`): SkyPilot's per-controller defaults, 8 launches and 200 running jobs, so
 * a SkyPilot user sees the same behaviour and a fresh account's EC2 quotas are not flooded.
 * The embedded default (`local`): every "instance" is a process group on this machine.
 */
export const ADMISSION_DEFAULTS = {
  aws: { maxLaunching: 8, maxRunning: 200 },
  local: { maxLaunching: 16, maxRunning: 64 },
} as const satisfies Record<'aws' | 'local', AdmissionLimits>;
