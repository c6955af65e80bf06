// Issue 4: the launch-fault file of cloud `local` (local/faults.ts), in-process: which error a
// launch gets where, that an edit applies without a restart, and that a bad file is named.
import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { FileFaultSource, faultsPath, writeFaults, readFaults, addFault, removeFaults, validateFault, withLaunchFaults } from '../../local/faults.ts';
import { CapacityError, PrecheckError, ValidationError } from '../../core/errors.ts';
import type { ComputeProvider, LaunchRequest } from '../../core/ports.ts';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'skyless-faults-'));
});

describe('launch faults file', () => {
  it('raises the scoped error of the most specific matching fault, and nothing elsewhere', async () => {
    let f = addFault({ launch: [] }, validateFault({ kind: 'quota', region: 'local-1' }));
    f = addFault(f, validateFault({ kind: 'capacity', region: 'local-2', zone: 'local-2a' }));
    f = addFault(f, validateFault({ kind: 'precheck', region: 'local-3', instanceType: 'local.gpu.large' }));
    await writeFaults(home, f);
    const src = new FileFaultSource(faultsPath(home));

    const quota = src.launchError('local-1', 'local-1b', 'local.cpu.small');
    expect(quota).toBeInstanceOf(CapacityError);
    expect(quota).toMatchObject({ scope: 'region', where: { cloud: 'local', region: 'local-1' }, code: 'VcpuLimitExceeded' });

    const zone = src.launchError('local-2', 'local-2a', 'local.cpu.small');
    expect(zone).toMatchObject({ scope: 'zone', where: { cloud: 'local', region: 'local-2', zone: 'local-2a' }, code: 'InsufficientInstanceCapacity' });
    expect(src.launchError('local-2', 'local-2b', 'local.cpu.small')).toBeUndefined();

    expect(src.launchError('local-3', 'local-3a', 'local.gpu.large')).toBeInstanceOf(PrecheckError);
    expect(src.launchError('local-3', 'local-3a', 'local.cpu.small')).toBeUndefined();
  });

  it('a zone fault wins over a region-wide one in the same place', async () => {
    await writeFaults(home, { launch: [validateFault({ kind: 'capacity', scope: 'cloud' }), validateFault({ kind: 'capacity', scope: 'zone', region: 'local-1', zone: 'local-1a' })] });
    const src = new FileFaultSource(faultsPath(home));
    expect(src.launchError('local-1', 'local-1a', 'x')).toMatchObject({ scope: 'zone' });
    expect(src.launchError('local-1', 'local-1b', 'x')).toMatchObject({ scope: 'cloud', where: { cloud: 'local' } });
  });

  it('re-reads the file when it changes (no restart), and clearing restores launches', async () => {
    const src = new FileFaultSource(faultsPath(home));
    expect(src.launchError('local-1', 'local-1a', 'x')).toBeUndefined();
    await writeFaults(home, addFault(await readFaults(home), validateFault({ kind: 'capacity', scope: 'region', region: 'local-1' })));
    expect(src.launchError('local-1', 'local-1a', 'x')).toBeInstanceOf(CapacityError);
    await writeFaults(home, removeFaults(await readFaults(home), { region: 'local-1' }));
    expect(src.launchError('local-1', 'local-1a', 'x')).toBeUndefined();
  });

  it('names the file and the entry of a bad fault', () => {
    mkdirSync(join(home, 'local'), { recursive: true });
    writeFileSync(faultsPath(home), JSON.stringify({ launch: [{ kind: 'capacity', region: 'local-1' }, { kind: 'capacity', region: 'mars-1' }] }));
    const src = new FileFaultSource(faultsPath(home));
    expect(() => src.launchError('local-1', 'local-1a', 'x')).toThrow(/faults\.json: launch\[1\]\.region: cloud local has no region 'mars-1'/);
    writeFileSync(faultsPath(home), '{not json');
    expect(() => new FileFaultSource(faultsPath(home)).current()).toThrow(/faults\.json: not valid JSON/);
    expect(() => validateFault({ kind: 'slow' })).toThrow(ValidationError);
    expect(() => validateFault({ kind: 'capacity', zone: 'local-1a' })).toThrow(/zone needs a region/);
  });

  it('error faults throw after the instances exist; slow faults delay the call', async () => {
    await writeFaults(home, { launch: [validateFault({ kind: 'error', region: 'local-1' }), validateFault({ kind: 'slow', region: 'local-2', delaySeconds: 0.3 })] });
    const created: string[] = [];
    const inner: ComputeProvider = {
      cloud: 'local',
      launch: async (req) => {
        created.push(`${req.candidate.region}-${req.attempt}`);
        return [{ instanceId: `local-1-0-${req.attempt}-0`, node: 0, zone: req.candidate.zones[0] }];
      },
      terminate: async () => {},
      describe: async () => [],
    };
    const p = withLaunchFaults(inner, new FileFaultSource(faultsPath(home)));
    const req = (region: string, attempt: number) =>
      ({ jobId: 1, taskIndex: 0, attempt, numNodes: 1, diskSizeGb: 10, bootstrap: { apiUrl: 'x', tokens: ['t'] }, candidate: { cloud: 'local', region, zones: [`${region}a`], instanceType: 'local.cpu.small', vcpus: 2, memoryGb: 4, spot: false, hourlyPrice: 0.01, requestIndex: 0 } }) as LaunchRequest;
    await expect(p.launch(req('local-1', 1))).rejects.toThrow(/unexpected error after launching local-1-0-1-0 in local-1/);
    expect(created).toEqual(['local-1-1']);
    const t0 = Date.now();
    await p.launch(req('local-2', 2));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await p.launch(req('local-3', 3));
    expect(created).toEqual(['local-1-1', 'local-2-2', 'local-3-3']);
  });
});
