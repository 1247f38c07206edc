#!/usr/bin/env node
// Playbooks, inventories, roles and play itself are TypeScript run without a
// build step: bin/ts-hooks.js transpiles each .ts module as it is imported
// (esbuild, cached on disk). It replaced tsx's loader here because start-up
// is half of an idempotent run on a few hosts: tsx's hooks cost ~0.13 s more
// per start (measured in bench/README.md).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./ts-hooks.js', import.meta.url);
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
