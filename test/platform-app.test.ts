// A consumer's own cdk8s app, built from the package's public entry: `new PlatformApp()`,
// a PlatformChart, `app.synth()`. It must write RUNBOOK.md and alertmanager.yaml beside
// the manifests, consistent with them, and nothing when the config is wrong.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart, YamlOutputType } from 'cdk8s';
import * as YAML from 'yaml';
import { ConfigError, PlatformApp, PlatformChart, PlatformConfigInput, headingAnchor } from '../src';
import { RUNBOOK_URL } from './support/reference';
import { K8sObject } from './support/synth';

const CONSUMER_CONFIG: PlatformConfigInput = {
  namespace: 'shop',
  monitoring: { runbookBaseUrl: RUNBOOK_URL },
  services: [{ name: 'api-gateway', activeColor: 'green' }],
};

function outdir(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-consumer-')), 'dist');
}

/** The consumer's program: what README "Quick start" shows. */
function consumerSynth(dir: string, config: PlatformConfigInput = CONSUMER_CONFIG): { app: PlatformApp; chart: PlatformChart; log: string[] } {
  const log: string[] = [];
  const app = new PlatformApp({ outdir: dir, log: (line) => log.push(line) });
  const chart = new PlatformChart(app, 'shop', { config });
  app.synth();
  return { app, chart, log };
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
const objectsOf = (text: string): K8sObject[] => YAML.parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJSON());

describe('PlatformApp: a consumer app gets the whole platform', () => {
  const dir = outdir();
  const { chart, log } = consumerSynth(dir);
  const manifest = objectsOf(read(dir, 'shop.k8s.yaml'));
  const retained = objectsOf(read(dir, 'shop-retained.k8s.yaml'));
  const runbook = read(dir, 'RUNBOOK.md');
  const alertmanager = YAML.parse(read(dir, 'alertmanager.yaml'), { version: '1.1' });

  test('writes the manifests, the retained objects, RUNBOOK.md and alertmanager.yaml side by side', () => {
    expect(fs.readdirSync(dir).sort()).toEqual(['RUNBOOK.md', 'alertmanager.yaml', 'shop-retained.k8s.yaml', 'shop.k8s.yaml']);
    expect(retained.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining(['Namespace/shop']));
    expect(manifest.some((o) => o.kind === 'Namespace')).toBe(false);
  });

  test('the files describe the same platform: namespace, services, alerts', () => {
    // Alertmanager routes the consumer's namespace, the RUNBOOK's commands act on it.
    expect(alertmanager.route.routes[0].matchers).toEqual(['namespace="shop"']);
    expect(runbook).toContain('-n shop');
    expect(runbook).not.toMatch(/-n aiaas(\s|$)/m);
    expect(manifest.find((o) => o.kind === 'Service' && o.metadata.name === 'api-gateway')!.spec.selector.version).toBe('green');
    // Every alert of the PrometheusRule has its RUNBOOK section, and its runbook_url points there.
    const rules = manifest.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === 'aiaas-alerts')!;
    const alerts = rules.spec.groups.flatMap((g: { rules: { alert?: string; annotations?: Record<string, string> }[] }) => g.rules.filter((r) => r.alert));
    expect(alerts.length).toBeGreaterThan(10);
    const anchors = [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) => headingAnchor(m[1]));
    for (const alert of alerts) {
      expect(alert.annotations!.runbook_url).toBe(`${RUNBOOK_URL}#${headingAnchor(alert.alert!)}`);
      expect(anchors).toContain(headingAnchor(alert.alert!));
    }
    expect(chart.extraFiles()['RUNBOOK.md']).toBe(runbook);
  });

  test('says where the alerts link to, so RUNBOOK.md is published there', () => {
    expect(log).toEqual([`shop: every alert's runbook_url is ${RUNBOOK_URL}#<alert> (monitoring.runbookBaseUrl); publish ${path.join(dir, 'RUNBOOK.md')} there`]);
  });

  test('every YAML file reads the same under YAML 1.1 (PyYAML, Go yaml.v2): `=` and the like are quoted', () => {
    const sorted = (objects: unknown[]) => objects.map((o) => JSON.stringify(o)).sort();
    expect(sorted([...manifest, ...retained])).toEqual(sorted(chart.toJson()));
    const text = read(dir, 'shop.k8s.yaml');
    expect(text).toContain("matchType: '='");
    for (const file of ['shop.k8s.yaml', 'shop-retained.k8s.yaml', 'alertmanager.yaml']) {
      // A plain `=` (YAML 1.1's value type) or an unquoted yes/no/on/off would be misread.
      expect(read(dir, file)).not.toMatch(/(:|^\s*-)\s+(=|yes|no|on|off|y|n)\s*$/im);
    }
  });

  test('other charts of the app are written as a plain App writes them', () => {
    const other = outdir();
    const app = new PlatformApp({ outdir: other, log: () => undefined });
    new PlatformChart(app, 'shop', { config: CONSUMER_CONFIG });
    const extra = new Chart(app, 'extra');
    new ApiObject(extra, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    app.synth();
    expect(fs.readdirSync(other).sort()).toEqual(['RUNBOOK.md', 'alertmanager.yaml', 'extra.k8s.yaml', 'shop-retained.k8s.yaml', 'shop.k8s.yaml']);
  });

  test('two platforms in one app get a runbook and an Alertmanager file each', () => {
    const both = outdir();
    const app = new PlatformApp({ outdir: both, log: () => undefined });
    new PlatformChart(app, 'staging', { config: { ...CONSUMER_CONFIG, namespace: 'shop-staging' } });
    new PlatformChart(app, 'prod', { config: CONSUMER_CONFIG });
    app.synth();
    expect(fs.readdirSync(both).sort()).toEqual([
      'RUNBOOK-prod.md',
      'RUNBOOK-staging.md',
      'alertmanager-prod.yaml',
      'alertmanager-staging.yaml',
      'prod-retained.k8s.yaml',
      'prod.k8s.yaml',
      'staging-retained.k8s.yaml',
      'staging.k8s.yaml',
    ]);
    expect(read(both, 'RUNBOOK-staging.md')).toContain('-n shop-staging');
  });
});

describe('PlatformApp: nothing half-written', () => {
  test('fails without monitoring.runbookBaseUrl, naming the field, and writes nothing', () => {
    const dir = outdir();
    const attempt = () => consumerSynth(dir, { namespace: 'shop' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/monitoring\.runbookBaseUrl: required: the URL where this platform's RUNBOOK\.md is published/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('an invalid config writes nothing', () => {
    const dir = outdir();
    expect(() => consumerSynth(dir, { ...CONSUMER_CONFIG, services: [{ name: 'api-gateway', activeColor: 'purple' as never }] })).toThrow(
      /services\[api-gateway\]\.activeColor: expected 'blue' or 'green'/,
    );
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('fails if the output type would not give each platform its own file', () => {
    expect(() => new PlatformApp({ yamlOutputType: YamlOutputType.FILE_PER_APP })).toThrow(
      /PlatformApp: yamlOutputType FILE_PER_APP is not supported; expected FILE_PER_CHART/,
    );
  });

  test('a plain App still synthesizes the manifests only (extraFiles() gives the rest)', () => {
    const dir = outdir();
    const app = new App({ outdir: dir });
    new PlatformChart(app, 'shop', { config: CONSUMER_CONFIG });
    app.synth();
    expect(fs.readdirSync(dir)).toEqual(['shop.k8s.yaml']);
  });
});
