/**
 * KillSwitchWorkflow: one long-lived workflow (id vigil-kill-switch) that holds whether
 * autonomous action is paused, globally or per service. Durable by construction; every
 * pause and resume is in its history with who did it and why. Sagas ask for its state
 * before every action.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { KillSwitchCommand, type KillSwitchState } from '../src/schemas/incident.js';
import { killSwitchQuery, pauseUpdate, resumeUpdate } from './messages.js';

const validate = (c: KillSwitchCommand) => {
  const parsed = KillSwitchCommand.safeParse(c);
  if (!parsed.success) throw new Error(`invalid command: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
};

export async function KillSwitchWorkflow(carried?: KillSwitchState): Promise<void> {
  const state: KillSwitchState = carried ?? { global: null, services: {}, history: [] };
  const now = () => new Date(Date.now()).toISOString();
  setHandler(killSwitchQuery, () => state);
  setHandler(
    pauseUpdate,
    (c) => {
      const entry = { by: c.by, at: now(), ...(c.reason ? { reason: c.reason } : {}) };
      if (c.service) state.services[c.service] = entry;
      else state.global = entry;
      state.history.push({ action: 'pause', ...(c.service ? { service: c.service } : {}), ...entry });
      return state;
    },
    { validator: validate },
  );
  setHandler(
    resumeUpdate,
    (c) => {
      if (c.service) delete state.services[c.service];
      else {
        state.global = null;
        state.services = {};
      }
      state.history.push({ action: 'resume', ...(c.service ? { service: c.service } : {}), by: c.by, at: now(), ...(c.reason ? { reason: c.reason } : {}) });
      return state;
    },
    { validator: validate },
  );
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof KillSwitchWorkflow>({ ...state, history: state.history.slice(-200) });
}
