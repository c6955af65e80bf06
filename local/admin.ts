// Local-only routes (/local/...) for fault injection on cloud `local`; filled in by the recovery work.
import type { ControlPlane } from './control-plane.ts';

export function installLocalAdmin(_plane: ControlPlane): void {}
