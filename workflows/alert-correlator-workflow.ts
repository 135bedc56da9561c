/**
 * AlertCorrelatorWorkflow: one per task queue, the single place where alert groups
 * meet. Each `correlate` update (sent by the groups' correlateAlerts activity) is
 * decided alone, in order, by the pure `correlate` function (a worker coalesces the
 * requests that arrive while its previous update is in flight into one update): cross-group inhibition and
 * "is there a linked open incident to join". Its `inhibition-view` query tells ingest what
 * its sources inhibit now (routing leases settle targets with it). Continues as new when Temporal suggests,
 * carrying its (bounded) state.
 */
import { allHandlersFinished, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { boundCorrelatorState, correlate, currentInhibitionView, emptyCorrelatorState, type CorrelateRequest, type CorrelatorState } from '../src/aggregation/correlation.js';
import type { InhibitRule } from '../src/aggregation/settings.js';
import { correlateUpdate, correlatorStatusQuery, inhibitionViewQuery } from './messages.js';

const MAX_UPDATES_PER_RUN = 2_000;
/** The state carried across continue-as-new stays under this (Temporal warns at 512 KB, refuses 2 MB). */
const MAX_CARRIED_STATE_BYTES = 400 * 1024;

export async function AlertCorrelatorWorkflow(input: { state?: CorrelatorState }): Promise<void> {
  let state = input.state ?? emptyCorrelatorState();
  let handled = 0;
  setHandler(correlatorStatusQuery, () => state);
  setHandler(inhibitionViewQuery, (rules: InhibitRule[]) => currentInhibitionView(state, Array.isArray(rules) ? rules : [], Date.now()));
  setHandler(
    correlateUpdate,
    (reqs: CorrelateRequest[]) => {
      handled++;
      // Requests coalesced by a worker are decided one after the other, in order.
      return reqs.map((req) => {
        const out = correlate(state, req, Date.now());
        state = out.state;
        return out.response;
      });
    },
    {
      validator: (reqs: CorrelateRequest[]) => {
        if (!Array.isArray(reqs) || reqs.length === 0) throw new Error('expected a non-empty list of correlate requests');
        for (const req of reqs) {
          if (!req || typeof req.group !== 'string' || !Array.isArray(req.addSources) || !Array.isArray(req.removeSources) || !Array.isArray(req.targets) || !Array.isArray(req.rules)) {
            throw new Error('malformed correlate request');
          }
        }
      },
    },
  );
  await condition(() => handled >= MAX_UPDATES_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  const bounded = boundCorrelatorState(state, MAX_CARRIED_STATE_BYTES);
  if (bounded.dropped.sources > 0 || bounded.dropped.incidents > 0)
    log.warn('correlator state over its size bound: the oldest entries are forgotten', { ...bounded.dropped, maxBytes: MAX_CARRIED_STATE_BYTES });
  await continueAsNew<typeof AlertCorrelatorWorkflow>({ state: bounded.state });
}
