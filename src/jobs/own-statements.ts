// Every statement the job sends starts with one comment, so slow-queries can leave
// the job's own statements (a long VACUUM, a count(*) of a big table) out of
// pg_stat_statements: it records the text but not the session's application_name.
import type { PoolClient } from 'pg';

export const OWN_STATEMENT_MARK = '/* aiaas-job */';

type QueryFn = (config: unknown, ...rest: unknown[]) => unknown;

/** Prefix the mark to plain-text queries of `client` (pool 'connect' hook); submittables pass unchanged. */
export function markOwnStatements(client: PoolClient): void {
  const query = client.query.bind(client) as unknown as QueryFn;
  const marked: QueryFn = (config, ...rest) => {
    if (typeof config === 'string') return query(`${OWN_STATEMENT_MARK} ${config}`, ...rest);
    const c = config as { text?: unknown; submit?: unknown } | null;
    if (c && typeof c === 'object' && typeof c.text === 'string' && typeof c.submit !== 'function') {
      return query({ ...c, text: `${OWN_STATEMENT_MARK} ${c.text}` }, ...rest);
    }
    return query(config, ...rest);
  };
  (client as unknown as { query: QueryFn }).query = marked;
}
