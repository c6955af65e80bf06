#!/usr/bin/env node
// Entry shim: runs the TypeScript CLI through tsx so that a fresh clone needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
