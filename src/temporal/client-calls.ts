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
  private readonly closing = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly client: Pick<Client, 'withAbortSignal'>) {}

  /**
   * Runs `fn` with its gRPC calls cancelled after `timeoutMs` or on close; the returned
   * promise rejects at once then, with `timeoutMessage` or a shutdown message.
   */
  run<T>(fn: () => Promise<T>, timeoutMs: number, timeoutMessage: string): Promise<T> {
    if (this.closing.signal.aborted) return Promise.reject(new Error('the worker is shutting down'));
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new Error(timeoutMessage)), timeoutMs);
    const onClose = () => ctrl.abort(new Error('the worker is shutting down'));
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const call = this.client.withAbortSignal(ctrl.signal, fn);
    const tracked = call.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => {
      this.inFlight.delete(tracked);
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    });
    const aborted = new Promise<never>((_, reject) => {
      if (ctrl.signal.aborted) reject(ctrl.signal.reason as Error);
      else ctrl.signal.addEventListener('abort', () => reject(ctrl.signal.reason as Error), { once: true });
    });
    // Settled either way: the race takes whichever comes first and the loser is tracked above.
    aborted.catch(() => undefined);
    return Promise.race([call, aborted]);
  }

  /** Cancels every call still running and waits (at most `graceMs`) for each to settle. */
  async close(graceMs = 10_000): Promise<void> {
    this.closing.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}
