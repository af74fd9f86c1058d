// Synth time and peak memory of our constructs against plain cdk8s-plus, for
// 4, 40 and 400 services:
//   npm run bench:synth                      (or npx ts-node --transpile-only bench/synth.ts)
//   npm run bench:synth -- --repeats 3 --sizes 4,40     (default: 9 repeats; fewer make the 4-service case noisy)
// Each case runs in a fresh process (bench/_synth-case.ts), so its peak RSS is its own;
// cases are interleaved round by round so drift on the machine hits every variant alike,
// and each figure is the median of the repeats. Not a test: it prints a report.
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import type { CaseResult, Variant } from './_synth-case';

const CASE_SCRIPT = path.join(__dirname, '_synth-case.ts');
const TARGET_RATIO = 1.5;

const LABELS: Record<Variant, string> = {
  'plain': 'bare cdk8s-plus: per service 2 kplus Deployments (same image and port, cdk8s-plus defaults) and 2 kplus Services (stable, preview)',
  'plain-same-deployments': 'plain cdk8s-plus written by hand to emit the same 2 Deployments and 2 Services as BlueGreenService (field for field), and nothing else',
  'bgs': 'ours: BlueGreenService with its defaults, one per service, in a bare chart',
  'platform': 'ours: PlatformChart (config parsing, Namespace, the services, NetworkPolicies, RBAC)',
  'plain-same-output': 'plain cdk8s-plus written by hand to emit the same objects and fields as BlueGreenService, flat in the chart',
};

interface Options {
  readonly repeats: number;
  readonly sizes: number[];
}

function parseArgs(argv: string[]): Options {
  let repeats = 9;
  let sizes = [4, 40, 400];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--repeats' && /^[1-9]\d*$/.test(value ?? '')) {
      repeats = Number(value);
    } else if (flag === '--sizes' && /^[1-9]\d*(,[1-9]\d*)*$/.test(value ?? '')) {
      sizes = value.split(',').map(Number);
    } else {
      throw new Error(`unexpected argument '${flag}${value === undefined ? '' : ` ${value}`}'; expected --repeats <n> and/or --sizes <n,n,...>`);
    }
  }
  return { repeats, sizes };
}

