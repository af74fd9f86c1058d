// Names of the per-colour and per-revision recording rules (ColorSignals writes them; the
// alerts' procedures and the RUNBOOK query them), in the alerts layer so both can import them.

/** Recording rule: error ratio of each colour of each service. */
export const ERROR_RATIO_BY_COLOR = 'aiaas:http_error_ratio:by_color';
/** Recording rule: P95 latency (seconds) of each colour of each service. */
export const LATENCY_P95_BY_COLOR = 'aiaas:http_latency_p95_seconds:by_color';
/** Recording rule: error ratio of each revision (pod template) of each service. */
export const ERROR_RATIO_BY_REVISION = 'aiaas:http_error_ratio:by_revision';
/** Recording rule: P95 latency (seconds) of each revision of each service. */
export const LATENCY_P95_BY_REVISION = 'aiaas:http_latency_p95_seconds:by_revision';
