// Child entry: runs the sink (dist/src/tools/sink) in this process and answers the orchestrator over IPC.
// argv[2]: JSON SinkOptions. First message out: {httpUrl, grpcTarget}. Then {id, cmd} -> {id, result}.
import { startSink } from '../../dist/src/tools/sink/index.js';

let sink;
try {
  sink = await startSink(JSON.parse(process.argv[2] ?? '{}'));
} catch (e) {
  process.send({ error: e.message });
  process.exit(1);
}
process.send({ httpUrl: sink.httpUrl, grpcTarget: sink.grpcTarget });
process.on('message', async (m) => {
  try {
    let result;
    if (m.cmd === 'stats') result = sink.stats();
    else if (m.cmd === 'verify') result = sink.verify(m.acked);
    else if (m.cmd === 'close') {
      await sink.close();
      result = true;
    } else throw new Error(`unknown command ${m.cmd}`);
    process.send({ id: m.id, result });
    if (m.cmd === 'close') process.disconnect();
  } catch (e) {
    process.send({ id: m.id, error: e.message });
  }
});
process.on('SIGTERM', () => process.exit(0));
