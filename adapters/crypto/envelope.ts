// Envelope encryption (AES-256-GCM under a fresh data key per sealed value; the data key wrapped by a
// master key) behind the SecretSealer port. Two master keys: AWS KMS (GenerateDataKey / Decrypt, the
// encryption context bound by KMS) and a local key file (the data key wrapped with AES-256-GCM under
// it, the context as additional authenticated data).

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedBlob, SecretSealer } from '../../core/ports.ts';

/** Where data keys come from and how they are unwrapped. */
export interface DataKeys {
  generate(context: Record<string, string>): Promise<{ plain: Uint8Array; wrapped: Uint8Array }>;
  unwrap(wrapped: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
}

/** A canonical form of the context, as AAD: the same map always gives the same bytes. */
function aad(context: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.keys(context).sort().map((k) => [k, context[k]])));
}

function gcmSeal(key: Uint8Array, plain: Uint8Array, context: Record<string, string>): { iv: Buffer; tag: Buffer; data: Buffer } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad(context));
  const data = Buffer.concat([c.update(plain), c.final()]);
  return { iv, tag: c.getAuthTag(), data };
}

function gcmOpen(key: Uint8Array, iv: Buffer, tag: Buffer, data: Buffer, context: Record<string, string>): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad(context));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(data), d.final()]);
}

export function envelopeSealer(keys: DataKeys): SecretSealer {
  return {
    async seal(plain, context): Promise<SealedBlob> {
      const dk = await keys.generate(context);
      try {
        const { iv, tag, data } = gcmSeal(dk.plain, plain, context);
        return { key: Buffer.from(dk.wrapped).toString('base64'), iv: iv.toString('base64'), tag: tag.toString('base64'), data: data.toString('base64') };
      } finally {
        Buffer.from(dk.plain.buffer, dk.plain.byteOffset, dk.plain.byteLength).fill(0);
      }
    },
    async open(sealed, context): Promise<Uint8Array> {
      const plainKey = await keys.unwrap(Buffer.from(sealed.key, 'base64'), context);
      try {
        return gcmOpen(plainKey, Buffer.from(sealed.iv, 'base64'), Buffer.from(sealed.tag, 'base64'), Buffer.from(sealed.data, 'base64'), context);
      } finally {
        Buffer.from(plainKey.buffer, plainKey.byteOffset, plainKey.byteLength).fill(0);
      }
    },
  };
}

/** Data keys wrapped under a 32-byte master key held by this process (local mode, tests). */
export function localDataKeys(masterKey: Uint8Array): DataKeys {
  if (masterKey.byteLength !== 32) throw new Error(`the secrets master key must be 32 bytes, got ${masterKey.byteLength}`);
  return {
    async generate(context) {
      const plain = randomBytes(32);
      const { iv, tag, data } = gcmSeal(masterKey, plain, context);
      return { plain, wrapped: Buffer.concat([iv, tag, data]) };
    },
    async unwrap(wrapped, context) {
      const b = Buffer.from(wrapped);
      return gcmOpen(masterKey, b.subarray(0, 12), b.subarray(12, 28), b.subarray(28), context);
    },
  };
}

/** The KMS client calls used (a structural type, so this module loads no SDK). */
export interface KmsLike {
  send(command: unknown): Promise<{ Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array }>;
}

/** Data keys from AWS KMS: GenerateDataKey (AES_256) and Decrypt, with the context as the encryption context. */
export function kmsDataKeys(
  kms: KmsLike,
  keyId: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK command classes, passed in so this module loads no SDK
  commands: { GenerateDataKey: new (input: any) => unknown; Decrypt: new (input: any) => unknown },
): DataKeys {
  return {
    async generate(context) {
      const out = await kms.send(new commands.GenerateDataKey({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }));
      if (!out.Plaintext || !out.CiphertextBlob) throw new Error(`KMS GenerateDataKey on ${keyId} returned no key`);
      return { plain: out.Plaintext, wrapped: out.CiphertextBlob };
    },
    async unwrap(wrapped, context) {
      const out = await kms.send(new commands.Decrypt({ KeyId: keyId, CiphertextBlob: wrapped, EncryptionContext: context }));
      if (!out.Plaintext) throw new Error(`KMS Decrypt with ${keyId} returned no plaintext`);
      return out.Plaintext;
    },
  };
}
