// One ServiceMonitor per platform service so Prometheus scrapes the metrics the
// alerts query. The `service` label is the platform service name (from the
// Services' `app` label), for the stable and the preview Service alike, and
// `color` tells the blue and green pods apart.
import { Construct } from 'constructs';
import { PROMETHEUS_DURATION } from '../config/monitoring-config';
import { checkDns1123Label, DNS1123_LABEL } from '../config/validators';
import { ServiceMonitor, ServiceMonitorSpecEndpointsRelabelingsAction } from '../imports/monitoring.coreos.com';

export interface ServiceMonitorsProps {
  /** Namespace of the platform and of the ServiceMonitors. */
  readonly namespace: string;
  /** Service names; each ServiceMonitor selects the Services labelled `app=<name>`. */
  readonly services: string[];
  /**
   * Name of the Services' port serving metrics.
   * @default 'http'
   */
  readonly portName?: string;
  /**
   * Path of the metrics endpoint.
   * @default '/metrics'
   */
  readonly path?: string;
  /**
   * Scrape interval (Prometheus duration).
   * @default '30s'
   */
  readonly interval?: string;
  /**
   * Labels on the ServiceMonitors, for Prometheus' serviceMonitorSelector.
   * @default - none
   */
  readonly labels?: Record<string, string>;
}


/** `monitoring.coreos.com/v1` ServiceMonitors, one per service (child ids are the service names). */
export class ServiceMonitors extends Construct {
  public readonly portName: string;
  public readonly path: string;
  public readonly interval: string;
  /** The ServiceMonitor of each service, by service name. */
  public readonly monitors: Record<string, ServiceMonitor> = {};

  constructor(scope: Construct, id: string, props: ServiceMonitorsProps) {
    super(scope, id);
    this.portName = props.portName ?? 'http';
    this.path = props.path ?? '/metrics';
    this.interval = props.interval ?? '30s';
    checkDns1123Label('namespace', props.namespace);
    if (!DNS1123_LABEL.test(this.portName) || this.portName.length > 15) {
      throw new Error(`portName: expected an IANA service name of at most 15 lower-case letters, digits and '-' (got '${this.portName}')`);
    }
    if (!this.path.startsWith('/')) {
      throw new Error(`path: expected a path starting with '/' (got '${this.path}')`);
    }
    if (!PROMETHEUS_DURATION.test(this.interval)) {
      throw new Error(`interval: expected a Prometheus duration like '30s' (got '${this.interval}')`);
    }
    const seen = new Set<string>();
    props.services.forEach((svc, i) => {
      checkDns1123Label(`services[${i}]`, svc);
      if (seen.has(svc)) {
        throw new Error(`services[${i}]: duplicate service '${svc}'; expected unique names`);
      }
      seen.add(svc);
      this.monitors[svc] = new ServiceMonitor(this, svc, {
        metadata: { name: svc, namespace: props.namespace, labels: { app: svc, ...(props.labels ?? {}) } },
        spec: {
          selector: { matchLabels: { app: svc } },
          namespaceSelector: { matchNames: [props.namespace] },
          endpoints: [
            {
              port: this.portName,
              path: this.path,
              interval: this.interval,
              relabelings: [
                // The stable and the preview Service both count as the platform service.
                { sourceLabels: ['__meta_kubernetes_service_label_app'], targetLabel: 'service', action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE },
                { sourceLabels: ['__meta_kubernetes_pod_label_version'], targetLabel: 'color', action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE },
                // The pod template's revision: ours (aiaas.io/revision) or Argo Rollouts'; a pod has one of them.
                {
                  sourceLabels: ['__meta_kubernetes_pod_label_aiaas_io_revision', '__meta_kubernetes_pod_label_rollouts_pod_template_hash'],
                  separator: '',
                  targetLabel: 'revision',
                  action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE,
                },
              ],
            },
          ],
        },
      });
    });
  }
}
