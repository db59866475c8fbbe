/**
 * A hash-pool worker thread (hash-pool.ts): checks one password against one slow htpasswd hash at a time
 * and answers match or not. It logs nothing and answers nothing of the password.
 */
import { parentPort } from 'node:worker_threads';
import { slowHashMatches } from './htpasswd.js';
import type { FromHashWorker, ToHashWorker } from './hash-pool.js';

const port = parentPort;
if (!port) throw new Error('hash-worker runs as a worker thread');

port.on('message', (m: ToHashWorker) => {
  let answer: FromHashWorker;
  try {
    answer = { seq: m.seq, matches: slowHashMatches(m.hash, m.password) };
  } catch {
    // A hash the loader accepted always computes; should one not, the request is refused as wrong.
    answer = { seq: m.seq, matches: false };
  }
  port.postMessage(answer);
});
