// Every incident code and threshold of the runbook as one PrometheusRule, built
// from the alert records of src/alerts (which RUNBOOK.md, the README table and the
// promtool tests read too).
import { Construct } from 'constructs';
import { AlertDefinition, AlertInputs } from '../alerts/alert-record';
import { alertDefinitions, ruleGroups } from '../alerts/definitions';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../imports/monitoring.coreos.com';

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
  public readonly resource: PrometheusRule;

  constructor(scope: Construct, id: string, props: PlatformAlertsProps) {
    super(scope, id);
    this.definitions = alertDefinitions(props);
    this.resource = new PrometheusRule(this, 'Resource', {
      metadata: {
        name: props.name ?? 'aiaas-alerts',
        namespace: props.namespace,
        labels: { ...props.monitoring.ruleLabels },
      },
      spec: {
        groups: ruleGroups(this.definitions).map((g) => ({
          name: g.name,
          rules: g.rules.map(({ expr, ...rule }) => ({ ...rule, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(expr) })),
        })),
      },
    });
  }
}
