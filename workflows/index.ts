/** The workflow types this worker runs (the bundle's entry point). */
export { IncidentWorkflow } from './incident-workflow.js';
export { RemediationSagaWorkflow } from './remediation-saga-workflow.js';
export { KillSwitchWorkflow } from './kill-switch-workflow.js';
export { AlertGroupWorkflow } from './alert-group-workflow.js';
export { AlertCorrelatorWorkflow } from './alert-correlator-workflow.js';
export { HypothesisWorkflow } from './hypothesis-workflow.js';
