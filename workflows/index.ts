/**
 * The workflow types this worker runs (the bundle's entry point).
 *
 * Each export loads its workflow's module on first call instead of importing it here: the
 * SDK evaluates the entry module and everything it imports again for every new workflow
 * (module state is per workflow), and importing every workflow here made each start pay
 * for all of vigil's zod schemas. In the alert-storm benchmark that was 42 % of the
 * workflow thread's CPU (about 15 ms per new alert group, plus its garbage). Now a start
 * evaluates only its own workflow's modules. The import is bundled in (webpack "eager"),
 * resolves within the first activation, and the handlers the workflow registers then
 * still receive the signals and updates that started it (the SDK buffers them until the
 * activation ends). Deterministic: no I/O, the same code on replay.
 */
import type * as AlertCorrelator from './alert-correlator-workflow.js';
import type * as AlertGroup from './alert-group-workflow.js';
import type * as Hypothesis from './hypothesis-workflow.js';
import type * as Incident from './incident-workflow.js';
import type * as KillSwitch from './kill-switch-workflow.js';
import type * as RemediationSaga from './remediation-saga-workflow.js';

type Fn<M, K extends keyof M> = M[K] extends (...args: infer A) => infer R ? (...args: A) => R : never;

export const IncidentWorkflow: Fn<typeof Incident, 'IncidentWorkflow'> = async (...args) =>
  (await import(/* webpackMode: "eager" */ './incident-workflow.js')).IncidentWorkflow(...args);
export const RemediationSagaWorkflow: Fn<typeof RemediationSaga, 'RemediationSagaWorkflow'> = async (...args) =>
  (await import(/* webpackMode: "eager" */ './remediation-saga-workflow.js')).RemediationSagaWorkflow(...args);
export const KillSwitchWorkflow: Fn<typeof KillSwitch, 'KillSwitchWorkflow'> = async (...args) =>
  (await import(/* webpackMode: "eager" */ './kill-switch-workflow.js')).KillSwitchWorkflow(...args);
export const AlertGroupWorkflow: Fn<typeof AlertGroup, 'AlertGroupWorkflow'> = async (...args) =>
  (await import(/* webpackMode: "eager" */ './alert-group-workflow.js')).AlertGroupWorkflow(...args);
export const AlertCorrelatorWorkflow: Fn<typeof AlertCorrelator, 'AlertCorrelatorWorkflow'> = async (...args) =>
  (await import(/* webpackMode: "eager" */ './alert-correlator-workflow.js')).AlertCorrelatorWorkflow(...args);
export const HypothesisWorkflow: Fn<typeof Hypothesis, 'HypothesisWorkflow'> = async (...args) =>
  (await import(/* webpackMode: "eager" */ './hypothesis-workflow.js')).HypothesisWorkflow(...args);
