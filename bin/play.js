#!/usr/bin/env node
// Playbooks and inventories are TypeScript run without a build step: tsx's
// loader is registered before anything of play's is imported.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
