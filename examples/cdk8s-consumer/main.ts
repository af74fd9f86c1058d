// Another team's cdk8s stack built from aiaas-ops constructs: its own chart and
// namespace, one blue-green service, its network policies and an extra ConfigMap.
//   npx ts-node main.ts   → dist/billing.k8s.yaml
import { App, Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BlueGreenService, Color, PlatformNamespace, PlatformNetworkPolicies, PreviousOutput } from 'aiaas-ops';

export class BillingChart extends Chart {
  public readonly billing: BlueGreenService;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { ...props, namespace: 'billing' });

    new PlatformNamespace(this, 'Namespace', { name: 'billing' });

    this.billing = new BlueGreenService(this, 'Billing', {
      name: 'billing',
      images: { blue: 'registry.example.com/billing:3.1.0', green: 'registry.example.com/billing:3.2.0' },
      // The blue-green switch: change this one field and synth again (once green ran, unchanged, in an
      // earlier apply: the promotion guard compares with the previous output and refuses otherwise).
      activeColor: Color.GREEN,
      previousOutput: PreviousOutput.fromFile('dist/billing.k8s.yaml'),
      replicas: 2,
      env: { CURRENCY: 'EUR' },
    });

    new PlatformNetworkPolicies(this, 'NetworkPolicies', {
      services: [{ name: 'billing', podLabels: { app: 'billing' }, port: 8000, exposedToIngress: true, egressTo: ['postgres'] }],
      dependencies: [{ name: 'postgres', podLabels: { app: 'postgres' }, port: 5432 }],
      ingressController: { namespace: 'ingress-nginx', podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      monitoringNamespace: 'monitoring',
    });

    new kplus.ConfigMap(this, 'Settings', { metadata: { name: 'billing-settings' }, data: { invoiceDay: '1' } });
  }
}

const app = new App();
new BillingChart(app, 'billing');
app.synth();
