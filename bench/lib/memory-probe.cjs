/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: worker threads run --require preloads, not --import ones (Node 20) */
/* global require, process, setInterval */
// Preloaded into a gateway (node --require) by bench/rss-breakdown.mjs: every 50 ms each thread (the event
// loop and every worker thread: workers inherit --require) appends one JSON line of its own isolate's
// memory to `${GOPHERSHIP_MEMORY_PROBE}.<threadId>`. external_memory is what the isolate's heap
// references outside itself (ArrayBuffers, dead or alive): only that isolate's GC frees it.
// process.memoryUsage().arrayBuffers counts by the allocator that made a buffer, wherever it went.
const { threadId } = require('node:worker_threads');
const v8 = require('node:v8');
const fs = require('node:fs');

const out = process.env.GOPHERSHIP_MEMORY_PROBE;
if (out) {
  const fd = fs.openSync(`${out}.${threadId}`, 'w');
  setInterval(() => {
    const h = v8.getHeapStatistics();
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const line = {
      t: Date.now(),
      heap: h.total_heap_size,
      young: young ? young.space_size : 0,
      external: h.external_memory,
      arrayBuffers: process.memoryUsage().arrayBuffers,
    };
    fs.writeSync(fd, JSON.stringify(line) + '\n');
  }, 50).unref();
}
