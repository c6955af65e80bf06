// AWS Signature Version 4 for the CLI's calls to the skyless HTTP API (API Gateway IAM auth), and an
// independent verifier for tests and the local control plane.
//
// Signing uses the AWS SDK's own signer (@smithy/signature-v4), so the CLI signs exactly as AWS
// expects. Verification deliberately does NOT call that signer: it re-implements the algorithm
// (canonical request → string to sign → derived key → HMAC) from the specification with
// node:crypto, so a test that signs with one and verifies with the other checks both.
//
// Canonical forms (both sides must agree, and they match API Gateway for non-S3 services):
// - path: the path as sent on the wire (already percent-encoded), with empty and `.` segments
//   dropped and `..` resolved, then URI-encoded once more ("double encoding"), `/` kept;
// - query: each `k=v` of the raw query percent-decoded (`+` is a literal plus), re-encoded with
//   RFC 3986 unreserved characters only, sorted by key then value;
// - headers: lower-case names, values with line breaks and runs of blanks collapsed and trimmed.

import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignRequestInput {
  method: string;
  /** Absolute URL including any query string. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  region: string;
  credentials: AwsCredentials;
  /** Default `execute-api` (API Gateway). */
  service?: string;
  /** Default now; set in tests to produce old or future signatures. */
  signingDate?: Date;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Signs a request and returns every header to send: the caller's (names lower-cased), `host`,
 * `x-amz-date`, `x-amz-content-sha256`, `authorization`, and `x-amz-security-token` for temporary
 * credentials. `host` equals the URL's host, which is what fetch/node:http send anyway.
 */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const url = new URL(input.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.host = url.host;
  const request = new HttpRequest({
    method: input.method.toUpperCase(),
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: parseRawQuery(url.search.slice(1)),
    headers,
    ...(input.body !== undefined ? { body: input.body } : {}),
  });
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: input.service ?? 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign(request, input.signingDate ? { signingDate: input.signingDate } : {});
  return { ...(signed.headers as Record<string, string>) };
}

/**
 * The raw query string as a multimap, each key and value percent-decoded without treating `+` as a
 * space (SigV4 is not form encoding). Throws on malformed percent escapes.
 */
function parseRawQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    const prior = query[key];
    query[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return query;
}

// ---------------------------------------------------------------------------------------------
// Verification: an independent implementation of the algorithm.

export interface IncomingSignedRequest {
  method: string;
  /** Path and query exactly as received (node:http's `req.url`). */
  url: string;
  /** Header names lower-case (as node:http gives them); repeated headers joined by `, ` or as arrays. */
  headers: Record<string, string | string[] | undefined>;
  body?: string | Uint8Array;
}

export interface VerifyOptions {
  region: string;
  /** Default `execute-api`. */
  service?: string;
  /** Server time: epoch ms or a Date. */
  now: number | Date;
  /** Largest accepted difference between x-amz-date and now (default 5 minutes, as AWS). */
  maxSkewMs?: number;
}

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; error: string };

/** Returns the secret key of an access key id, or undefined when the id is unknown. */
export type CredentialsLookup = (accessKeyId: string) => string | undefined | Promise<string | undefined>;

/** RFC 3986 encoding as SigV4 defines it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper case). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized =
    (rawPath.startsWith('/') ? '/' : '') + segments.join('/') + (segments.length > 0 && rawPath.endsWith('/') ? '/' : '');
  return uriEncode(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(rawQuery: string): string {
  const pairs: { key: string; entry: string }[] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const encodedKey = uriEncode(key);
    pairs.push({ key: encodedKey, entry: `${encodedKey}=${uriEncode(value)}` });
  }
  pairs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
  return pairs.map((p) => p.entry).join('&');
}

function canonicalHeaderValue(value: string | string[]): string {
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function headerOf(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function amzDateToMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)!;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * Checks a SigV4 `Authorization` header: scope (region, service, date), clock skew, signed headers,
 * body hash, then the signature itself (constant-time compare). Never throws for a bad request:
 * every refusal is `{ok: false, error}` naming what did not match.
 */
