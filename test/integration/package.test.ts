// The library as another team gets it: `npm pack`, then a fresh project that installs the
// tarball from disk and its other dependencies from the npm registry (cache first), and
//   1. without Pulumi: compiles and runs a cdk8s stack built from the constructs (examples/cdk8s-consumer),
//      and the reference platform synthesizes exactly as from the sources;
//   2. with Pulumi: runs the Pulumi program (examples/pulumi-program) under mocks;
//   3. runs `npx aiaas-job --help`.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { TASKS } from '../../src/jobs/config';
import { loadPlatformConfig } from '../../src/config/load-config';
import { synthPlatform } from '../../src/synth-platform';
import { REFERENCE_CONFIG_FILE } from '../support/reference';

const root = path.join(__dirname, '..', '..');
/** The reference platform's runbook URL (platform.yaml), which the consumer's app sets explicitly. */
const REFERENCE_RUNBOOK_URL = loadPlatformConfig({ file: REFERENCE_CONFIG_FILE }).monitoring.runbookBaseUrl!;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The repository's installed version of a dependency, so the fresh install is served from the npm cache. */
function installed(name: string): string {
  return `${name}@${JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version}`;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

function npmInstall(cwd: string, specs: string[]): string {
  return run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...specs], cwd);
}

function tsc(cwd: string, ...args: string[]): void {
  run(process.execPath, [path.join(cwd, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], cwd);
}

const keyOf = (o: any) => `${o.kind}/${o.metadata.namespace ?? '-'}/${o.metadata.name}`;

function yamlObjects(file: string): any[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJSON());
}

let work: string;
let tarball: string;
let packedFiles: string[];
let project: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-package-'));

  // Pack from a copy of the package's inputs, so the build (prepack) does not rewrite lib/
  // of the working tree under other running tests.
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage);
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src']) {
    if (fs.existsSync(path.join(root, entry))) {
      fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true });
    }
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
  const [pack] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], stage, { npm_config_loglevel: 'error' }).replace(/^[^[]*/, ''));
  tarball = path.join(work, pack.filename);
  packedFiles = pack.files.map((f: { path: string }) => f.path);

  // A fresh consumer project, without Pulumi first.
  project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    // module commonjs with the default (node10) resolution: 'aiaas-ops/pulumi' resolves through typesVersions;
    // skipLibCheck false: the packed declarations must type-check too.
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, esModuleInterop: true, skipLibCheck: false, outDir: 'out' } }),
  );
  npmInstall(project, [tarball, installed('cdk8s'), installed('constructs'), installed('cdk8s-plus-28'), installed('typescript'), installed('@types/node')]);
});

afterAll(() => {
  if (work && !process.env.KEEP_PACKAGE_TEST_DIR) {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('the tarball holds compiled JS with declarations, the job bundle and Dockerfile, and no sources or tests', () => {
  for (const file of ['package.json', 'lib/index.js', 'lib/index.d.ts', 'lib/pulumi/index.js', 'lib/pulumi/index.d.ts', 'lib/jobs/aiaas-job.js']) {
    expect(packedFiles).toContain(file);
  }
  for (const optional of ['src/jobs/Dockerfile', 'README.md']) {
    expect(packedFiles.includes(optional)).toBe(fs.existsSync(path.join(root, optional)));
  }
  const unwanted = packedFiles.filter(
    (f) => /^(test|examples|dist|bench|scratch[^/]*)\//.test(f) || (f.startsWith('src/') && f !== 'src/jobs/Dockerfile') || /\.test\.|\.tsbuildinfo$/.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
  );
  expect(unwanted).toEqual([]);

  const manifest = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'aiaas-ops', 'package.json'), 'utf8'));
  expect(manifest.exports['.']).toEqual({ types: './lib/index.d.ts', default: './lib/index.js' });
  expect(manifest.exports['./pulumi']).toEqual({ types: './lib/pulumi/index.d.ts', default: './lib/pulumi/index.js' });
  expect(manifest.types).toBe('lib/index.d.ts');
  expect(manifest.peerDependenciesMeta['@pulumi/pulumi'].optional).toBe(true);
  expect(manifest.peerDependenciesMeta['@pulumi/kubernetes'].optional).toBe(true);
});

