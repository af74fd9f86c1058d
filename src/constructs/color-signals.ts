// Per-colour and per-revision HTTP signals for a blue-green switch: recording rules
// for the watch window (the alerts sum over both colours) and the queries Argo
// Rollouts' analyses run on one revision's pods. Both are built from the metric
// contract of `monitoring` (metric names, server-error codes, rate window), as the alerts are.
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { MonitoringConfig } from '../config/monitoring-config';

import { ERROR_RATIO_BY_COLOR, ERROR_RATIO_BY_REVISION, LATENCY_P95_BY_COLOR, LATENCY_P95_BY_REVISION } from '../alerts/signal-records';

export { ERROR_RATIO_BY_COLOR, ERROR_RATIO_BY_REVISION, LATENCY_P95_BY_COLOR, LATENCY_P95_BY_REVISION };

/** The part of `monitoring` the signals read. */
export type HttpMetricContract = Pick<MonitoringConfig, 'metrics' | 'labelValues' | 'rateWindow'>;

/**
 * Error ratio (server errors / all requests) of the series matching `selector`, summed
 * `by` the given labels. No errors with traffic is 0 (not an empty result); no traffic is empty.
 */
export function httpErrorRatioQuery(contract: HttpMetricContract, selector: string, by: string[] = []): string {
  const { metrics: mt, labelValues: lv, rateWindow: w } = contract;
  const sum = by.length > 0 ? `sum by (${by.join(', ')})` : 'sum';
  const errors = `${sum} (rate(${mt.httpRequestsTotal}{${selector}, code=~"${lv.serverErrorCodes}"}[${w}]))`;
  const all = `${sum} (rate(${mt.httpRequestsTotal}{${selector}}[${w}]))`;
  // `or ... * 0` keeps the labels of the traffic side when there is no error series at all.
  return `(${errors} or ${all} * 0) / ${all}`;
}

/** P95 latency (seconds) of the series matching `selector`, by the given labels. */
export function httpLatencyP95Query(contract: HttpMetricContract, selector: string, by: string[] = []): string {
  const { metrics: mt, rateWindow: w } = contract;
  return `histogram_quantile(0.95, sum by (${[...by, 'le'].join(', ')}) (rate(${mt.httpRequestDurationBucket}{${selector}}[${w}])))`;
}

/** The selector of one service's pods of one revision; the revision may be an Argo template such as `{{args.revision}}`. */
export function revisionSelector(namespace: string, service: string, revision: string): string {
  return `namespace="${namespace}", service="${service}", revision="${revision}"`;
}

export interface ColorSignalsProps {
  /** Namespace of the platform and of the PrometheusRule. */
  readonly namespace: string;
  /** The blue-green services. */
  readonly services: string[];
  /** Metric names, server-error codes and rate window (`monitoring`). */
  readonly contract: HttpMetricContract;
  /**
   * Labels on the PrometheusRule, for Prometheus' ruleSelector.
   * @default - none
   */
  readonly labels?: Record<string, string>;
}

/**
 * A PrometheusRule `aiaas-color-signals` recording the error ratio and P95 latency of
 * each service by `color` (the pods' `version` label) and by `revision` (`aiaas.io/revision`
 * or Argo's `rollouts-pod-template-hash`), which the ServiceMonitors copy onto every series.
 */
export class ColorSignals extends Construct {
  public readonly rule: ApiObject;

  constructor(scope: Construct, id: string, props: ColorSignalsProps) {
    super(scope, id);
    const selector = `namespace="${props.namespace}", service=~"${props.services.join('|')}"`;
    const rules = [
      { record: ERROR_RATIO_BY_COLOR, expr: httpErrorRatioQuery(props.contract, `${selector}, color!=""`, ['namespace', 'service', 'color']) },
      { record: LATENCY_P95_BY_COLOR, expr: httpLatencyP95Query(props.contract, `${selector}, color!=""`, ['namespace', 'service', 'color']) },
      { record: ERROR_RATIO_BY_REVISION, expr: httpErrorRatioQuery(props.contract, `${selector}, revision!=""`, ['namespace', 'service', 'revision']) },
      { record: LATENCY_P95_BY_REVISION, expr: httpLatencyP95Query(props.contract, `${selector}, revision!=""`, ['namespace', 'service', 'revision']) },
    ];
    this.rule = new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'aiaas-color-signals', namespace: props.namespace, labels: { ...(props.labels ?? {}) } },
      spec: { groups: props.services.length > 0 ? [{ name: 'aiaas.blue-green', rules }] : [] },
    });
  }
}
