// Issue 9.4 / 10.9: what a change drops is pruned, but the Namespace and the PVCs
// (postgres lives in the namespace, the dumps on a PVC) are never pruned or deleted with the rest.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { RETAINED_MANIFEST, synthPlatform } from '../src/synth-platform';
import { REFERENCE_CONFIG_FILE } from './support/reference';

function synthTo(context: Record<string, string> = {}): { main: any[]; retained: any[] } {
  const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-prune-')), 'dist');
  synthPlatform({ outdir, context, file: REFERENCE_CONFIG_FILE });
  const read = (file: string) => parseAllDocuments(fs.readFileSync(path.join(outdir, file), 'utf8')).map((d) => d.toJSON());
  return { main: read('aiaas.k8s.yaml'), retained: read(RETAINED_MANIFEST) };
}

describe('prune safety', () => {
  const { main, retained } = synthTo();

  test('the Namespace and every PVC are in the retained file only, never in the pruned manifest', () => {
    const keys = retained.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(keys).toContain('Namespace/aiaas');
    expect(keys).toContain('PersistentVolumeClaim/aiaas-db-backups');
    expect(retained.every((o) => o.kind === 'Namespace' || o.kind === 'PersistentVolumeClaim')).toBe(true);
    expect(main.filter((o) => o.kind === 'Namespace' || o.kind === 'PersistentVolumeClaim')).toEqual([]);
  });

  test('retained objects tell Argo CD never to prune or delete them', () => {
    for (const object of retained) {
      expect(object.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    }
    expect(main.filter((o) => o.metadata.annotations?.['argocd.argoproj.io/sync-options'])).toEqual([]);
  });

  test('no object carries an ApplySet membership label: kubectl --applyset refuses input that sets it', () => {
    for (const object of [...main, ...retained]) {
      expect(Object.keys(object.metadata.labels ?? {}).filter((k) => k.startsWith('applyset.kubernetes.io/'))).toEqual([]);
    }
  });

  test('every namespaced object of the pruned manifest is in the platform namespace (one ApplySet parent covers them)', () => {
    const namespaces = new Set(main.map((o) => o.metadata.namespace).filter((n) => n !== undefined));
    expect([...namespaces]).toEqual(['aiaas']);
  });

  test('README applies the retained file without prune, then the manifest with an ApplySet prune', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain('kubectl apply -f dist/aiaas-retained.k8s.yaml');
    expect(readme).toContain('KUBECTL_APPLYSET=true kubectl apply -n aiaas --prune --applyset=configmaps/aiaas-ops -f dist/aiaas.k8s.yaml');
  });
});
