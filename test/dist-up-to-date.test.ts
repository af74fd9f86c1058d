// dist/ is committed like a GitOps repository keeps it; it must be what the code synthesizes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthPlatform } from '../src/synth-platform';

const committed = path.join(__dirname, '..', 'dist');

test('dist/ matches a fresh synth of the reference platform (run `npm run synth` if this fails)', () => {
  const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-dist-')), 'dist');
  synthPlatform({ outdir });
  const fresh = fs.readdirSync(outdir).sort();
  expect(fs.readdirSync(committed).sort()).toEqual(fresh);
  for (const file of fresh) {
    const actual = fs.readFileSync(path.join(committed, file), 'utf8');
    const expected = fs.readFileSync(path.join(outdir, file), 'utf8');
    if (actual !== expected) {
      throw new Error(`dist/${file} is stale against the code: run \`npm run synth\` and commit dist/`);
    }
  }
});
