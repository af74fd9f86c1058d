// GitHub-style heading slugs, shared by the alerts' runbook_url and RUNBOOK.md's
// headings so that every link resolves.

/**
 * The anchor GitHub (and most Markdown renderers) give a heading:
 * lower-cased, punctuation removed, spaces turned into '-'.
 *
 * `headingAnchor('Blue-green: switch traffic')` → `'blue-green-switch-traffic'`.
 */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The runbook URL of a heading: `<base>#<anchor>`. */
export function runbookUrl(baseUrl: string, heading: string): string {
  return `${baseUrl}#${headingAnchor(heading)}`;
}
