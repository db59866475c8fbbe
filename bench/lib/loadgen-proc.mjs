// Child entry: runs one load generator (dist/src/tools/loadgen runLoadgen) and sends back its result.
// In: {options, progress}. Out: {measuring} when the measured time starts (after options.warmupMs),
// {progress} every options.progressIntervalMs when asked, then {result}.
import { runLoadgen } from '../../dist/src/tools/loadgen/index.js';

let cpuFrom;
process.once('message', async ({ options, progress }) => {
  try {
    const result = await runLoadgen({
      ...options,
      onMeasureStart: () => {
        cpuFrom = process.cpuUsage();
        process.send({ measuring: true });
      },
      ...(progress ? { onProgress: (p) => process.send({ progress: p }) } : {}),
    });
    const u = process.cpuUsage(cpuFrom);
    // This process's own CPU (user + system seconds) in the measured time: the client's share of the machine.
    process.send({ result: { ...result, clientCpuSec: (u.user + u.system) / 1e6 } }, () => process.disconnect());
  } catch (e) {
    process.send({ error: e.message }, () => process.disconnect());
  }
});
process.on('SIGTERM', () => process.exit(0));
