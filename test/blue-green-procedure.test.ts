// README "Blue-green procedure" run step by step from the committed dist/: each
// `platform.yaml` block of the README is written, synthesized over the previous
// output, and its dist/ diff checked; each unsafe step is refused with dist/ unchanged.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { synthPlatform } from '../src/synth-platform';
import { REFERENCE_CONFIG_FILE } from './support/reference';
import { diffObjects, find, K8sObject } from './support/synth';

const repo = path.join(__dirname, '..');

/** The `# platform.yaml, <kind> <id>` blocks of a README section, by id. */
function readmeSteps(section: string, kind = 'step'): Record<string, string> {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf(`## ${section}`);
  const body = readme.slice(start, readme.indexOf('\n## ', start + 3));
  const steps: Record<string, string> = {};
  for (const match of body.matchAll(/^( *)```yaml\n([\s\S]*?)```/gm)) {
    // Blocks inside a numbered list are indented like the fence.
    const lines = match[2].split('\n').map((l) => l.slice(match[1].length));
    const id = new RegExp(`^# platform\\.yaml, ${kind} (\\S+)$`).exec(lines[0])?.[1];
    if (id) {
      steps[id] = lines.slice(1).join('\n');
    }
  }
  return steps;
}

/** A GitOps checkout: the committed dist/ and a config file, synthesized step by step. */
class Checkout {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-procedure-'));
  readonly dist = path.join(this.dir, 'dist');
  readonly config = path.join(this.dir, 'platform.yaml');

  constructor(from: 'committed' | 'empty' = 'committed') {
    if (from === 'committed') {
      fs.cpSync(path.join(repo, 'dist'), this.dist, { recursive: true });
    }
  }

  objects(): K8sObject[] {
    if (!fs.existsSync(path.join(this.dist, 'aiaas.k8s.yaml'))) {
      return [];
    }
    return YAML.parseAllDocuments(fs.readFileSync(path.join(this.dist, 'aiaas.k8s.yaml'), 'utf8')).map((d) => d.toJSON());
  }

  files(): Record<string, string> {
    return Object.fromEntries(fs.readdirSync(this.dist).map((f) => [f, fs.readFileSync(path.join(this.dist, f), 'utf8')]));
  }

  /** The step's block beside the rest of the committed platform.yaml (the runbook URL), as the README says. */
  private write(step: string): void {
    fs.writeFileSync(this.config, `${fs.readFileSync(REFERENCE_CONFIG_FILE, 'utf8')}${step}`);
  }

  /** Writes the config and synthesizes; returns the manifest diff against the previous output. */
  apply(config: string): string[] {
    const before = this.objects();
    this.write(config);
    synthPlatform({ file: this.config, outdir: this.dist });
    return diffObjects(before, this.objects());
  }

  /** Expects the guard to refuse the config, leaving every file of dist/ as it was. */
  refuses(config: string, message: RegExp): void {
    const before = this.files();
    this.write(config);
    expect(() => synthPlatform({ file: this.config, outdir: this.dist })).toThrow(message);
    expect(this.files()).toEqual(before);
  }
}

const revisionOf = (objects: K8sObject[], deployment: string): string =>
  find(objects, 'Deployment', deployment).spec.template.metadata.labels['aiaas.io/revision'];