function runCase(variant: Variant, services: number): CaseResult {
  const stdout = execFileSync(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', CASE_SCRIPT, variant, String(services)], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim()) as CaseResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Summary {
  readonly totalMs: number;
  readonly constructMs: number;
  readonly synthMs: number;
  readonly cpuMs: number;
  readonly peakMb: number;
  /** Peak over the RSS after imports: what the case itself allocated. */
  readonly ownMb: number;
  readonly yamlBytes: number;
  readonly kinds: Record<string, number>;
}

function summarize(results: CaseResult[]): Summary {
  return {
    totalMs: median(results.map((r) => r.totalMs)),
    constructMs: median(results.map((r) => r.constructMs)),
    synthMs: median(results.map((r) => r.synthMs)),
    cpuMs: median(results.map((r) => r.cpuMs)),
    peakMb: median(results.map((r) => r.peakMb)),
    ownMb: median(results.map((r) => r.peakMb - r.baselineMb)),
    yamlBytes: results[0].yamlBytes,
    kinds: results[0].kinds,
  };
}

const ms = (v: number): string => v.toFixed(v < 100 ? 1 : 0);
const mb = (v: number): string => v.toFixed(1);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

function kindsLine(kinds: Record<string, number>, services: number): string {
  return Object.entries(kinds)
    .map(([kind, count]) => (count % services === 0 ? `${count / services} ${kind}` : `${count} ${kind} (total)`))
    .join(', ');
}

function comparisonTable(title: string, ours: Variant, base: Variant, sizes: number[], summaries: Map<string, Summary>): string[] {
  const lines = [
    `### ${title}`,
    '',
    `| services | ${ours} ms | ${base} ms | time ratio | CPU-time ratio | ${ours} peak MB | ${base} peak MB | memory ratio | ${ours} own MB | ${base} own MB | own memory ratio | YAML size ratio |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of sizes) {
    const a = summaries.get(`${ours}/${n}`)!;
    const b = summaries.get(`${base}/${n}`)!;
    lines.push(
      `| ${n} | ${ms(a.totalMs)} | ${ms(b.totalMs)} | ${ratio(a.totalMs, b.totalMs)} | ${ratio(a.cpuMs, b.cpuMs)} | ${mb(a.peakMb)} | ${mb(b.peakMb)} | ${ratio(a.peakMb, b.peakMb)} | ` +
        `${mb(a.ownMb)} | ${mb(b.ownMb)} | ${ratio(a.ownMb, b.ownMb)} | ${ratio(a.yamlBytes, b.yamlBytes)} |`,
    );
  }
  return [...lines, ''];
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const variants: Variant[] = ['plain', 'plain-same-deployments', 'bgs', 'platform', 'plain-same-output'];
  const raw = new Map<string, CaseResult[]>();
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  for (let round = 1; round <= options.repeats; round++) {
    process.stderr.write(`round ${round}/${options.repeats}…\n`);
    for (const n of options.sizes) {
      for (const variant of variants) {
        const key = `${variant}/${n}`;
        raw.set(key, [...(raw.get(key) ?? []), runCase(variant, n)]);
      }
    }
  }
  const summaries = new Map([...raw].map(([key, results]) => [key, summarize(results)]));
  const sizes = options.sizes;
  const largest = sizes[sizes.length - 1];

  const out: string[] = [
    '## Synth benchmark',
    '',
    `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ` +
      `median of ${options.repeats} runs per case, each in a fresh process (${((Date.now() - started) / 1000).toFixed(0)} s in all; ` +
      `1-minute load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after: other work on the machine inflates wall time).`,
    'Time: wall time of building the constructs plus `app.synthYaml()` (validation, resolution, YAML), not module loading;',
    'CPU-time ratio: the same ratio on user+system CPU time, which a busy machine disturbs less.',
    'Each case starts after a full GC with its peak RSS reset (Linux /proc/self/clear_refs), so neither module loading nor its garbage is measured.',
    'Peak MB: the process\' peak RSS (VmHWM) during the case, which includes the ~150 MB resident of Node, ts-node and the loaded modules;',
    'own MB: that peak minus the RSS at the start of the case, i.e. what the case itself allocated.',
    '',
    '### Variants and what each emits per service',
    '',
  ];
  for (const variant of variants) {
    const s = summaries.get(`${variant}/${largest}`)!;
    out.push(`- **${variant}**: ${LABELS[variant]}. Emits ${kindsLine(s.kinds, largest)}; ${(s.yamlBytes / largest / 1024).toFixed(1)} KiB of YAML per service.`);
  }
  out.push(
    '',
    'On top of the plain Deployments and Services, BlueGreenService adds a ServiceAccount, a PodDisruptionBudget per colour and a',
    'smoke-test Job per service, and inside each Deployment: readiness and liveness probes, resources, the restricted security',
    'contexts, a /tmp emptyDir, topology spread constraints, rolling-update settings, its own app/version selector.',
    'The platform adds config validation (zod), the Namespace, NetworkPolicies (default deny, DNS, one per service, …) and RBAC.',
    '',
  );

  out.push(...comparisonTable('Issue target: BlueGreenService vs plain cdk8s-plus emitting the same Deployments and Services', 'bgs', 'plain-same-deployments', sizes, summaries));
  out.push(...comparisonTable('BlueGreenService vs bare cdk8s-plus Deployments and Services (cdk8s-plus defaults, none of the required hardening)', 'bgs', 'plain', sizes, summaries));
  out.push(...comparisonTable('Whole pattern: PlatformChart vs plain cdk8s-plus', 'platform', 'plain', sizes, summaries));
  out.push(...comparisonTable('Construct overhead: BlueGreenService vs plain cdk8s-plus emitting the same objects', 'bgs', 'plain-same-output', sizes, summaries));

  out.push('### Where the time goes (median ms: construct tree + synthYaml)', '', `| variant | ${sizes.map((n) => `${n} services`).join(' | ')} |`, `|---|${sizes.map(() => '---:|').join('')}`);
  for (const variant of variants) {
    out.push(`| ${variant} | ${sizes.map((n) => {
      const s = summaries.get(`${variant}/${n}`)!;
      return `${ms(s.constructMs)} + ${ms(s.synthMs)}`;
    }).join(' | ')} |`);
  }
  out.push('');

  if (sizes.length >= 2) {
    const [small, big] = [sizes[sizes.length - 2], largest];
    out.push(
      `### Linearity: ms per service at ${small} and ${big} services`,
      '',
      `| variant | ms/service @${small} | ms/service @${big} | growth of per-service cost | MB/service @${big} (own) | linear? |`,
      '|---|---:|---:|---:|---:|---|',
    );
    for (const variant of variants) {
      const a = summaries.get(`${variant}/${small}`)!;
      const b = summaries.get(`${variant}/${big}`)!;
      const growth = b.totalMs / big / (a.totalMs / small);
      // A fresh process pays JIT warm-up on the small case, so per-service cost usually falls; above ~1.25x it is superlinear.
      out.push(
        `| ${variant} | ${(a.totalMs / small).toFixed(2)} | ${(b.totalMs / big).toFixed(2)} | ${growth.toFixed(2)}x | ${(b.ownMb / big).toFixed(3)} | ${growth <= 1.25 ? 'yes' : 'no'} |`,
      );
    }
    out.push('');
  }

  const verdict = (base: Variant): string => sizes.map((n) => {
    const t = summaries.get(`bgs/${n}`)!.totalMs / summaries.get(`${base}/${n}`)!.totalMs;
    const m = summaries.get(`bgs/${n}`)!.peakMb / summaries.get(`${base}/${n}`)!.peakMb;
    return `${n}: time ${t.toFixed(2)}x, peak memory ${m.toFixed(2)}x → ${t <= TARGET_RATIO && m <= TARGET_RATIO ? 'within' : 'ABOVE'} ${TARGET_RATIO}x`;
  }).join('; ');
  out.push(
    `Target (issue 2): linear growth and within ${TARGET_RATIO}x of a plain cdk8s-plus chart of the same Deployments and Services.`,
    `- BlueGreenService vs plain-same-deployments, by services: ${verdict('plain-same-deployments')}.`,
    `- For reference, vs the bare chart (${((summaries.get(`bgs/${largest}`)!.yamlBytes) / summaries.get(`plain/${largest}`)!.yamlBytes).toFixed(1)}x less YAML): ${verdict('plain')}.`,
  );
  console.log(out.join('\n'));
}

try {
  main();
} catch (error) {
  console.error(`bench/synth failed: ${(error as Error).message}`);
  process.exitCode = 2;
}
