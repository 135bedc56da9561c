/**
 * Reads a request body up to a byte limit. Over the limit (declared by
 * Content-Length or found while streaming) it stops collecting at once and throws
 * VIGIL_BODY_TOO_LARGE; nothing beyond the limit is ever buffered.
 */
import type { IncomingMessage } from 'node:http';
import { IngestError } from './errors.js';

function tooLarge(limit: number): IngestError {
  return new IngestError('VIGIL_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`);
}

/** Throws VIGIL_BODY_TOO_LARGE if Content-Length already says the body is over the limit. */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
}

/** Rejects with Error('request aborted') if the client goes away before the end. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req, limit);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('request aborted'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