test('without Pulumi: a cdk8s stack of the constructs compiles and synthesizes, and the reference platform matches the sources', () => {
  // GIVEN: the optional peers are not installed with the library
  expect(fs.existsSync(path.join(project, 'node_modules', '@pulumi'))).toBe(false);
  fs.cpSync(path.join(root, 'examples', 'cdk8s-consumer', 'main.ts'), path.join(project, 'src', 'main.ts'));
  fs.writeFileSync(
    path.join(project, 'src', 'platform.ts'),
    [
      // A consumer's own app: PlatformApp writes RUNBOOK.md and alertmanager.yaml beside the manifests.
      "import { PlatformApp, PlatformChart, REFERENCE_CHART_ID } from 'aiaas-ops';",
      "const app = new PlatformApp({ outdir: 'platform-dist' });",
      // the reference platform's own config (platform.yaml), given as an object as a consumer would
      `new PlatformChart(app, REFERENCE_CHART_ID, { config: ${JSON.stringify(YAML.parse(fs.readFileSync(REFERENCE_CONFIG_FILE, 'utf8')))} });`,
      'app.synth();',
      // Loading the main entry must not load Pulumi.
      "const pulumiModules = Object.keys(require.cache).filter((m) => m.includes('@pulumi'));",
      "if (pulumiModules.length > 0) throw new Error('aiaas-ops loaded ' + pulumiModules.join(', '));",
      '',
    ].join('\n'),
  );

  // WHEN
  tsc(project, '-p', 'tsconfig.json');
  run(process.execPath, ['out/main.js'], project);
  const printed = run(process.execPath, ['out/platform.js'], project);

  // THEN: the consumer's own chart, in its own namespace, switched to green
  const billing = yamlObjects(path.join(project, 'dist', 'billing.k8s.yaml'));
  const keys = billing.map(keyOf);
  expect(keys).toEqual(
    expect.arrayContaining([
      'Namespace/-/billing',
      'Deployment/billing/billing-blue',
      'Deployment/billing/billing-green',
      'Service/billing/billing',
      'Service/billing/billing-preview',
      'ConfigMap/billing/billing-settings',
    ]),
  );
  expect(billing.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'billing')).toBe(true);
  expect(billing.find((o) => keyOf(o) === 'Service/billing/billing').spec.selector).toEqual({ app: 'billing', version: 'green' });
  expect(billing.filter((o) => o.kind === 'NetworkPolicy').length).toBeGreaterThan(0);

  // THEN: the consumer's synth wrote the whole platform, file for file what `npm run synth` writes from the sources
  const fromSources = path.join(work, 'source-dist');
  synthPlatform({ outdir: fromSources, file: REFERENCE_CONFIG_FILE });
  const consumerDist = path.join(project, 'platform-dist');
  expect(fs.readdirSync(consumerDist).sort()).toEqual(['RUNBOOK.md', 'aiaas-retained.k8s.yaml', 'aiaas.k8s.yaml', 'alertmanager.yaml']);
  for (const file of fs.readdirSync(fromSources)) {
    expect(fs.readFileSync(path.join(consumerDist, file), 'utf8')).toBe(fs.readFileSync(path.join(fromSources, file), 'utf8'));
  }
  expect(printed).toContain(`aiaas: every alert's runbook_url is ${REFERENCE_RUNBOOK_URL}#<alert> (monitoring.runbookBaseUrl); publish platform-dist/RUNBOOK.md there`);
  // RUNBOOK.md and alertmanager.yaml name the manifests' namespace and alerts
  const rules = yamlObjects(path.join(consumerDist, 'aiaas.k8s.yaml')).find((o) => o.kind === 'PrometheusRule');
  const runbook = fs.readFileSync(path.join(consumerDist, 'RUNBOOK.md'), 'utf8');
  for (const rule of rules.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert)) {
    expect(runbook).toContain(`### ${rule.alert}`);
  }
  expect(fs.readFileSync(path.join(consumerDist, 'alertmanager.yaml'), 'utf8')).toContain('namespace="aiaas"');

  // THEN: the Pulumi entry says what is missing
  const pulumiEntry = spawnSync(process.execPath, ['-e', "require('aiaas-ops/pulumi')"], { cwd: project, encoding: 'utf8' });
  expect(pulumiEntry.status).not.toBe(0);
  expect(pulumiEntry.stderr).toMatch(/Cannot find module '@pulumi\/(pulumi|kubernetes)/);
});

