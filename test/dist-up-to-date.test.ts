// dist/ is committed like a GitOps repository keeps it; it must be what the code synthesizes.
// In CI (CI=true) the README's `npm run synth` has already rewritten dist/ in the work tree, so the
// comparison is against the commit (git HEAD) instead: a stale commit still fails there.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthPlatform } from '../src/synth-platform';
import { REFERENCE_CONFIG_FILE } from './support/reference';

const repo = path.join(__dirname, '..');
const committed = path.join(repo, 'dist');
const fromHead = process.env.CI === 'true';

function committedFiles(): string[] {
  if (!fromHead) return fs.readdirSync(committed).sort();
  return execFileSync('git', ['ls-tree', '--name-only', 'HEAD', 'dist/'], { cwd: repo, encoding: 'utf8' })
    .split('\n').filter((l) => l).map((l) => path.basename(l)).sort();
}

function committedContent(file: string): string {
  if (!fromHead) return fs.readFileSync(path.join(committed, file), 'utf8');
  return execFileSync('git', ['show', `HEAD:dist/${file}`], { cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

test(`dist/ ${fromHead ? 'at git HEAD ' : ''}matches a fresh synth of the reference platform (run \`npm run synth\` if this fails)`, () => {
  const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-dist-')), 'dist');
  synthPlatform({ outdir, file: REFERENCE_CONFIG_FILE });
  const fresh = fs.readdirSync(outdir).sort();
  expect(committedFiles()).toEqual(fresh);
  for (const file of fresh) {
    if (committedContent(file) !== fs.readFileSync(path.join(outdir, file), 'utf8')) {
      throw new Error(`dist/${file} is stale against the code: run \`npm run synth\` and commit dist/`);
    }
  }
});
