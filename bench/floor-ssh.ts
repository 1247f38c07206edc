/**
 * The floor through play's own SSH stack in a fresh process: connect to
 * every address given, run `true` on each, close. Run by bench/run.ts as
 * `node --import <play's hooks> bench/floor-ssh.ts ADDR…`, so it pays the
 * same Node start-up and ssh2 loading that `play` pays.
 */
import { readLabProfile } from '../lib/lab/state.ts';
import { connectSsh } from '../lib/transport/ssh.ts';

const lab = readLabProfile();
if (!lab) throw new Error('no lab is up');
await Promise.all(process.argv.slice(2).map(async (address) => {
  const t = await connectSsh({ host: address, address, identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile });
  const r = await t.run('true');
  await t.close();
  if (r.code !== 0) throw new Error(`${address}: true exited ${r.code}`);
}));
