// The CLI's start-up cache. Compiling the TypeScript sources at every start (tsx) costs about a second;
// this bundles cli/main.ts and everything it imports from the repo with esbuild into
// node_modules/.cache/skyless-cli/ (packages stay external, loaded from node_modules as usual).
//
// A stale build never runs: the manifest records each source file's size and mtime as they were
// stat-ed just BEFORE esbuild read them, and every start compares them with the files on disk (one
// stat per file, about a millisecond in all). Any difference — an edit, a checkout, a new or deleted
// import target reached through an edited file — rebuilds first (a few hundred ms). Without esbuild
// (a production install), or with SKYLESS_NO_CLI_CACHE=1, the CLI runs through tsx as before.
//
// `import.meta.url` in each source is replaced by that source's own file URL, so paths relative to a
// source file (the state machine definition, bin/skyless.js, packages resolved with createRequire)
// resolve as they do unbundled.

import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where a repo's cache lives (a parameter so that a test can build a throw-away project). */
const paths = (root) => {
  const cache = join(root, 'node_modules', '.cache', 'skyless-cli');
  return { cache, manifest: join(cache, 'manifest.json'), entry: join(root, 'cli', 'main.ts') };
};
/** Builds older than this are deleted by the next build (a process started from one may still load its chunks). */
const KEEP_OLD_BUILDS_MS = 60 * 60 * 1000;

function fingerprint(file) {
  const st = statSync(file);
  return `${st.size}:${st.mtimeMs}`;
}

/** The entry module of a build whose every input is unchanged, or undefined. */
export function freshBuild(root = REPO) {
  const { cache, manifest: manifestFile } = paths(root);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.version !== 1 || manifest.node !== process.version || fingerprint(join(root, 'package-lock.json')) !== manifest.lock) return undefined;
  for (const [rel, fp] of Object.entries(manifest.inputs)) {
    try {
      if (fingerprint(join(root, rel)) !== fp) return undefined;
    } catch {
      return undefined; // deleted or unreadable
    }
  }
  return join(cache, manifest.dir, 'main.js');
}

/** Bundles the CLI; returns its entry module. Throws when esbuild is not installed. */
export async function build(root = REPO) {
  const { cache, manifest: manifestFile, entry } = paths(root);
  const esbuild = await import('esbuild');
  const inputs = {};
  const dir = `build-${Date.now()}-${process.pid}`;
  const lock = fingerprint(join(root, 'package-lock.json'));
  await esbuild.build({
    entryPoints: { main: entry },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: join(cache, dir),
    logLevel: 'silent',
    plugins: [
      {
        name: 'skyless-sources',
        setup(b) {
          b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
            if (args.path.includes(`${join(root, 'node_modules')}`)) return undefined;
            inputs[relative(root, args.path)] = fingerprint(args.path); // before reading: an edit after this rebuilds
            const text = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
            return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js', resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
  mkdirSync(cache, { recursive: true });
  const tmp = `${manifestFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, node: process.version, lock, dir, inputs }));
  renameSync(tmp, manifestFile); // atomic: a concurrent start sees the old manifest or this one
  for (const old of readdirSync(cache)) {
    const m = /^build-(\d+)-/.exec(old);
    if (m && old !== dir && Date.now() - Number(m[1]) > KEEP_OLD_BUILDS_MS) rmSync(join(cache, old), { recursive: true, force: true });
  }
  return join(cache, dir, 'main.js');
}

// `node bin/cli-cache.js` (npm's prepare): build now, so the first command is fast too.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await build();
  } catch (err) {
    process.stderr.write(`skyless: CLI start-up cache not built (${err?.message ?? err}); the CLI will compile at start instead\n`);
  }
}
