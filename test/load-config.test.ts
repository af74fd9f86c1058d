import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadPlatformConfig, parsePlatformConfig } from '../src/config/load-config';
import { problemsOf } from './support/config-problems';
import { PlatformConfigInput } from '../src/config/platform-config';
import { synthPlatform } from '../src/synth-platform';
import { REFERENCE_CONFIG_FILE, RUNBOOK_URL, withRunbookUrl } from './support/reference';

/** The runbook URL as a context value (files and context of these tests have none of their own). */
const RUNBOOK_CONTEXT = { 'monitoring.runbookBaseUrl': RUNBOOK_URL };

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-config-'));
}


/** A service added to the reference ones (declared new). */
const service = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  new: true,
  images: { blue: `r.example/${name}:1.0.0`, green: `r.example/${name}:1.0.0` },
  ...extra,
});

describe('platform config', () => {
  test('defaults are the runbook reference platform', () => {
    const config = parsePlatformConfig(withRunbookUrl());
    expect(config.namespace).toBe('aiaas');
    expect(config.services.map((s) => s.name)).toEqual(['api-gateway', 'orchestrator', 'tool-service', 'realtime-service']);
    expect(config.services.every((s) => s.port === 8000 && s.healthPath === '/health')).toBe(true);
    expect(config.postgres).toMatchObject({ statefulSet: 'postgres', replicas: 1 });
    expect(config.dbMaintenance.database).toMatchObject({ host: 'postgres', port: 5432, database: 'aiaas' });
    expect(config.redis.port).toBe(6379);
    expect(config.services.find((s) => s.name === 'realtime-service')!.autoscaling).toMatchObject({ minReplicas: 3 });
  });

  test.each<[string, unknown, RegExp]>([
    ['an unknown colour', { services: [service('api', { activeColor: 'purple' })] }, /^services\[api\]\.activeColor: expected 'blue' or 'green'/],
    ['the old name of idleColorPolicy', { services: [service('api', { idleColor: 'keep' })] }, /^services\[api\]\.idleColor: renamed 'idleColorPolicy'/],
    ['an override without a reason', { services: [service('api', { promotionOverride: { reason: 'x' } })] }, /^services\[api\]\.promotionOverride\.reason: expected a reason of at least 10 characters/],
    ['a name that is not DNS-1123', { services: [service('Api_Gateway')] }, /^services\[Api_Gateway\]\.name: expected a DNS-1123 label/],
    ['negative replicas', { services: [service('api', { replicas: -2 })] }, /^services\[api\]\.replicas: expected 0 or more/],
    ['an image without a tag', { services: [service('api', { images: { blue: 'r.example/api', green: 'r.example/api:1' } })] }, /^services\[api\]\.images\.blue: expected an image with an explicit tag/],
    ['an image with :latest', { services: [service('api', { images: { blue: 'r.example/api:1', green: 'r.example/api:latest' } })] }, /^services\[api\]\.images\.green: expected a pinned tag/],
    ['a duplicate service', { services: [service('api'), service('api')] }, /^services\[api\]\.name: duplicate service 'api'/],
    ['a network rule naming an unknown service', { services: [service('api', { egressTo: ['billing'] })] }, /^services\[api\]\.egressTo\.0: unknown service 'billing'/],
    ['a malformed CIDR', { services: [service('api', { externalEgressCidrs: ['10.0.0.0/33'] })] }, /^services\[api\]\.externalEgressCidrs\.0: expected a CIDR block/],
    ['an unknown secret', { services: [service('api', { secretEnv: [{ env: 'X', secret: 'vault', key: 'k' }] })] }, /^services\[api\]\.secretEnv\.0\.secret: unknown secret 'vault'/],
    ['an unknown field', { namespce: 'x' }, /^\(root\): unknown field\(s\) 'namespce'/],
    ['a low UID', { podSecurity: { runAsUser: 1000 } }, /^podSecurity\.runAsUser: expected a non-root UID of at least 10000/],
  ])('fails if the config has %s, naming the field', (_, input, message) => {
    const problems = problemsOf(input);
    expect(problems.some((p) => message.test(p))).toBe(true);
  });

  test('a YAML file patches default services by name and adds new ones', () => {
    const file = path.join(tempDir(), 'platform.yaml');
    fs.writeFileSync(
      file,
      ['namespace: aiaas-staging', 'services:', '  - name: orchestrator', '    activeColor: green', '    replicas: 4', '  - name: billing', '    new: true', '    images: { blue: "r.example/billing:2.0.0", green: "r.example/billing:2.0.0" }'].join('\n'),
    );
    const config = loadPlatformConfig({ file, context: RUNBOOK_CONTEXT });
    expect(config.namespace).toBe('aiaas-staging');
    const orchestrator = config.services.find((s) => s.name === 'orchestrator')!;
    expect(orchestrator).toMatchObject({ activeColor: 'green', replicas: 4, egressTo: ['tool-service', 'postgres', 'redis'] });
    expect(config.services.map((s) => s.name)).toContain('billing');
  });

  test('context values override the file, addressing services by name', () => {
    const file = path.join(tempDir(), 'platform.yaml');
    fs.writeFileSync(file, 'services:\n  - name: api-gateway\n    activeColor: green\n');
    const config = loadPlatformConfig({
      file,
      context: { ...RUNBOOK_CONTEXT, 'services.api-gateway.activeColor': 'blue', 'services.orchestrator.replicas': '3', 'toggles.fallbackMode': 'true' },
    });
    expect(config.services.find((s) => s.name === 'api-gateway')!.activeColor).toBe('blue');
    expect(config.services.find((s) => s.name === 'orchestrator')!.replicas).toBe(3);
    expect(config.toggles.fallbackMode).toBe(true);
  });

  test('fails if the YAML file has a duplicate key or is not a mapping', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'dup.yaml'), 'namespace: a\nnamespace: b\n');
    fs.writeFileSync(path.join(dir, 'list.yaml'), '- a\n');
    expect(() => loadPlatformConfig({ file: path.join(dir, 'dup.yaml') })).toThrow(/Map keys must be unique/);
    expect(() => loadPlatformConfig({ file: path.join(dir, 'list.yaml') })).toThrow(/expected a YAML mapping/);
    expect(() => loadPlatformConfig({ file: path.join(dir, 'missing.yaml') })).toThrow(/cannot read config file/);
  });

  test('fails if a context key is not a field path', () => {
    expect(() => loadPlatformConfig({ context: { 'services.api-gateway': 'x' } })).toThrow(/expected services.<service name>.<field>/);
    expect(() => loadPlatformConfig({ context: { 'toggles..x': '1' } })).toThrow(/expected a dotted path/);
  });

  test('an invalid config writes no manifests and leaves the previous output intact', () => {
    // GIVEN a previous good synth
    const outdir = path.join(tempDir(), 'dist');
    synthPlatform({ outdir, file: REFERENCE_CONFIG_FILE });
    const before = fs.readFileSync(path.join(outdir, 'aiaas.k8s.yaml'), 'utf8');
    // WHEN synth runs with a bad config
    const bad: PlatformConfigInput = { services: [service('api', { replicas: -1 })] as never };
    const file = path.join(path.dirname(outdir), 'bad.yaml');
    fs.writeFileSync(file, JSON.stringify(bad));
    expect(() => synthPlatform({ outdir, file })).toThrow(/services\[api\]\.replicas: expected 0 or more/);
    // THEN nothing changed and no staging directory is left behind
    expect(fs.readFileSync(path.join(outdir, 'aiaas.k8s.yaml'), 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(outdir)).sort()).toEqual(['bad.yaml', 'dist']);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['an error ratio above 1', { 'monitoring.thresholds.errorRatio': '1.5' }, /monitoring\.thresholds\.errorRatio/],
    ['a negative duration', { 'monitoring.for.errorRatio': '-5m' }, /monitoring\.for\.errorRatio/],
    ['a malformed duration', { 'monitoring.for.memoryRatio': '5 minutes' }, /monitoring\.for\.memoryRatio/],
    ['an unknown service in a per-service override', { 'monitoring.perService.billing.errorRatio': '0.1' }, /monitoring\.perService\.billing: unknown service 'billing'/],
    ['a cron schedule with four fields', { 'dbMaintenance.tasks.backup.schedule': '0 2 * *' }, /dbMaintenance\.tasks\.backup\.schedule/],
  ])('synth fails on %s, naming the field, and writes nothing', (_, context, message) => {
    const outdir = path.join(tempDir(), 'dist');
    expect(() => synthPlatform({ outdir, context })).toThrow(message);
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test('an invalid config into an empty directory creates nothing', () => {
    const outdir = path.join(tempDir(), 'dist');
    expect(() => synthPlatform({ outdir, context: { 'services.api-gateway.activeColor': 'purple' } })).toThrow(/activeColor/);
    expect(fs.existsSync(outdir)).toBe(false);
  });
});

