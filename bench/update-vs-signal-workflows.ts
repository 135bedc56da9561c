/** The trivial workflow of bench/update-vs-signal.ts. */
import { condition, defineQuery, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
export const echoUpdate = defineUpdate<string, [unknown]>('echo');
export const echoSignal = defineSignal<[unknown]>('echo-signal');
export const echoQuery = defineQuery<number>('echo-count');
export async function Echo(_input: unknown): Promise<void> {
  let n = 0;
  setHandler(echoUpdate, () => { n++; return 'ok'; });
  setHandler(echoSignal, () => { n++; });
  setHandler(echoQuery, () => n);
  await condition(() => n > 1_000_000, 3600_000);
}
