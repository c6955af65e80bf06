// Verifies an EC2 instance identity document (docs/security.md "Nodes and agents"). The node reads
// the document and its base64-encoded signature from IMDSv2 (only a process on that instance can:
// IMDS answers link-local requests from the instance itself, and hop limit 1 keeps containers out)
// and presents both at registration. AWS signs the document's exact bytes with RSA PKCS#1 v1.5 over
// SHA-256; the public certificate per region is data in ./identity/ (see its README). Pure: the
// certificates are injected, so a test signs with its own key pair.

import { X509Certificate, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AuthError } from '../../core/errors.ts';
import type { NodeIdentityProof, VerifiedNodeIdentity } from '../../core/ports.ts';
import { AWS_RSA_IDENTITY_CERT } from './identity/certs.ts';

/** Regions whose identity signature AWS makes with the key of AWS_RSA_IDENTITY_CERT (identity/README.md). */
const SHARED_KEY_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1',
];

/** Region → PEM (a certificate or a public key) of the key that signs that region's documents. */
export const REGION_CERTS: Readonly<Record<string, string>> = Object.fromEntries(SHARED_KEY_REGIONS.map((r) => [r, AWS_RSA_IDENTITY_CERT]));

/** The fields of the identity document skyless relies on (the document has more). */
export interface InstanceIdentityDocument {
  instanceId: string;
  region: string;
  accountId: string;
  availabilityZone?: string;
}

/** The document's size is about 500 bytes; anything far bigger is not one. */
const MAX_DOCUMENT_BYTES = 8192;

function publicKeyOf(pem: string): KeyObject {
  return pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
}

/**
 * Checks `signature` (base64) over `document` (the exact bytes IMDS served) with the key for the
 * document's region, then the document's shape and, when given, its account. Returns the document;
 * throws AuthError naming the first thing wrong.
 */
export function verifyInstanceIdentity(
  document: Buffer,
  signature: string,
  certs: Readonly<Record<string, string>> = REGION_CERTS,
  expect: { accountId?: string } = {},
): InstanceIdentityDocument {
  if (document.length === 0 || document.length > MAX_DOCUMENT_BYTES) throw new AuthError(`instance identity document must be 1-${MAX_DOCUMENT_BYTES} bytes, got ${document.length}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(document.toString('utf8'));
  } catch {
    throw new AuthError('instance identity document is not JSON');
  }
  const d = parsed as Partial<Record<keyof InstanceIdentityDocument, unknown>>;
  if (!d || typeof d !== 'object' || typeof d.instanceId !== 'string' || typeof d.region !== 'string' || typeof d.accountId !== 'string') {
    throw new AuthError('instance identity document lacks instanceId, region or accountId');
  }
  const pem = Object.hasOwn(certs, d.region) ? certs[d.region] : undefined;
  if (!pem) throw new AuthError(`no instance identity certificate for region ${d.region} (adapters/aws/identity/README.md)`);
  const sig = Buffer.from(signature.replace(/\s+/g, ''), 'base64');
  if (sig.length === 0) throw new AuthError('instance identity signature is empty or not base64');
  let ok = false;
  try {
    ok = verify('sha256', document, publicKeyOf(pem), sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new AuthError(`instance identity document of ${d.instanceId} is not signed by AWS for ${d.region}`);
  if (expect.accountId && d.accountId !== expect.accountId) throw new AuthError(`instance ${d.instanceId} belongs to account ${d.accountId}, not this deployment's`);
  return {
    instanceId: d.instanceId,
    region: d.region,
    accountId: d.accountId,
    ...(typeof d.availabilityZone === 'string' ? { availabilityZone: d.availabilityZone } : {}),
  };
}

/** The ComputeProvider.verifyIdentity of EC2. */
export function verifyAwsProof(proof: NodeIdentityProof, certs: Readonly<Record<string, string>> = REGION_CERTS, expect: { accountId?: string } = {}): VerifiedNodeIdentity {
  if (proof.kind !== 'aws') throw new AuthError(`an aws node must present an EC2 instance identity document, got a ${proof.kind} proof`);
  const doc = verifyInstanceIdentity(Buffer.from(proof.document, 'base64'), proof.signature, certs, expect);
  return { instanceId: doc.instanceId, region: doc.region };
}
