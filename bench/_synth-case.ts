// One measurement of bench/synth.ts, run in a fresh process so its peak RSS
// belongs to this case alone:
//   node --expose-gc -r ts-node/register/transpile-only bench/_synth-case.ts <variant> <services>
// Prints one JSON line: construct and synth wall time, peak RSS (VmHWM), the RSS
// after imports (the baseline every variant pays) and the objects synthesized.
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { ApiObject, App, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { BlueGreenService } from '../src/constructs/blue-green-service';
import { PlatformChart } from '../src/constructs/platform-chart';

export const VARIANTS = ['plain', 'bgs', 'platform', 'plain-same-output', 'plain-same-deployments'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface CaseResult {
  readonly variant: Variant;
  readonly services: number;
  /** Building the construct tree. */
  readonly constructMs: number;
  /** `app.synthYaml()`: validation, resolution, YAML. */
  readonly synthMs: number;
  readonly totalMs: number;
  /** CPU time (user + system, all threads) of construct + synth: steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  /** Peak resident set of the whole process (VmHWM), MiB. */
  readonly peakMb: number;
  /** Resident set after all modules are loaded, before the case runs, MiB. */
  readonly baselineMb: number;
  readonly yamlBytes: number;
  /** Synthesized objects by kind. */
  readonly kinds: Record<string, number>;
}

const PORT = 8000;
const imageOf = (name: string): string => `ghcr.io/aiaas/${name}:1.0.0`;
const serviceName = (i: number): string => `svc-${String(i).padStart(3, '0')}`;

/** Plain cdk8s-plus: per service, two Deployments and two Services, nothing else. */
export function buildPlain(app: App, n: number): void {
  const chart = new Chart(app, 'plain', { namespace: 'bench' });
  for (let i = 0; i < n; i++) {
    const name = serviceName(i);
    const deployments = ['blue', 'green'].map(
      (color) =>
        new kplus.Deployment(chart, `${name}-${color}`, {
          metadata: { name: `${name}-${color}` },
          containers: [{ name, image: imageOf(name), ports: [{ number: PORT, name: 'http' }] }],
        }),
    );
    new kplus.Service(chart, `${name}-svc`, {
      metadata: { name },
      selector: deployments[0],
      ports: [{ name: 'http', port: PORT, targetPort: PORT }],
    });
    new kplus.Service(chart, `${name}-preview`, {
      metadata: { name: `${name}-preview` },
      selector: deployments[1],
      ports: [{ name: 'http', port: PORT, targetPort: PORT }],
    });
  }
}

/**
 * Plain cdk8s-plus written by hand to emit what BlueGreenService emits (ServiceAccount,
 * two hardened Deployments with probes, resources, /tmp emptyDir, spread constraints,
 * two PDBs, two Services, a smoke Job), flat in the chart: it separates the cost of
 * the extra output from the cost of our construct itself. With `extras: false` it
 * emits only the Deployments and Services, identical to BlueGreenService's, and none
 * of the objects it adds around them (ServiceAccounts, PDBs, smoke-test Job).
 */
export function buildPlainSameOutput(app: App, n: number, extras = true): void {
  // A chart id as long as 'bgs', so the cdk8s address labels weigh the same in both outputs.
  const chart = new Chart(app, extras ? 'pso' : 'psd', { namespace: 'bench' });
  const podSecurity = { ensureNonRoot: true, user: 10001, group: 10001, fsGroup: 10001 };
  const containerSecurity: kplus.ContainerSecurityContextProps = {
    ensureNonRoot: true,
    user: 10001,
    group: 10001,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
  for (let i = 0; i < n; i++) {
    const name = serviceName(i);
    const serviceAccount = extras
      ? new kplus.ServiceAccount(chart, `${name}-sa`, { metadata: { name, labels: { app: name } }, automountToken: false })
      : kplus.ServiceAccount.fromServiceAccountName(chart, `${name}-sa`, name);
    for (const color of ['blue', 'green']) {
      const labels = { app: name, version: color };
      const deployment = new kplus.Deployment(chart, `${name}-${color}`, {
        metadata: { name: `${name}-${color}`, labels },
        select: false,
        replicas: 2,
        podMetadata: { labels },
        strategy: kplus.DeploymentStrategy.rollingUpdate({
          maxSurge: kplus.PercentOrAbsolute.percent(25),
          maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
        }),
        progressDeadline: Duration.seconds(600),
        minReady: Duration.seconds(5),
        serviceAccount,
        automountServiceAccountToken: false,
        securityContext: podSecurity,
        containers: [
          {
            name,
            image: imageOf(name),
            ports: [{ number: PORT, name: 'http' }],
            readiness: kplus.Probe.fromHttpGet('/health', { port: PORT, periodSeconds: Duration.seconds(5), timeoutSeconds: Duration.seconds(2), failureThreshold: 3 }),
            liveness: kplus.Probe.fromHttpGet('/health', {
              port: PORT,
              initialDelaySeconds: Duration.seconds(15),
              periodSeconds: Duration.seconds(20),
              timeoutSeconds: Duration.seconds(5),
              failureThreshold: 3,
            }),
            resources: {
              cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(1000) },
              memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
            },
            imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
            securityContext: containerSecurity,
          },
        ],
      });
      deployment.select(kplus.LabelSelector.of({ labels }));
      deployment.containers[0].mount('/tmp', kplus.Volume.fromEmptyDir(chart, `${name}-${color}-tmp`, 'tmp', { sizeLimit: Size.mebibytes(64) }));
      const api = ApiObject.of(deployment);
      api.addJsonPatch(JsonPatch.add('/spec/revisionHistoryLimit', 5));
      api.addJsonPatch(
        JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
          { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labels } },
          { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labels } },
        ]),
      );
      if (!extras) continue;
      new ApiObject(chart, `${name}-${color}-pdb`, {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: `${name}-${color}`, labels },
        spec: { minAvailable: 1, selector: { matchLabels: labels } },
      });
    }
    for (const [id, serviceFullName, color] of [['svc', name, 'blue'], ['preview', `${name}-preview`, 'green']]) {
      const service = new kplus.Service(chart, `${name}-${id}`, {
        metadata: { name: serviceFullName, labels: { app: name } },
        type: kplus.ServiceType.CLUSTER_IP,
        ports: [{ name: 'http', port: PORT, targetPort: PORT }],
      });
      service.selectLabel('app', name);
      service.selectLabel('version', color);
    }
    if (!extras) continue;
    const jobLabels = { 'app.kubernetes.io/component': 'smoke-test', 'aiaas.io/smoke-test-of': name };
    const smokeAccount = new kplus.ServiceAccount(chart, `${name}-smoke-sa`, {
      metadata: { name: `${name}-smoke-test`, labels: { 'aiaas.io/smoke-test-of': name } },
      automountToken: false,
    });
    const job = new kplus.Job(chart, `${name}-smoke`, {
      metadata: { name: `${name}-smoke-0123abcd`, labels: jobLabels },
      serviceAccount: smokeAccount,
      podMetadata: { labels: jobLabels },
      backoffLimit: 2,
      activeDeadline: Duration.minutes(5),
      restartPolicy: kplus.RestartPolicy.NEVER,
      automountServiceAccountToken: false,
      securityContext: podSecurity,
      containers: [
        {
          name: 'smoke-test',
          image: 'curlimages/curl:8.10.1',
          args: ['--fail', '--silent', '--show-error', '--max-time', '5', '--retry', '10', '--retry-connrefused', '--retry-delay', '3', `http://${name}-preview:${PORT}/health`],
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          securityContext: containerSecurity,
          resources: {
            cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
            memory: { request: Size.mebibytes(16), limit: Size.mebibytes(32) },
          },
        },
      ],
    });
    job.containers[0].mount('/tmp', kplus.Volume.fromEmptyDir(chart, `${name}-smoke-tmp`, 'tmp', { sizeLimit: Size.mebibytes(64) }));
  }
}

