/**
 * `vigil simulate --fault <kind> --service <name> [--severity P0..P4] [--fail-step N]`:
 * injects a fault into the running simulator and posts its alert; prints the incident id.
 * `--list` names the fault kinds and services.
 */
import { Severity } from '../schemas/alert.js';
import { simulateIncident, SimulateError } from '../dev/simulate-incident.js';
import { FAULT_KINDS, SHOP_SYSTEM } from '../simulator/index.js';
import { CliError, dataDirOf, int, print, str } from './cli-common.js';
import { readDevEndpoints } from '../dev/dev-endpoints.js';

export async function runSimulate(v: Record<string, string | boolean | undefined>): Promise<number> {
  const asJson = v['json'] === true;
  if (v['list'] === true) {
    const services = SHOP_SYSTEM.services.map((s) => ({ name: s.name, kind: s.kind }));
    print({ faults: FAULT_KINDS, services }, asJson, () =>
      [
        'fault kinds:',
        ...FAULT_KINDS.map((k) => `  ${k.kind.padEnd(20)} ${k.description}\n  ${''.padEnd(20)} fix: ${k.fix}`),
        'services:',
        ...services.map((s) => `  ${s.name.padEnd(20)} ${s.kind}`),
      ].join('\n'),
    );
    return 0;
  }
  const fault = str(v['fault']);
  const service = str(v['service']);
  if (!fault || !service) throw new CliError('simulate needs --fault <kind> and --service <name> (or --list)', 2, true);
  if (!FAULT_KINDS.some((k) => k.kind === fault)) throw new CliError(`unknown fault kind "${fault}"; one of: ${FAULT_KINDS.map((k) => k.kind).join(', ')}`, 2);
  if (!SHOP_SYSTEM.services.some((s) => s.name === service)) throw new CliError(`unknown service "${service}"; see vigil simulate --list`, 2);
  const severity = Severity.safeParse((str(v['severity']) ?? 'P2').toUpperCase());
  if (!severity.success) throw new CliError('--severity must be one of P0, P1, P2, P3, P4', 2, true);
  const dev = readDevEndpoints(dataDirOf(v));
  if (!dev) throw new CliError(`no running \`vigil dev\` found in ${dataDirOf(v)} (start it first, or pass --data-dir)`);
  const failStep = int(v['fail-step'], 'fail-step');
  try {
    const out = await simulateIncident({
      controlUrl: dev.simulatorControlUrl,
      ingestUrl: dev.ingestUrl,
      fault,
      service,
      severity: severity.data,
      ...(failStep ? { failStep } : {}),
    });
    print({ incidentId: out.incidentId, faultId: out.faultId }, asJson, () => `injected ${fault} into ${service} (fault ${out.faultId}); incident ${out.incidentId}`);
    return 0;
  } catch (err) {
    if (err instanceof SimulateError) throw new CliError(err.message);
    throw err;
  }
}