export async function verifySignedRequest(
  req: IncomingSignedRequest,
  credentialsLookup: CredentialsLookup,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const service = options.service ?? 'execute-api';
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();

  const authorization = headerOf(req.headers, 'authorization');
  if (!authorization) return { ok: false, error: 'missing Authorization header' };
  const auth = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization.trim());
  if (!auth) return { ok: false, error: 'Authorization header is not AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…' };
  const [, credential, signedHeaderList, signature] = auth as unknown as [string, string, string, string];

  const scopeParts = credential.split('/');
  if (scopeParts.length !== 5) return { ok: false, error: `credential ${credential} is not <key>/<date>/<region>/<service>/aws4_request` };
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scopeParts as [string, string, string, string, string];
  if (terminator !== 'aws4_request') return { ok: false, error: `credential scope must end in aws4_request, not ${terminator}` };
  if (scopeRegion !== options.region) return { ok: false, error: `credential scope region ${scopeRegion} is not ${options.region}` };
  if (scopeService !== service) return { ok: false, error: `credential scope service ${scopeService} is not ${service}` };

  const amzDate = headerOf(req.headers, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return { ok: false, error: 'missing or malformed x-amz-date header' };
  if (amzDate.slice(0, 8) !== scopeDate) return { ok: false, error: `credential scope date ${scopeDate} does not match x-amz-date ${amzDate}` };
  const skew = Math.abs(now - amzDateToMs(amzDate));
  if (skew > maxSkewMs) {
    return { ok: false, error: `request time ${amzDate} is ${Math.round(skew / 1000)} s from server time (limit ${Math.round(maxSkewMs / 1000)} s)` };
  }

  const signedHeaders = signedHeaderList.split(';');
  const sortedUnique = [...new Set(signedHeaders)].sort();
  if (signedHeaders.join(';') !== sortedUnique.join(';') || signedHeaders.some((h) => h !== h.toLowerCase() || h === '')) {
    return { ok: false, error: 'SignedHeaders must be lower-case, sorted and unique' };
  }
  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) return { ok: false, error: `header ${required} must be signed` };
  }
  if (req.headers['x-amz-security-token'] !== undefined && !signedHeaders.includes('x-amz-security-token')) {
    return { ok: false, error: 'header x-amz-security-token must be signed' };
  }
  const headerLines: string[] = [];
  for (const name of signedHeaders) {
    const value = req.headers[name];
    if (value === undefined) return { ok: false, error: `signed header ${name} is missing from the request` };
    headerLines.push(`${name}:${canonicalHeaderValue(value)}`);
  }

  const body = req.body ?? '';
  const payloadHash = body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
  const claimedHash = headerOf(req.headers, 'x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash !== payloadHash) {
    return { ok: false, error: 'body does not match x-amz-content-sha256 (unsigned or altered payload)' };
  }

  const queryAt = req.url.indexOf('?');
  const rawPath = queryAt < 0 ? req.url : req.url.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? '' : req.url.slice(queryAt + 1);
  let path: string;
  let query: string;
  try {
    path = canonicalPath(rawPath || '/');
    query = canonicalQuery(rawQuery);
  } catch {
    return { ok: false, error: 'malformed percent-encoding in the request URL' };
  }

  const secret = await credentialsLookup(accessKeyId);
  if (secret === undefined) return { ok: false, error: `unknown access key ${accessKeyId}` };

  const canonicalRequest = [
    req.method.toUpperCase(),
    path,
    query,
    headerLines.join('\n') + '\n',
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, scopeDate), scopeRegion), scopeService), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, error: 'signature does not match (wrong secret, or the method, path, query, signed headers or body changed)' };
  }
  return { ok: true, accessKeyId };
}
