// Where each SkyPilot file-mount form ends up on a node, per cloud, and which mounts submit refuses
// because no node could place them (nothing is left out of a job silently).
import { describe, expect, it } from 'vitest';
import { namedBuckets, planNodeMounts, unplaceableMounts } from '../../../core/spec/node-mounts.ts';
import { onlyTask } from './helpers.ts';

const MOUNTS = `
  file_mounts:
    /data: ./data
    /datasets: s3://public/imagenet
    /ckpt:
      name: ckpt-bucket
    /ckpt-copy:
      name: ckpt-bucket
      mode: COPY
    /gcs:
      name: shared
      store: gcs
    /src:
      source: s3://real/prefix
    /scratch:
      source: ./scratch
    /out:
      name: outputs
      source: ./seed
      mode: MOUNT_CACHED
    /shards:
      source: [s3://a/shards-0, ./local-shard, gs://b/shards-1/]
      mode: COPY
  run: echo
`;

describe('planNodeMounts', () => {
  const task = onlyTask(MOUNTS);

  it('on aws: MOUNT buckets are mirrored (fetched, then saved back), COPY buckets copied, local paths archived', () => {
    expect(planNodeMounts(task, { cloud: 'aws' })).toEqual([
      { dest: '/data', archive: 0 },
      { dest: '/datasets', uri: 's3://public/imagenet' },
      { dest: '/ckpt', mirror: 's3://ckpt-bucket' },
      { dest: '/ckpt-copy', uri: 's3://ckpt-bucket' },
      { dest: '/gcs', mirror: 'gs://shared' },
      { dest: '/src', mirror: 's3://real/prefix' },
      { dest: '/scratch', archive: 6 },
      // A local source with a name: the bucket is mirrored, the upload unpacked over it, both saved to it.
      { dest: '/out', mirror: 's3://outputs' },
      { dest: '/out', archive: 7 },
      // A list: local entries in the archive, buckets each copied under their last path component.
      { dest: '/shards', archive: 8 },
      { dest: '/shards/shards-0', uri: 's3://a/shards-0' },
      { dest: '/shards/shards-1', uri: 'gs://b/shards-1/' },
    ]);
  });

  it("on gcp a bare name is a GCS bucket; on local it is the machine's bucket directory, linked for MOUNT", () => {
    const gcp = planNodeMounts(task, { cloud: 'gcp' });
    expect(gcp.find((m) => m.dest === '/ckpt')).toEqual({ dest: '/ckpt', mirror: 'gs://ckpt-bucket' });
    expect(gcp.find((m) => m.dest === '/out')).toEqual({ dest: '/out', mirror: 'gs://outputs' });

    const local = planNodeMounts(task, { cloud: 'local', localBucketsDir: '/home/u/.skyless/buckets/' });
    expect(local.filter((m) => m.dest === '/ckpt' || m.dest === '/ckpt-copy' || m.dest === '/out')).toEqual([
      { dest: '/ckpt', link: '/home/u/.skyless/buckets/ckpt-bucket' },
      { dest: '/ckpt-copy', uri: 'file:///home/u/.skyless/buckets/ckpt-bucket' },
      { dest: '/out', mirror: 'file:///home/u/.skyless/buckets/outputs' },
      { dest: '/out', archive: 7 },
    ]);
    // An explicit store is that cloud's bucket, wherever the node runs.
    expect(local.find((m) => m.dest === '/gcs')).toEqual({ dest: '/gcs', mirror: 'gs://shared' });
  });
});

describe('unplaceableMounts (submit-time check)', () => {
  const task = onlyTask(`
    workdir: .
    file_mounts:
      /data: ./data
      /ok: s3://bucket/key
      /named:
        name: ckpt
    run: echo
  `);

  it('refuses local paths a submission did not upload, naming each, and bare names on a cloud with no store', () => {
    const issues = unplaceableMounts(task, { hasArchives: false, clouds: ['local'], prefix: 'tasks[1]' });
    expect(issues.map((i) => i.path)).toEqual(['tasks[1].workdir', "tasks[1].file_mounts['/data']", "tasks[1].file_mounts['/named'].name"]);
    expect(issues[0].message).toContain('skyless jobs launch');
    expect(issues[2].message).toMatch(/bucket 'ckpt' has no store on local; give `store:`/);
  });

  it('refuses Cloudflare R2 (store or URL) until the agent speaks it, naming the mount', () => {
    const r2 = onlyTask(`
      file_mounts:
        /models: r2://zoo/base
        /ckpt:
          name: ckpt
          store: r2
      run: echo
    `);
    expect(unplaceableMounts(r2, { hasArchives: true, clouds: ['aws'] }).map((i) => `${i.path}: ${i.message}`)).toEqual([
      "file_mounts['/models']: Cloudflare R2 is not supported yet: use an s3:// or gs:// bucket",
      "file_mounts['/ckpt']: Cloudflare R2 is not supported yet: use an s3:// or gs:// bucket",
    ]);
  });

  it('accepts the same task from the CLI (files uploaded) on clouds that place every mount', () => {
    expect(unplaceableMounts(task, { hasArchives: true, clouds: ['aws', 'gcp'] })).toEqual([]);
    expect(unplaceableMounts(task, { hasArchives: true, clouds: ['local'], localBucketsDir: '/b' })).toEqual([]);
  });
});

describe('storage mounts the parser refuses, as SkyPilot does or because they would collide', () => {
  it('a name beside a bucket URL source, and two list sources with the same last component', () => {
    let message = '';
    try {
      onlyTask(`
        file_mounts:
          /data:
            name: mine
            source: s3://theirs/prefix
          /shards:
            source: [./a/part, ./b/part/]
        run: echo
      `);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("file_mounts['/data'].name: a storage mount of a bucket URL takes no name");
    expect(message).toContain("file_mounts['/shards'].source: './a/part' and './b/part/' would both land at /shards/part");
  });
});

describe('namedBuckets: the buckets the control plane creates when missing', () => {
  const task = onlyTask(`
    file_mounts:
      /a: {name: ckpt, mode: MOUNT, persistent: false}
      /b: {name: shared, store: gcs}
      /c: {name: ckpt, mode: COPY}
      /d: s3://already-there/data
      /e: {source: gs://given/prefix}
      /f: ./local-dir
    run: echo
  `);

  it("resolves each name's store as the node would, once per bucket; persistent only if every mount says so", () => {
    expect(namedBuckets(task, 'aws')).toEqual([
      { store: 's3', name: 'ckpt', persistent: false },
      { store: 'gcs', name: 'shared', persistent: true },
    ]);
    expect(namedBuckets(task, 'gcp')[0]).toEqual({ store: 'gcs', name: 'ckpt', persistent: false });
    expect(namedBuckets(task, 'local')[0]).toEqual({ store: 'local', name: 'ckpt', persistent: false });
  });
});
