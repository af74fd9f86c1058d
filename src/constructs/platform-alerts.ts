// Every incident code and threshold of the runbook as one PrometheusRule, built
// from the alert records of src/alerts (which RUNBOOK.md, the README table and the
// promtool tests read too).
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { AlertDefinition, AlertInputs } from '../alerts/alert-record';
import { alertDefinitions, ruleGroups } from '../alerts/definitions';

export interface PlatformAlertsProps extends AlertInputs {
  /**
   * Name of the PrometheusRule.
   * @default 'aiaas-alerts'
   */
  readonly name?: string;
}

/**
 * The runbook's alerts as one `monitoring.coreos.com/v1` PrometheusRule
 * (`aiaas-alerts` in the namespace, child id `Resource`).
 */
export class PlatformAlerts extends Construct {
  /** The alert definitions behind the rules, in rule order. */
  public readonly definitions: AlertDefinition[];
  /** The PrometheusRule. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: PlatformAlertsProps) {
    super(scope, id);
    this.definitions = alertDefinitions(props);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: props.name ?? 'aiaas-alerts',
        namespace: props.namespace,
        labels: { ...props.monitoring.ruleLabels },
      },
      spec: { groups: ruleGroups(this.definitions) },
    });
  }
}
