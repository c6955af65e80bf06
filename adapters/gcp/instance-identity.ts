// Verifies a GCE instance identity token (docs/security.md "Nodes and agents"): a JWT Google signs
// for the VM, fetched by the node from its metadata server
// (`instance/service-accounts/default/identity?audience=<API URL>&format=full`), which only
// processes on that VM can reach. google-auth-library checks the signature against Google's
// published certificates (injected in tests), the issuer, the audience and the expiry; this file
// checks that it names a VM of this deployment's project.

import { OAuth2Client } from 'google-auth-library';
import { AuthError } from '../../core/errors.ts';
import type { NodeIdentityProof, VerifiedNodeIdentity } from '../../core/ports.ts';

/** Key id → PEM certificate or public key (google-auth-library's Certificates). */
export type GoogleCerts = Record<string, string>;

export interface GceIdentityOptions {
  /** The project the VMs run in. */
  project: string;
  /** The audience the agent asks for: the API URL it talks to. */
  audience: string;
  /** Google's signing certificates; default: fetched (and cached) by google-auth-library. */
  certs?: () => Promise<GoogleCerts>;
}

const ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const client = new OAuth2Client();

async function googleCerts(): Promise<GoogleCerts> {
  return (await client.getFederatedSignonCertsAsync()).certs as GoogleCerts;
}

interface ComputeEngineClaims {
  project_id?: unknown;
  zone?: unknown;
  instance_name?: unknown;
  instance_id?: unknown;
}

/** The ComputeProvider.verifyIdentity of GCE: the instance's name (what the provider records). */
export async function verifyGceProof(proof: NodeIdentityProof, o: GceIdentityOptions): Promise<VerifiedNodeIdentity> {
  if (proof.kind !== 'gcp') throw new AuthError(`a gcp node must present a GCE instance identity token, got a ${proof.kind} proof`);
  if (proof.token.length > 8192) throw new AuthError('instance identity token is too long');
  let payload: Record<string, unknown> | undefined;
  try {
    const ticket = await client.verifySignedJwtWithCertsAsync(proof.token, await (o.certs ?? googleCerts)(), o.audience.replace(/\/+$/, ''), ISSUERS);
    payload = ticket.getPayload() as Record<string, unknown> | undefined;
  } catch (err) {
    throw new AuthError(`instance identity token refused: ${(err as Error).message}`);
  }
  const ce = (payload?.google as { compute_engine?: ComputeEngineClaims } | undefined)?.compute_engine;
  if (!ce || typeof ce.instance_name !== 'string' || typeof ce.project_id !== 'string') {
    throw new AuthError('instance identity token lacks google.compute_engine (the node must ask for format=full)');
  }
  if (ce.project_id !== o.project) throw new AuthError(`instance ${ce.instance_name} runs in project ${ce.project_id}, not this deployment's`);
  const zone = typeof ce.zone === 'string' ? ce.zone : undefined;
  return { instanceId: ce.instance_name, ...(zone ? { region: zone.replace(/-[a-z]$/, '') } : {}) };
}