describe('config that catches mistakes', () => {
  const images = { blue: 'r.example/api:1.0.0', green: 'r.example/api:1.0.0' };

  test('fails if a misspelled service carries images, instead of adding a fifth service', () => {
    expect(problemsOf({ services: [{ name: 'api-gatway', images }] })).toEqual([
      "services[api-gatway]: unknown service 'api-gatway' (did you mean 'api-gateway'?); expected a reference service (api-gateway, orchestrator, tool-service, realtime-service) or, for an added service, 'new: true' on its entry",
    ]);
  });

  test('fails the same way for a misspelled service in a context value (not images: Required)', () => {
    const attempt = () => loadPlatformConfig({ context: { 'services.api-gatway.images.blue': 'r.example/api:2.0.0' } });
    expect(attempt).toThrow(/services\[api-gatway\]: unknown service 'api-gatway' \(did you mean 'api-gateway'\?\)/);
    expect(attempt).not.toThrow(/Required/);
  });

  test('a service declared new is added, from a file entry or from context values', () => {
    expect(parsePlatformConfig(withRunbookUrl({ services: [{ name: 'billing', new: true, images }] })).services.map((s) => s.name)).toContain('billing');
    const config = loadPlatformConfig({
      context: { ...RUNBOOK_CONTEXT, 'services.billing.new': 'true', 'services.billing.images.blue': images.blue, 'services.billing.images.green': images.green },
    });
    expect(config.services.map((s) => s.name)).toEqual(['api-gateway', 'orchestrator', 'tool-service', 'realtime-service', 'billing']);
  });

  test('fails if a reference service is declared new (it would be patched, not added)', () => {
    expect(problemsOf({ services: [{ name: 'orchestrator', new: true }] })).toEqual([
      "services[orchestrator].new: true, but 'orchestrator' is a reference service (entries patch it by name); expected no 'new' field",
    ]);
  });

  test('a name far from every reference service gets no suggestion', () => {
    const [problem] = problemsOf({ services: [{ name: 'billing', images }] });
    expect(problem).toMatch(/^services\[billing\]: unknown service 'billing'; expected a reference service/);
  });

  test.each<[string, unknown, string]>([
    ['a field missing its unit', { monitoring: { thresholds: { latencyP95: 3 } } }, "monitoring.thresholds: unknown field(s) 'latencyP95' (did you mean 'latencyP95Seconds'?)"],
    ['a kebab-case task', { dbMaintenance: { tasks: { 'slow-queries': {} } } }, "dbMaintenance.tasks: unknown field(s) 'slow-queries' (did you mean 'slowQueries'?)"],
    ['a typo at the root', { namespce: 'x' }, "(root): unknown field(s) 'namespce' (did you mean 'namespace'?)"],
    ['a typo in a service entry', { services: [{ name: 'orchestrator', replica: 3 }] }, "services[orchestrator]: unknown field(s) 'replica' (did you mean 'replicas'?)"],
    ['a field like no other', { toggles: { colour: 'x' } }, "toggles: unknown field(s) 'colour'"],
  ])('names the closest field for %s', (_, input, problem) => {
    expect(problemsOf(input)).toContain(problem);
  });

  test('one run names every problem: a type error, an unknown field, an unknown service and a whole-config check', () => {
    // GIVEN a wrong type and a wrong enum value, which stop zod before the whole-config checks
    const input = {
      toggles: { fallbackMode: 'yes-please' },
      monitoring: { thresholds: { latencyP95: 3 } },
      services: [
        { name: 'api-gatway', images },
        { name: 'orchestrator', activeColor: 'purple', egressTo: ['tool-service', 'billing'] },
      ],
    };
    // WHEN / THEN
    expect(problemsOf(input)).toEqual([
      "services[api-gatway]: unknown service 'api-gatway' (did you mean 'api-gateway'?); expected a reference service (api-gateway, orchestrator, tool-service, realtime-service) or, for an added service, 'new: true' on its entry",
      "services[orchestrator].activeColor: expected 'blue' or 'green'",
      'toggles.fallbackMode: expected boolean, got string "yes-please"',
      "monitoring.thresholds: unknown field(s) 'latencyP95' (did you mean 'latencyP95Seconds'?)",
      "services[orchestrator].egressTo.1: unknown service 'billing'; expected one of api-gateway, orchestrator, tool-service, realtime-service, postgres, redis, schema-registry, feature-flags",
    ]);
  });

  test('the whole-config checks run past a bad field inside the service they check, and past a missing runbook URL', () => {
    // GIVEN a duplicate service, one of whose copies has a wrong type
    const problems = problemsOf({ referenceServices: false, services: [service('api', { replicas: 'two' }), service('api')] });
    // THEN the wrong type and the duplicate, in one run
    expect(problems).toEqual([
      'services[api].replicas: expected number, got string "two"',
      "services[api].name: duplicate service 'api' (defined twice); expected unique service names",
    ]);
    // AND a config without runbook URL and with a bad field names both
    expect(() => parsePlatformConfig({ namespace: 7 })).toThrow(/namespace: expected string, got number 7\n\s+- monitoring\.runbookBaseUrl: required/);
  });

  test('does not suggest a refused old name (idleColor, one letter away) for a typo', () => {
    expect(problemsOf({ services: [{ name: 'orchestrator', idleColour: 'keep' }] })).toEqual(["services[orchestrator]: unknown field(s) 'idleColour'"]);
  });

  test('reports every problem in one run: services, per-service overrides, fields', () => {
    const problems = problemsOf({
      namespce: 'x',
      services: [{ name: 'api-gatway', images }, { name: 'orchestrator', replicas: -1 }],
      monitoring: { perService: { 'tool-servce': { latencyP95: 3 } }, thresholds: { errorRatio: 2 } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^services\[api-gatway\]: unknown service 'api-gatway' \(did you mean 'api-gateway'\?\)/),
        expect.stringMatching(/^monitoring\.perService\.tool-servce: unknown service 'tool-servce' \(did you mean 'tool-service'\?\); expected one of api-gateway, /),
        "monitoring.perService.tool-servce: unknown field(s) 'latencyP95' (did you mean 'latencyP95Seconds'?)",
        "(root): unknown field(s) 'namespce' (did you mean 'namespace'?)",
        expect.stringMatching(/^services\[orchestrator\]\.replicas: expected 0 or more/),
        expect.stringMatching(/^monitoring\.thresholds\.errorRatio: expected a ratio in \(0, 1\]/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  test('fails if the active colour has 0 replicas, naming the field and the colour', () => {
    expect(problemsOf({ services: [{ name: 'orchestrator', replicas: 0, activeColor: 'green' }] })).toEqual([
      'services[orchestrator].replicas: the active colour green would have 0 replicas (replicas: 0), so no pod would serve traffic. Next safe step: set replicas to at least 1. An intended shutdown needs promotionOverride.reason',
    ]);
  });

  test('0 replicas pass under autoscaling (the HPA owns them) or with a recorded override', () => {
    const autoscaled = parsePlatformConfig(withRunbookUrl({ services: [{ name: 'realtime-service', replicas: 0 }] }));
    expect(autoscaled.services.find((s) => s.name === 'realtime-service')!.replicas).toBe(0);
    const parked = parsePlatformConfig(withRunbookUrl({ services: [{ name: 'orchestrator', replicas: 0, promotionOverride: { reason: 'INC-7: parked during the migration' } }] }));
    expect(parked.services.find((s) => s.name === 'orchestrator')!.replicas).toBe(0);
  });
});

describe('reference services', () => {
  test('patching by name works the same for an object config as for a file', () => {
    const config = parsePlatformConfig(withRunbookUrl({ services: [{ name: 'orchestrator', activeColor: 'green' }] }));
    expect(config.services).toHaveLength(4);
    expect(config.services.find((s) => s.name === 'orchestrator')!.activeColor).toBe('green');
  });

  test('referenceServices: false keeps only the listed services', () => {
    const config = parsePlatformConfig(withRunbookUrl({ referenceServices: false, services: [service('billing')] }));
    expect(config.services.map((s) => s.name)).toEqual(['billing']);
    expect(parsePlatformConfig(withRunbookUrl({ referenceServices: false })).services).toEqual([]);
  });

  test('a parsed config parses to itself', () => {
    const config = parsePlatformConfig(withRunbookUrl({ services: [{ name: 'orchestrator', replicas: 5 }] }));
    expect(parsePlatformConfig(config)).toEqual(config);
  });
});
