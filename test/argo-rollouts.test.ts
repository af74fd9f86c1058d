import { Duration, Testing } from 'cdk8s';
import { parsePlatformConfig } from '../src/config/load-config';
import { BlueGreenEngine, BlueGreenService, BlueGreenServiceProps } from '../src/constructs/blue-green-service';
import { PlatformChart } from '../src/constructs/platform-chart';
import { find, K8sObject, ofKind, synthPlatformObjects } from './support/synth';
import { validateAll } from './support/validate-schema';
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './support/expected';
import { withRunbookUrl } from './support/reference';

const images = { blue: 'registry.example/api:1.0.0', green: 'registry.example/api:1.1.0' };
const analysis = {
  prometheusAddress: 'http://prometheus.monitoring.svc:9090',
  errorRatioQuery: 'error_ratio{revision="{{args.revision}}"}',
  latencyP95Query: 'latency_p95{revision="{{args.revision}}"}',
  errorRatio: 0.05,
  latencyP95Seconds: 2,
};

function synth(props: Partial<BlueGreenServiceProps> = {}): K8sObject[] {
  const chart = Testing.chart();
  new BlueGreenService(chart, 'Api', { name: 'api', images, engine: BlueGreenEngine.ARGO_ROLLOUTS, ...props });
  return Testing.synth(chart) as K8sObject[];
}

