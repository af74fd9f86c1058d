import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, JsonPatch, Testing } from 'cdk8s';
import { BlueGreenService, BlueGreenServiceProps } from '../src/constructs/blue-green-service';
import { PlatformChart } from '../src/constructs/platform-chart';
import {
  PROMOTION_OVERRIDE_ANNOTATION,
  PreviousOutput,
  PromotionRefusedError,
  PromotionRule,
  checkPromotion,
} from '../src/constructs/promotion-guard';
import { find, K8sObject } from './support/synth';
import { withRunbookUrl } from './support/reference';

const v1 = 'registry.example/api:1.0.0';
const v2 = 'registry.example/api:2.0.0';
const base: BlueGreenServiceProps = { name: 'api', images: { blue: v1, green: v1 } };

function synth(props: Partial<BlueGreenServiceProps> = {}, previous?: K8sObject[]): K8sObject[] {
  const chart = Testing.chart();
  new BlueGreenService(chart, 'Api', { ...base, ...props, previousOutput: previous && PreviousOutput.fromObjects(previous, 'dist/test.k8s.yaml') });
  return Testing.synth(chart) as K8sObject[];
}

function refusal(props: Partial<BlueGreenServiceProps>, previous: K8sObject[]): PromotionRefusedError {
  try {
    synth(props, previous);
  } catch (error) {
    if (error instanceof PromotionRefusedError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected the promotion guard to refuse the change');
}

describe('promotion guard (BlueGreenService)', () => {
  // Blue serves v1; green runs v2 and has passed its smoke test.
  const deployedToIdle = synth({ images: { blue: v1, green: v2 } });

  test('allows a switch to a colour that ran, unchanged, in the previous output', () => {
    // WHEN
    const switched = synth({ images: { blue: v1, green: v2 }, activeColor: 'green' }, deployedToIdle);
    // THEN
    expect(find(switched, 'Service', 'api').spec.selector.version).toBe('green');
    expect(find(switched, 'Service', 'api').metadata.annotations).toBeUndefined();
  });

  test('allows anything without a previous output (first synth)', () => {
    expect(() => synth({ images: { blue: v1, green: v2 }, activeColor: 'green', idleColorPolicy: 'remove' })).not.toThrow();
    expect(checkPromotion(PreviousOutput.fromObjects([]), {} as never)).toEqual([]);
  });

  test('fails if the new active colour ran a different pod template (the README step-3 trap: new image and switch in one change)', () => {
    // GIVEN blue and green both run v1
    const previous = synth();
    // WHEN green gets v2 and traffic in the same change
    const error = refusal({ images: { blue: v1, green: v2 }, activeColor: 'green' }, previous);
    // THEN
    expect(error.problems.map((p) => p.rule)).toEqual([PromotionRule.SWITCH_TO_UNPROVEN]);
    expect(error.message).toContain('services[api]: activeColor blue → green refused: in dist/test.k8s.yaml green ran a different pod template');
    expect(error.message).toContain(`spec.template.spec.containers[0].image: "${v1}" → "${v2}"`);
    expect(error.message).toContain('Next safe step: keep activeColor: blue with idleColorPolicy: keep and the new green settings');
    expect(error.message).toContain('promotionOverride.reason');
  });

  test('fails if the new active colour was absent or scaled to 0 in the previous output', () => {
    const removed = synth({ idleColorPolicy: 'remove' });
    expect(refusal({ activeColor: 'green' }, removed).message).toContain('green was absent');
    const scaledDown = synth({ idleColorPolicy: 'scale-to-zero' });
    expect(refusal({ activeColor: 'green' }, scaledDown).message).toContain('green was scaled to 0');
  });

  test('fails if the colour serving traffic is scaled down or removed in the same change as the switch', () => {
    for (const idleColorPolicy of ['scale-to-zero', 'remove'] as const) {
      const error = refusal({ images: { blue: v1, green: v2 }, activeColor: 'green', idleColorPolicy }, deployedToIdle);
      expect(error.problems.map((p) => p.rule)).toEqual([PromotionRule.SCALE_DOWN_WHILE_SWITCHING]);
      expect(error.message).toContain(`blue, which serves traffic now, would be ${idleColorPolicy === 'remove' ? 'removed' : 'scaled to 0'} in the same change`);
      expect(error.message).toContain('Next safe step: switch with idleColorPolicy: keep, watch green for 10 minutes, then clean up blue in a later change');
    }
  });

  test('allows the clean-up once the switch is the previous output', () => {
    const switched = synth({ images: { blue: v1, green: v2 }, activeColor: 'green' }, deployedToIdle);
    const cleaned = synth({ images: { blue: v1, green: v2 }, activeColor: 'green', idleColorPolicy: 'scale-to-zero' }, switched);
    expect(find(cleaned, 'Deployment', 'api-blue').spec.replicas).toBe(0);
  });

  test('fails if the active colour has 0 replicas', () => {
    const error = refusal({ replicas: 0 }, synth());
    expect(error.problems.map((p) => p.rule)).toEqual([PromotionRule.ACTIVE_WITHOUT_REPLICAS]);
    expect(error.message).toContain('services[api]: the active colour blue would have 0 replicas');
  });

  test('an autoscaled colour (replicas left to the HPA) counts as running', () => {
    const autoscaling = { minReplicas: 2, maxReplicas: 4 };
    const previous = synth({ images: { blue: v1, green: v2 }, autoscaling });
    expect(() => synth({ images: { blue: v1, green: v2 }, autoscaling, activeColor: 'green' }, previous)).not.toThrow();
  });

  test('the emergency override builds the change and records the reason and the rules overridden on the stable Service', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const service = new BlueGreenService(chart, 'Api', {
      ...base,
      images: { blue: v1, green: v2 },
      activeColor: 'green',
      idleColorPolicy: 'remove',
      previousOutput: PreviousOutput.fromObjects(synth()),
      promotionOverride: { reason: 'INC-42: blue leaks memory, on-call lead approved' },
    });
    // THEN
    const objects = Testing.synth(chart) as K8sObject[];
    expect(service.overriddenRules).toEqual([PromotionRule.SWITCH_TO_UNPROVEN, PromotionRule.SCALE_DOWN_WHILE_SWITCHING]);
    expect(find(objects, 'Service', 'api').metadata.annotations).toEqual({
      [PROMOTION_OVERRIDE_ANNOTATION]: 'INC-42: blue leaks memory, on-call lead approved (overrode: switch-to-unproven-color, scale-down-while-switching)',
    });
  });

  test('fails if the override has no reason', () => {
    expect(() => synth({ promotionOverride: { reason: ' ' } })).toThrow(/'promotionOverride.reason' \(''\) must say why/);
  });

  test('fails at synth if the pod template is changed after the revision was computed', () => {
    const chart = Testing.chart();
    const service = new BlueGreenService(chart, 'Api', base);
    ApiObject.of(service.deployments.blue!).addJsonPatch(JsonPatch.add('/spec/template/spec/hostname', 'x'));
    expect(() => Testing.synth(chart)).toThrow(/Deployment api-blue: the pod template changed after BlueGreenService computed its revision/);
  });
});

describe('PreviousOutput', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-previous-'));

  test('a missing file is an empty output', () => {
    const previous = PreviousOutput.fromFile(path.join(dir, 'none.k8s.yaml'));
    expect(previous.isEmpty).toBe(true);
  });

  test('reads every document of a manifest file and finds objects by kind, name and namespace', () => {
    const file = path.join(dir, 'two.k8s.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: b}\n');
    const previous = PreviousOutput.fromFile(file);
    expect(previous.objects).toHaveLength(2);
    expect(previous.find('Service', 'api', 'b')?.metadata.namespace).toBe('b');
    expect(previous.find('Deployment', 'api')).toBeUndefined();
  });

  test('fails on a file that is not YAML, naming it', () => {
    const file = path.join(dir, 'bad.k8s.yaml');
    fs.writeFileSync(file, 'kind: [unclosed\n');
    expect(() => PreviousOutput.fromFile(file)).toThrow(/previous output '.*bad.k8s.yaml': [\s\S]*expected the YAML manifests of an earlier synth/);
  });
});

describe('promotion guard (PlatformChart)', () => {
  test('lists the refusals of every service in one error', () => {
    // GIVEN
    const previous = PreviousOutput.fromObjects(new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl() }).toJson());
    const services = ['api-gateway', 'orchestrator'].map((name) => ({ name, activeColor: 'green', idleColorPolicy: 'remove' }));
    // WHEN
    const build = () => new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl({ services }) as never, previousOutput: previous });
    // THEN
    expect(build).toThrow(PromotionRefusedError);
    expect(build).toThrow(/services\[api-gateway\]: activeColor blue → green refused[\s\S]*services\[orchestrator\]: activeColor blue → green refused/);
  });

  test('the config override reaches the chart, which reports what it overrode', () => {
    const previous = PreviousOutput.fromObjects(new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl() }).toJson());
    const chart = new PlatformChart(Testing.app(), 'aiaas', {
      config: withRunbookUrl({ services: [{ name: 'orchestrator', replicas: 0, promotionOverride: { reason: 'INC-7: parked during the DB migration' } }] }) as never,
      previousOutput: previous,
    });
    expect(chart.overriddenPromotionRules()).toEqual({ orchestrator: [PromotionRule.ACTIVE_WITHOUT_REPLICAS] });
  });
});
