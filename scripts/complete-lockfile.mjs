// Completes package-lock.json with the platform-specific optional dependencies that the
// package registry reachable here does not serve (e.g. @swc/core's darwin and win32
// builds, which answer 404). npm omits them from the lock, and `npm ci` then refuses the
// lock as out of sync. Each stub names the package's os/cpu so npm skips it on every
// other platform. Run after `npm install`:  node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openbsd', 'sunos', 'aix'];
const CPU = { x64: 'x64', arm64: 'arm64', arm: 'arm', ia32: 'ia32', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
const added = [];
for (const [key, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = `node_modules/${name}`;
    if (pkgs[where] || pkgs[`${key}/${where}`]) continue;
    const parts = name.split(/[-/]/);
    const os = OS.find((o) => parts.includes(o));
    const cpu = Object.keys(CPU).find((c) => parts.includes(c));
    if (!os || !cpu) continue;
    pkgs[where] = { version: version.replace(/^[\^~]/, ''), cpu: [CPU[cpu]], optional: true, os: [os] };
    added.push(name);
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length} platform stub(s): ${added.join(', ')}` : 'lock file complete');
