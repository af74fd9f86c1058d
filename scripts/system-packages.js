#!/usr/bin/env node
// The Debian packages the tests need, in one place. `node scripts/system-packages.js <group>...`
// (npm test runs it for `test`, npm run test:image for `image`):
//   - all installed (dpkg says so): prints nothing, takes a few milliseconds;
//   - missing, and root with apt-get: one `apt-get update`, then one non-interactive install of
//     the missing ones only, announced on one line (apt's own output only if it fails);
//   - missing otherwise: fails at once, printing the exact command to run.
// Add a package here, with the group(s) whose tests need it and why.
'use strict';
const { spawnSync } = require('node:child_process');

/** @type {{ deb: string, groups: string[], why: string }[]} */
const PACKAGES = [
  { deb: 'postgresql', groups: ['test', 'image'], why: 'a real primary and streaming replica for the job tests' },
  { deb: 'postgresql-contrib', groups: ['test'], why: 'pg_stat_statements' },
  { deb: 'prometheus', groups: ['test'], why: 'promtool check rules / test rules' },
  { deb: 'prometheus-alertmanager', groups: ['test'], why: 'amtool check-config' },
  { deb: 'openssl', groups: ['test', 'image'], why: 'throwaway CA and server certificates for the TLS (sslmode) tests' },
  { deb: 'docker.io', groups: ['image'], why: 'dockerd and its BuildKit client, to build and run the job image' },
  { deb: 'debootstrap', groups: ['image'], why: 'the local Debian bookworm base image (no registry is reachable)' },
];

const GROUPS = [...new Set(PACKAGES.flatMap((p) => p.groups))];

/** Packages of the groups that dpkg does not report as installed. */
function missing(debs) {
  // One call for all: dpkg-query prints the installed ones and complains about unknown ones on stderr.
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\n', ...debs], { encoding: 'utf8' });
  if (r.error) return undefined; // no dpkg: not Debian
  const installed = new Set(r.stdout.split('\n').filter((l) => / ii\s*$/.test(l)).map((l) => l.split(' ')[0]));
  return debs.filter((d) => !installed.has(d));
}

function fail(message) {
  process.stderr.write(`system-packages: ${message}\n`);
  process.exit(1);
}

function main(groups) {
  const unknown = groups.filter((g) => !GROUPS.includes(g));
  if (groups.length === 0 || unknown.length > 0) {
    fail(`expected one or more groups of ${GROUPS.join(', ')}; got ${groups.length ? unknown.join(', ') : 'none'}`);
  }
  const debs = PACKAGES.filter((p) => p.groups.some((g) => groups.includes(g))).map((p) => p.deb);
  const install = `apt-get update && apt-get install -y --no-install-recommends ${debs.join(' ')}`;
  if (process.env.AIAAS_SYSTEM_PACKAGES === 'present') return; // the user vouches for equivalents (non-Debian machines)

  const absent = missing(debs);
  if (absent === undefined) {
    fail(`no dpkg on this machine: the ${groups.join('/')} tests need Debian's ${debs.join(' ')} (as root on Debian: ${install});`
      + ' elsewhere install their equivalents and set AIAAS_SYSTEM_PACKAGES=present');
  }
  if (absent.length === 0) return;

  const aptCommand = `apt-get update && apt-get install -y --no-install-recommends ${absent.join(' ')}`;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (process.getuid?.() !== 0 || !hasApt) {
    fail(`missing Debian packages ${absent.join(' ')} (${why(absent)}); run as root: ${aptCommand}`);
  }

  process.stdout.write(`system-packages: installing ${absent.join(' ')} (${aptCommand})\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  for (const args of [['update', ...lock], ['install', '-y', '--no-install-recommends', ...lock, ...absent]]) {
    const r = spawnSync('apt-get', ['-q', ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout}${r.stderr}`);
      fail(`apt-get ${args[0]} failed (exit ${r.status ?? r.signal}); the command was: ${aptCommand}`);
    }
  }
  const still = missing(absent);
  if (still.length > 0) fail(`still missing after apt-get install: ${still.join(' ')}`);
}

function why(debs) {
  return PACKAGES.filter((p) => debs.includes(p.deb)).map((p) => `${p.deb}: ${p.why}`).join('; ');
}

if (require.main === module) main(process.argv.slice(2));

module.exports = { PACKAGES };
