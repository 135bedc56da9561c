/**
 * Calls the worker makes through its own Temporal client that may outlive the activity
 * that asked for them (a batched correlator update keeps polling for its outcome after
 * a cancelled activity stopped waiting). Each runs under an AbortSignal, so that closing
 * cancels it on the wire and waits for it to settle before the client's connection
 * closes: a call left running would retry on a closed channel from a timer, where its
 * "Channel has been shut down" is an uncaught exception, not a rejection.
 */
import type { Client } from '@temporalio/client';

export class ClientCalls {
  private closed = false;
  /** Each running call's controller, with the promise that settles when the call does. */
  private readonly running = new Map<AbortController, Promise<void>>();

  constructor(private readonly client: Pick<Client, 'withAbortSignal'>) {}

  /**
   * Runs `fn` with its gRPC calls cancelled after `timeoutMs` or on close; the returned
   * promise rejects at once then, with `timeoutMessage` or a shutdown message.
   */
  run<T>(fn: () => Promise<T>, timeoutMs: number, timeoutMessage: string): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the worker is shutting down'));
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new Error(timeoutMessage)), timeoutMs);
    const call = this.client.withAbortSignal(ctrl.signal, fn);
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(ctrl, settled);
    void settled.finally(() => {
      this.running.delete(ctrl);
      clearTimeout(timer);
    });
    const aborted = new Promise<never>((_, reject) => {
      ctrl.signal.addEventListener('abort', () => reject(ctrl.signal.reason as Error), { once: true });
    });
    // Whichever comes first wins; the other is settled above or never needed.
    aborted.catch(() => undefined);
    return Promise.race([call, aborted]);
  }

  /** Cancels every call still running and waits (at most `graceMs`) for each to settle. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    for (const ctrl of this.running.keys()) ctrl.abort(new Error('the worker is shutting down'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.running.values()]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}