/** BlueGreenService alone, with its defaults, in a bare chart. */
export function buildBlueGreen(app: App, n: number): void {
  const chart = new Chart(app, 'bgs', { namespace: 'bench' });
  for (let i = 0; i < n; i++) {
    const name = serviceName(i);
    new BlueGreenService(chart, name, { name, images: { blue: imageOf(name), green: imageOf(name) }, port: PORT });
  }
}

/** The whole pattern: config parsing, namespace, services, network policies, RBAC. */
export function buildPlatform(app: App, n: number): void {
  const services = Array.from({ length: n }, (_, i) => ({
    name: serviceName(i),
    images: { blue: imageOf(serviceName(i)), green: imageOf(serviceName(i)) },
    port: PORT,
    exposedToIngress: i === 0,
    // A call chain like the runbook's (gateway → orchestrator → tool-service), plus the shared stores.
    egressTo: [...(i + 1 < n ? [serviceName(i + 1)] : []), 'postgres', 'redis'],
  }));
  // Only our n services: the runbook's four reference services are left out.
  new PlatformChart(app, 'platform', {
    config: { referenceServices: false, services, monitoring: { runbookBaseUrl: 'https://git.example.com/ops/blob/main/dist/RUNBOOK.md' } },
  });
}

function residentMb(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (match) {
    return Number(match[1]) / 1024;
  }
  // Not Linux: maxRSS is the peak in KiB; there is no current-RSS twin, so use memoryUsage().
  return field === 'VmHWM' ? process.resourceUsage().maxRSS / 1024 : process.memoryUsage().rss / 1024 / 1024;
}

/** Linux: restart VmHWM from the current RSS, so the peak is the case's own, not module loading's. */
function resetPeakRss(): void {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: the peak includes module loading, the same for every variant
  }
}

function main(): void {
  const [variant, count] = process.argv.slice(2);
  const n = Number(count);
  if (!VARIANTS.includes(variant as Variant) || !Number.isInteger(n) || n < 1) {
    throw new Error(`usage: _synth-case.ts <${VARIANTS.join('|')}> <services>; got '${variant}' '${count}'`);
  }
  const build = {
    'plain': buildPlain,
    'plain-same-output': buildPlainSameOutput,
    'plain-same-deployments': (a: App, count: number) => buildPlainSameOutput(a, count, false),
    'bgs': buildBlueGreen,
    'platform': buildPlatform,
  }[variant as Variant];

  // Start every variant from a collected heap, so none pays for the garbage module loading left behind.
  (globalThis as { gc?: () => void }).gc?.();
  resetPeakRss();
  const baselineMb = residentMb('VmRSS');
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const app = new App({ outdir: '/dev/null' });
  build(app, n);
  const built = performance.now();
  const yaml = app.synthYaml();
  const done = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  const peakMb = residentMb('VmHWM');

  const kinds: Record<string, number> = {};
  for (const match of yaml.matchAll(/^kind: (\S+)$/gm)) {
    kinds[match[1]] = (kinds[match[1]] ?? 0) + 1;
  }
  const result: CaseResult = {
    variant: variant as Variant,
    services: n,
    constructMs: built - start,
    synthMs: done - built,
    totalMs: done - start,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakMb,
    baselineMb,
    yamlBytes: Buffer.byteLength(yaml),
    kinds,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
  }
}
