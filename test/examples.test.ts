// The examples compile against the library's sources ('aiaas-ops' → src via tsconfig paths);
// test/integration/package.test.ts compiles and runs them against the packed tarball.
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.join(__dirname, '..');

test('examples/ type-check against the library', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(root, 'examples', 'tsconfig.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
}, 60000);
