import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Testing } from 'cdk8s';
import { ServiceMonitors, ServiceMonitorsProps } from '../src/constructs/service-monitors';

const SERVICES = ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service'];

function synth(props: Partial<ServiceMonitorsProps> = {}) {
  const chart = Testing.chart();
  new ServiceMonitors(chart, 'Monitors', { namespace: 'aiaas', services: SERVICES, ...props });
  return Testing.synth(chart);
}

describe('ServiceMonitors', () => {
  test('one valid ServiceMonitor per service, selecting app=<svc> on the http port', () => {
    // WHEN
    const manifest = synth();
    // THEN
    expect(manifest.map((o) => [o.kind, o.metadata.name])).toEqual(SERVICES.map((s) => ['ServiceMonitor', s]));
    for (const obj of manifest) {
      expect(() => new ServiceMonitor(obj).validate()).not.toThrow();
    }
    const gw = manifest[0];
    expect(gw.metadata.namespace).toEqual('aiaas');
    expect(gw.spec.selector).toEqual({ matchLabels: { app: 'api-gateway' } });
    expect(gw.spec.namespaceSelector).toEqual({ matchNames: ['aiaas'] });
    expect(gw.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', interval: '30s' });
    expect(gw.spec.endpoints[0].relabelings[0]).toEqual({ sourceLabels: ['__meta_kubernetes_service_label_app'], targetLabel: 'service', action: 'replace' });
    expect(manifest).toMatchSnapshot();
  });

  test('port name, path, interval and labels are props', () => {
    const [obj] = synth({ services: ['api-gateway'], portName: 'metrics', path: '/internal/metrics', interval: '15s', labels: { release: 'kube-prometheus-stack' } });
    expect(obj.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/internal/metrics', interval: '15s' });
    expect(obj.metadata.labels).toEqual({ app: 'api-gateway', release: 'kube-prometheus-stack' });
  });

  test.each([
    [{ portName: 'HTTP' }, "portName: expected an IANA service name of at most 15 lower-case letters, digits and '-' (got 'HTTP')"],
    [{ path: 'metrics' }, "path: expected a path starting with '/' (got 'metrics')"],
    [{ interval: '-30s' }, "interval: expected a Prometheus duration like '30s' (got '-30s')"],
    [{ services: ['api-gateway', 'api-gateway'] }, "services[1]: duplicate service 'api-gateway'; expected unique names"],
    [{ services: ['API'] }, "services[0]: expected a DNS-1123 label (got 'API')"],
    [{ namespace: 'a_b' }, "namespace: expected a DNS-1123 label (got 'a_b')"],
  ])('fails on %j', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
