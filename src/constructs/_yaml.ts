// Private: YAML that every parser reads the same. cdk8s writes YAML 1.1 and quotes what YAML 1.1
// reads as booleans or numbers (`"yes"`, `"0777"`), but not `=`, which YAML 1.1 parsers (PyYAML)
// resolve to its own type (tag:yaml.org,2002:value): `matchType: =` of an AlertmanagerConfig breaks them.
import * as YAML from 'yaml';

/** Plain scalars a YAML 1.1 parser reads as something other than a string, beyond what `yaml` quotes itself. */
const YAML_11_SPECIAL = new Set(['=']);

/** One or more documents, as cdk8s writes them (`---` between documents), with YAML 1.1 specials quoted. */
export function stringifyYaml(...docs: unknown[]): string {
  return docs
    .map((doc) => {
      const document = new YAML.Document(doc, { keepUndefined: true, version: '1.1' });
      YAML.visit(document, {
        Scalar(_, node) {
          if (typeof node.value === 'string' && YAML_11_SPECIAL.has(node.value)) {
            node.type = 'QUOTE_SINGLE';
          }
        },
      });
      return document.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