test('with Pulumi: the Pulumi program runs under mocks, and promotion is one config field', () => {
  // GIVEN: Pulumi installed as a Pulumi user does; its plugin install script finds no CLI and exits 0
  npmInstall(project, [installed('@pulumi/pulumi'), installed('@pulumi/kubernetes')]);
  expect(fs.existsSync(path.join(project, 'node_modules', '@pulumi', 'kubernetes', 'index.js'))).toBe(true);
  fs.cpSync(path.join(root, 'examples', 'pulumi-program', 'index.ts'), path.join(project, 'src', 'pulumi-program', 'index.ts'));
  fs.writeFileSync(
    path.join(project, 'src', 'run-mocks.ts'),
    `import * as pulumi from '@pulumi/pulumi';

const registered: { type: string; name: string; inputs: any }[] = [];

async function main(): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: args.custom ? args.name + '-id' : undefined, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    'project',
    'dev',
  );
  const program = require('./pulumi-program/index');
  const names: string[] = await new Promise((resolve) => program.resourceNames.apply(resolve));
  const namespace: string = await new Promise((resolve) => program.namespace.apply(resolve));
  for (let waited = 0; registered.length < names.length + 1; waited += 50) {
    if (waited > 30000) throw new Error('registered ' + registered.length + ' of ' + (names.length + 1));
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(JSON.stringify({ names, namespace, activeColors: program.activeColors, registered }));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
`,
  );
  tsc(project, '-p', 'tsconfig.json');
  // The same sources also type-check with node16 resolution, which reads package.json "exports".
  tsc(project, '-p', 'tsconfig.json', '--noEmit', '--module', 'node16', '--moduleResolution', 'node16');

  // WHEN: the stack config promotes api-gateway, as `pulumi config set --path` would
  const config = {
    'project:runbookBaseUrl': 'https://git.example.com/ops/platform/blob/main/dist/RUNBOOK.md',
    'project:overrides': JSON.stringify({ 'services.api-gateway.activeColor': 'green' }),
  };
  const out = JSON.parse(run(process.execPath, ['out/run-mocks.js'], project, { PULUMI_CONFIG: JSON.stringify(config) }));

  // THEN
  expect(out.namespace).toBe('aiaas');
  expect(out.activeColors['api-gateway']).toBe('green');
  const component = out.registered.filter((r: any) => r.type === 'aiaas-ops:index:Platform');
  expect(component.map((r: any) => r.name)).toEqual(['aiaas']);
  const children = out.registered.filter((r: any) => r.type.startsWith('kubernetes:'));
  expect(children.map((r: any) => r.name).sort()).toEqual([...out.names].sort());
  expect(children.length).toBeGreaterThan(40);
  const service = (name: string) => children.find((r: any) => r.type === 'kubernetes:core/v1:Service' && r.inputs.metadata.name === name);
  expect(service('api-gateway').inputs.spec.selector).toEqual({ app: 'api-gateway', version: 'green' });
  // the preview Service reaches only the idle colour's current revision (its smoke test cannot hit old pods)
  expect(service('api-gateway-preview').inputs.spec.selector)
    .toEqual({ 'app': 'api-gateway', 'version': 'blue', 'aiaas.io/revision': expect.stringMatching(/^[0-9a-f]{10}$/) });
  expect(service('orchestrator').inputs.spec.selector).toEqual({ app: 'orchestrator', version: 'blue' });
});

test('npx aiaas-job --help lists the tasks', () => {
  const help = execFileSync('npx', ['--no-install', 'aiaas-job', '--help'], { cwd: project, encoding: 'utf8' });
  expect(help).toMatch(/Usage: aiaas-job/);
  for (const task of TASKS) {
    expect(help).toMatch(new RegExp(`^\\s+${task}\\b`, 'm'));
  }
});
