import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import {
  decodeRegisterReplyText,
  encodeRegisterReplyText,
  type RegisterReadyReply,
} from '../../agent/protocol.ts';
import { ValidationError } from '../../core/errors.ts';

const ready = (over: Partial<RegisterReadyReply> = {}): RegisterReadyReply => ({
  state: 'READY',
  rank: 1,
  numNodes: 2,
  nodeIps: ['10.0.0.1', '10.0.0.2'],
  env: { A: 'x y', B: 'line\n' },
  setup: 'echo setup',
  run: 'echo run',
  workdir: { url: 'https://bucket.s3.amazonaws.com/w.tgz?X-Amz-Signature=ab&x=1' },
  fileMounts: [
    { dest: '~/data', url: 'http://127.0.0.1:1/files/m?sig=1' },
    { dest: '/mnt/ckpt', uri: 's3://bucket/ckpt/' },
  ],
  heartbeatSeconds: 10,
  logChunkBytes: 1048576,
  ...over,
});

describe('register reply, text form', () => {
  it('encodes WAIT as two lines', () => {
    expect(encodeRegisterReplyText({ state: 'WAIT', retryAfterMs: 500 })).toBe('state WAIT\nretryAfterMs 500\n');
  });

  it('round-trips any READY reply, whatever characters its values hold', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.string({ unit: 'grapheme' })),
        fc.option(fc.string({ unit: 'grapheme' }), { nil: undefined }),
        fc.array(fc.record({ dest: fc.string({ minLength: 1 }), url: fc.webUrl() }), { maxLength: 3 }),
        (env, run, fileMounts) => {
          const reply = ready({ env, run, fileMounts });
          if (run === undefined) delete reply.run;
          expect(decodeRegisterReplyText(encodeRegisterReplyText(reply))).toEqual(reply);
        },
      ),
    );
  });

  it('can be read by bash with read and base64 -d, the way the agent does', () => {
    const text = encodeRegisterReplyText(ready({ env: { TRICKY: ` it's "q"\n\n$x \\ ` } }));
    const decoded = execFileSync(
      'bash',
      ['-c', 'while read -r k a b; do [ "$k" = env ] && [ "$a" = TRICKY ] && printf "%s" "$b" | base64 -d; done; true'],
      { input: text },
    ).toString('utf8');
    expect(decoded).toBe(` it's "q"\n\n$x \\ `);
  });

  it('refuses an env name the shell cannot export, naming it', () => {
    expect(() => encodeRegisterReplyText(ready({ env: { 'BAD-NAME': 'x' } }))).toThrow(ValidationError);
    expect(() => encodeRegisterReplyText(ready({ env: { 'BAD-NAME': 'x' } }))).toThrow(/BAD-NAME/);
  });

  it('round-trips every mount kind, and saveSeconds', () => {
    const reply = ready({
      fileMounts: [
        { dest: '~/data', url: 'http://127.0.0.1:1/files/m?sig=1' },
        { dest: '/datasets', uri: 's3://bucket/imagenet' },
        { dest: '/shared', link: '/home/u/.skyless/buckets/shared' },
        { dest: '/ckpt', mirror: 's3://ckpt/run 1/' },
        { dest: '/out', mirror: 'gs://outputs' },
      ],
      saveSeconds: 30,
    });
    const text = encodeRegisterReplyText(reply);
    expect(text).toContain('\nsaveSeconds 30\n');
    expect(text).toMatch(/\nmount \S+ mirror \S+\n/);
    expect(decodeRegisterReplyText(text)).toEqual(reply);
  });

  it('refuses a malformed text reply, naming the line', () => {
    expect(() => decodeRegisterReplyText('state READY\nmount eA== ftp eA==\n')).toThrow(/line 2/);
    expect(() => decodeRegisterReplyText('state MAYBE\n')).toThrow(/WAIT or READY/);
  });
});