describe('BlueGreenService, engine argo-rollouts', () => {
  test('one Rollout with the blueGreen strategy on the same Services, instead of two Deployments', () => {
    // WHEN
    const objects = synth({ argoRollouts: { analysis } });

    // THEN
    expect(ofKind(objects, 'Deployment')).toEqual([]);
    const rollout = find(objects, 'Rollout', 'api');
    expect(rollout.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(rollout.spec.strategy).toEqual({
      blueGreen: {
        activeService: 'api',
        previewService: 'api-preview',
        autoPromotionEnabled: false,
        scaleDownDelaySeconds: 900,
        abortScaleDownDelaySeconds: 30,
        prePromotionAnalysis: { templates: [{ templateName: 'api-pre-promotion' }], args: [{ name: 'revision', valueFrom: { podTemplateHashValue: 'Latest' } }] },
        postPromotionAnalysis: { templates: [{ templateName: 'api-post-promotion' }], args: [{ name: 'revision', valueFrom: { podTemplateHashValue: 'Latest' } }] },
      },
    });
    expect(rollout.spec).toMatchObject({ replicas: 2, progressDeadlineAbort: true, progressDeadlineSeconds: 600, revisionHistoryLimit: 5, minReadySeconds: 5 });
    expect(rollout.spec.selector).toEqual({ matchLabels: { app: 'api' } });
    expect(rollout.spec.template.metadata.labels).toMatchObject({ app: 'api' });
    // The active colour's image; the pod is the same restricted pod as under the deployments engine.
    const container = rollout.spec.template.spec.containers[0];
    expect(container.image).toBe(images.blue);
    expect(container.securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
    expect(container.readinessProbe.httpGet.path).toBe('/health');
    // Argo adds rollouts-pod-template-hash to both selectors itself.
    expect(find(objects, 'Service', 'api').spec.selector).toEqual({ app: 'api' });
    expect(find(objects, 'Service', 'api-preview').spec.selector).toEqual({ app: 'api' });
    expect(find(objects, 'PodDisruptionBudget', 'api').spec.selector).toEqual({ matchLabels: { app: 'api' } });
    expect(ofKind(objects, 'Job')).toEqual([]);
    validateAll(objects);
  });

  test('the Rollout runs the pod template the deployments engine gives the active colour', () => {
    const plain = new BlueGreenService(Testing.chart(), 'Api', { name: 'api', images, activeColor: 'green' });
    const deployment = Testing.synth(plain.node.scope as any).find((o: any) => o.metadata.name === 'api-green');
    const rollout = find(synth({ activeColor: 'green' }), 'Rollout', 'api');
    expect(rollout.spec.template.spec.containers.map((c: any) => ({ ...c }))).toEqual(deployment.spec.template.spec.containers);
    expect(rollout.spec.template.spec.securityContext).toEqual(deployment.spec.template.spec.securityContext);
  });

  test('pre-promotion analysis: the smoke Job against the preview Service and Prometheus checks of the new revision', () => {
    const pre = find(synth({ argoRollouts: { analysis } }), 'AnalysisTemplate', 'api-pre-promotion');
    expect(pre.spec.args).toEqual([{ name: 'revision' }]);
    const [smoke, errorRatio, latency] = pre.spec.metrics;
    expect(smoke.name).toBe('smoke-test');
    const job = smoke.provider.job;
    expect(job.metadata.labels).toEqual({ 'app.kubernetes.io/component': 'smoke-test', 'aiaas.io/smoke-test-of': 'api' });
    expect(job.spec.template.metadata.labels['aiaas.io/smoke-test-of']).toBe('api');
    expect(job.spec.template.spec.serviceAccountName).toBe('api-smoke-test');
    expect(job.spec.template.spec.containers[0].args).toContain('http://api-preview:8000/health');
    expect(job.spec.template.spec.containers[0].securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
    expect(errorRatio).toEqual({
      name: 'error-ratio',
      interval: '1m',
      count: 3,
      failureLimit: 0,
      successCondition: '!(len(result) > 0 && !isNaN(result[0])) || result[0] <= 0.05',
      failureCondition: 'len(result) > 0 && !isNaN(result[0]) && result[0] > 0.05',
      provider: { prometheus: { address: analysis.prometheusAddress, query: analysis.errorRatioQuery } },
    });
    expect(latency.provider.prometheus.query).toBe(analysis.latencyP95Query);
    expect(latency.failureCondition).toBe('len(result) > 0 && !isNaN(result[0]) && result[0] > 2');
  });

  test('post-promotion analysis: the watch window, one measurement a minute; no data is inconclusive', () => {
    const post = find(synth({ argoRollouts: { analysis, watch: Duration.minutes(15), scaleDownDelay: Duration.minutes(20) } }), 'AnalysisTemplate', 'api-post-promotion');
    expect(post.spec.metrics.map((m: any) => [m.name, m.count, m.interval, m.failureLimit])).toEqual([
      ['error-ratio', 15, '1m', 2],
      ['latency-p95', 15, '1m', 2],
    ]);
    expect(post.spec.metrics[0].successCondition).toBe('len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.05');
  });

  test('without analysis only the smoke test gates the promotion; options reach the strategy', () => {
    const objects = synth({ argoRollouts: { autoPromotionEnabled: true, scaleDownDelay: Duration.seconds(60), abortScaleDownDelay: Duration.seconds(10), previewReplicaCount: 1 } });
    expect(ofKind(objects, 'AnalysisTemplate').map((t) => t.metadata.name)).toEqual(['api-pre-promotion']);
    const strategy = find(objects, 'Rollout', 'api').spec.strategy.blueGreen;
    expect(strategy).toMatchObject({ autoPromotionEnabled: true, scaleDownDelaySeconds: 60, abortScaleDownDelaySeconds: 10, previewReplicaCount: 1 });
    expect(strategy.postPromotionAnalysis).toBeUndefined();
    validateAll(objects);
  });

  test('the HPA scales the Rollout and the Rollout leaves replicas to it', () => {
    const objects = synth({ autoscaling: { minReplicas: 3, maxReplicas: 10 } });
    expect(find(objects, 'HorizontalPodAutoscaler', 'api').spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'api' });
    expect(find(objects, 'Rollout', 'api').spec.replicas).toBeUndefined();
    validateAll(objects);
  });

  test.each<[string, Partial<BlueGreenServiceProps>, RegExp]>([
    ['an idle colour policy other than keep', { idleColorPolicy: 'scale-to-zero' }, /'idleColorPolicy' \(scale-to-zero\) applies to engine deployments/],
    ['a scale-down delay shorter than the watch', { argoRollouts: { analysis, scaleDownDelay: Duration.minutes(5) } }, /^'argoRollouts.scaleDownDelay' \(5 minutes\) must be at least the watch \(10 minutes\): Argo cancels the post-promotion analysis/],
    ['no preview pod', { argoRollouts: { previewReplicaCount: 0 } }, /'argoRollouts.previewReplicaCount' \(0\) must be a whole number of 1 or more/],
    ['an abort delay in fractions of a second', { argoRollouts: { abortScaleDownDelay: Duration.millis(1500) } }, /^'argoRollouts.abortScaleDownDelay' \(1 second 500 millis\) must be a whole number of seconds$/],
    ['a scale-down delay in fractions of a second', { argoRollouts: { scaleDownDelay: Duration.millis(500) } }, /^'argoRollouts.scaleDownDelay' \(500 millis\) must be a whole number of seconds$/],
    ['a watch of part of a minute', { argoRollouts: { analysis, watch: Duration.seconds(90) } }, /^'argoRollouts.watch' \(1 minute 30 seconds\) must be a whole number of minutes$/],
    ['a watch of 0 minutes', { argoRollouts: { analysis, watch: Duration.minutes(0) } }, /^'argoRollouts.watch' \(0 minutes\) must be at least 1 minute$/],
    ['an unknown engine', { engine: 'flagger' as never }, /'engine' \(flagger\) must be one of deployments, argo-rollouts/],
  ])('fails on %s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('PlatformChart, blueGreen.engine argo-rollouts', () => {
  const config = { blueGreen: { engine: 'argo-rollouts' }, monitoring: { perService: { orchestrator: { errorRatio: 0.02 } } } } as const;
  const objects = synthPlatformObjects(config as never);

  test('every service is a Rollout; every object validates, Rollouts and AnalysisTemplates included', () => {
    expect(ofKind(objects, 'Rollout').map((r) => r.metadata.name)).toEqual(['api-gateway', 'orchestrator', 'tool-service', 'realtime-service']);
    expect(ofKind(objects, 'Deployment')).toEqual([]);
    expect(ofKind(objects, 'AnalysisTemplate')).toHaveLength(8);
    validateAll(objects);
    // The Argo schemas do check: a misspelt strategy field or a metric without a provider fails.
    const rollout = find(objects, 'Rollout', 'api-gateway');
    const { activeService, ...withoutActive } = rollout.spec.strategy.blueGreen;
    expect(activeService).toBe('api-gateway');
    expect(() => validateAll([{ ...rollout, spec: { ...rollout.spec, strategy: { blueGreen: withoutActive } } }])).toThrow(/Rollout\/api-gateway: .*activeService/);
    const template = find(objects, 'AnalysisTemplate', 'api-gateway-pre-promotion');
    expect(() => validateAll([{ ...template, spec: { metrics: [{ name: 'x' }] } }])).toThrow(/AnalysisTemplate\/api-gateway-pre-promotion: .*provider/);
  });

  test('the analyses query the new revision with the metric contract and thresholds of monitoring', () => {
    const [, errorRatio, latency] = find(objects, 'AnalysisTemplate', 'orchestrator-pre-promotion').spec.metrics;
    const sel = 'namespace="aiaas", service="orchestrator", revision="{{args.revision}}"';
    expect(errorRatio.provider.prometheus).toEqual({
      address: 'http://prometheus-operated.monitoring.svc:9090',
      query:
        `(sum (rate(http_requests_total{${sel}, code=~"5.."}[5m])) or sum (rate(http_requests_total{${sel}}[5m])) * 0)` +
        ` / sum (rate(http_requests_total{${sel}}[5m]))`,
    });
    expect(errorRatio.failureCondition).toContain('result[0] > 0.02');
    expect(latency.provider.prometheus.query).toBe(`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[5m])))`);
    expect(latency.failureCondition).toContain('result[0] > 2');
  });

  test('the runbook commands are kubectl argo rollouts with the real names', () => {
    const chart = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl(config) as never });
    const runbook = chart.extraFiles()['RUNBOOK.md'];
    for (const command of ['status api-gateway --watch=false', 'promote api-gateway', 'abort api-gateway', 'undo api-gateway', 'get rollout api-gateway --watch']) {
      expect(runbook).toContain(`kubectl argo rollouts -n aiaas ${command}`);
    }
    expect(runbook).toContain('AnalysisTemplate api-gateway-pre-promotion');
    expect(runbook).toContain('post-promotion analysis (api-gateway-post-promotion)');
    expect(runbook).not.toMatch(/deployment\/api-gateway-(blue|green)/);
  });

  test.each<[string, object, RegExp]>([
    ['idleColorPolicy other than keep', { blueGreen: { engine: 'argo-rollouts' }, services: [{ name: 'api-gateway', idleColorPolicy: 'remove' }] }, /services\[api-gateway\]\.idleColorPolicy: 'remove' applies to engine 'deployments'/],
    ['a scale-down delay shorter than the watch', { blueGreen: { argoRollouts: { scaleDownDelaySeconds: 120 } } }, /blueGreen\.argoRollouts\.scaleDownDelaySeconds: expected scaleDownDelaySeconds \(120\) of at least watchMinutes × 60 \(600\)/],
    ['an unknown engine', { blueGreen: { engine: 'flagger' } }, /blueGreen\.engine: expected 'deployments' or 'argo-rollouts'/],
  ])('config fails on %s', (_name, input, message) => {
    expect(() => parsePlatformConfig(withRunbookUrl(input))).toThrow(message);
  });
});
