/**
 * The floor through play's own SSH stack in a fresh process: connect to
 * every address given, run `true` on each, close. Run by bench/run.ts as
 * `node bench/floor-ssh.js ADDR…`. It loads play's built lib/ as
 * bin/play.js does (cache check, source maps on), so it pays the same Node
 * start-up and ssh2 loading that `play` pays. JavaScript, since nothing
 * bundles it.
 */
import { libModule, playLib } from '../bin/lib-bundle.js';

process.setSourceMapsEnabled(true);
const lib = await playLib();
const { readLabProfile } = await import(libModule(lib, 'lib/lab/state.ts'));
const { connectSsh } = await import(libModule(lib, 'lib/transport/ssh.ts'));

const lab = readLabProfile();
if (!lab) throw new Error('no lab is up');
await Promise.all(process.argv.slice(2).map(async (address) => {
  const t = await connectSsh({ host: address, address, identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile });
  const r = await t.run('true');
  await t.close();
  if (r.code !== 0) throw new Error(`${address}: true exited ${r.code}`);
}));
