/** The trivial workflow of bench/update-vs-signal.ts. */
import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
export const echoUpdate = defineUpdate<string, [unknown]>('echo');
export const echoSignal = defineSignal<[unknown]>('echo-signal');
export async function Echo(_input: unknown): Promise<void> {
  let n = 0;
  setHandler(echoUpdate, () => { n++; return 'ok'; });
  setHandler(echoSignal, () => { n++; });
  await condition(() => n > 1_000_000, 3600_000);
}
