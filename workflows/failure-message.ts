/** The most useful message of an activity or child failure, for records a person reads. */
export function failureMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const cause = (err as { cause?: { message?: string } }).cause;
    if (cause?.message) return cause.message;
    const msg = (err as { message?: string }).message;
    if (msg) return msg;
  }
  return String(err);
}