describe('README "Blue-green procedure", plain engine', () => {
  const steps = readmeSteps('Blue-green procedure');
  const checkout = new Checkout();
  const committed = checkout.objects();
  let afterDeploy: Record<string, string>;

  test('the README has every step', () => {
    expect(Object.keys(steps)).toEqual(['deploy-to-idle', 'switch', 'clean-up', 'roll-back-scale-up', 'roll-back-switch']);
  });

  test('a new image and the switch in one change is refused (the new colour never ran)', () => {
    checkout.refuses(
      `${steps['deploy-to-idle']}    activeColor: green\n`,
      /services\[api-gateway\]: activeColor blue → green refused: .* green ran a different pod template \(spec\.template\.spec\.containers\[0\]\.image: "ghcr\.io\/aiaas\/api-gateway:1\.0\.0" → "ghcr\.io\/aiaas\/api-gateway:1\.1\.0"\)/,
    );
  });

  test('1. deploy to idle: green rolls, the preview and the smoke Job follow its new revision', () => {
    const oldJob = `api-gateway-smoke-${revisionOf(committed, 'api-gateway-green')}`;
    const changes = checkout.apply(steps['deploy-to-idle']);
    const objects = checkout.objects();
    const green = revisionOf(objects, 'api-gateway-green');
    expect(changes).toEqual([
      `+Job/api-gateway-smoke-${green}`,
      `-Job/${oldJob}`,
      'Deployment/api-gateway-green:/spec/template/metadata/labels/aiaas.io/revision',
      'Deployment/api-gateway-green:/spec/template/spec/containers/0/image',
      'Service/api-gateway-preview:/spec/selector/aiaas.io/revision',
    ]);
    expect(find(objects, 'Service', 'api-gateway-preview').spec.selector['aiaas.io/revision']).toBe(green);
    afterDeploy = checkout.files();
  });

  test('2. smoke test: the runbook waits on the exact Job of the new revision', () => {
    const job = `api-gateway-smoke-${revisionOf(checkout.objects(), 'api-gateway-green')}`;
    expect(checkout.files()['RUNBOOK.md']).toContain(`kubectl -n aiaas wait --for=condition=complete job/${job} --timeout=5m`);
    expect(find(checkout.objects(), 'Job', job).spec.ttlSecondsAfterFinished).toBe(86400);
  });

  test('the switch together with the clean-up is refused (blue serves traffic)', () => {
    checkout.refuses(steps['clean-up'], /services\[api-gateway\]: activeColor blue → green refused: blue, which serves traffic now, would be scaled to 0 in the same change/);
  });

  test('3. switch: only selectors and the smoke Job change, no pod is created or deleted', () => {
    const changes = checkout.apply(steps.switch);
    const objects = checkout.objects();
    const blue = revisionOf(objects, 'api-gateway-blue');
    expect(changes).toEqual([
      `+Job/api-gateway-smoke-${blue}`,
      `-Job/api-gateway-smoke-${revisionOf(objects, 'api-gateway-green')}`,
      'Service/api-gateway-preview:/spec/selector/aiaas.io/revision',
      'Service/api-gateway-preview:/spec/selector/version',
      'Service/api-gateway:/spec/selector/version',
    ]);
    expect(find(objects, 'Service', 'api-gateway').spec.selector).toEqual({ app: 'api-gateway', version: 'green' });
  });

  test('4. watch: rolling back at once restores step 1 byte for byte', () => {
    const rollback = new Checkout();
    rollback.apply(steps['deploy-to-idle']);
    rollback.apply(steps.switch);
    rollback.apply(steps['deploy-to-idle']);
    expect(rollback.files()).toEqual(afterDeploy);
  });

  test('5. clean up: blue to 0 replicas, its PDB, the smoke Job and its ServiceAccount go', () => {
    const changes = checkout.apply(steps['clean-up']);
    expect(changes).toEqual([
      `-Job/api-gateway-smoke-${revisionOf(checkout.objects(), 'api-gateway-blue')}`,
      '-PodDisruptionBudget/api-gateway-blue',
      '-ServiceAccount/api-gateway-smoke-test',
      'Deployment/api-gateway-blue:/spec/replicas',
    ]);
    expect(find(checkout.objects(), 'Deployment', 'api-gateway-blue').spec.replicas).toBe(0);
  });

  test('6. rolling back in one change after the clean-up is refused (blue is scaled to 0)', () => {
    checkout.refuses(steps['roll-back-switch'], /services\[api-gateway\]: activeColor green → blue refused: .* blue was scaled to 0/);
  });

  test('6. roll back: scale blue up, then switch; the output is step 1 again', () => {
    expect(checkout.apply(steps['roll-back-scale-up'])).toEqual([
      `+Job/api-gateway-smoke-${revisionOf(checkout.objects(), 'api-gateway-blue')}`,
      '+PodDisruptionBudget/api-gateway-blue',
      '+ServiceAccount/api-gateway-smoke-test',
      'Deployment/api-gateway-blue:/spec/replicas',
    ]);
    checkout.apply(steps['roll-back-switch']);
    expect(checkout.files()).toEqual(afterDeploy);
  });
});

describe('README "Blue-green procedure", engine argo-rollouts', () => {
  const steps = readmeSteps('Blue-green procedure', 'argo step');
  const baseline = 'blueGreen: { engine: argo-rollouts }\n';

  test('the committed platform cannot move to argo-rollouts in one unguarded apply', () => {
    new Checkout().refuses(baseline, /services\[api-gateway\]: engine deployments → argo-rollouts would delete the Deployments serving traffic/);
  });

  test('a release is one change of the Rollout\'s pod template; reverting the config restores the output', () => {
    // GIVEN a platform first synthesized with the argo engine
    const checkout = new Checkout('empty');
    checkout.apply(baseline);
    const before = checkout.files();
    // WHEN
    const changes = checkout.apply(steps.release);
    // THEN Argo does the rest in the cluster: preview, analysis, promotion
    expect(changes).toEqual(['Rollout/api-gateway:/spec/template/spec/containers/0/image']);
    expect(find(checkout.objects(), 'Rollout', 'api-gateway').spec.template.spec.containers[0].image).toBe('ghcr.io/aiaas/api-gateway:1.1.0');
    checkout.apply(baseline);
    expect(checkout.files()).toEqual(before);
  });
});
