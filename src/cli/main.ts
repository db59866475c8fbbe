/**
 * The `gophership` command. Without a subcommand it runs the gateway (on the built-in default config when
 * no --config is given); `validate`, `print-config`, `components`, `loadgen` and `sink` are the others.
 */
import { maskSecrets } from '../config/mask.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { registryFor } from '../component-index.js';
import { formatProblem, loadConfigFiles } from '../config/load.js';
import { validateConfig, type ValidatedConfig } from '../config/validate.js';
import { parseDuration } from '../core/schema.js';
import { Service } from '../service/service.js';
import { planWorkers } from '../service/workers/count.js';
import { strandedMessage, strandedWals } from '../service/workers/stranded.js';
import { WORKER_COUNT_ENV, WORKER_INDEX_ENV } from '../service/workers/messages.js';
import { CodedError, codeOf, messageOf } from '../core/errors.js';
import { gatewayVersion, packageRoot } from '../core/build-info.js';

export function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.yaml');
}

const USAGE = `Usage: gophership [command] [options]

Commands:
  (none) | run       run the gateway (default config: config/default.yaml of the package)
  validate           check the config; exit 0, or non-zero with every problem listed
  print-config       print the merged config (files, --set and env expanded) as YAML
  components         list the built-in receivers, processors, exporters, connectors and extensions
  loadgen            generate OTLP load (gophership loadgen --help)
  sink               a discarding, loss-checking OTLP receiver (gophership sink --help)

Options for run, validate, print-config (before or after the command):
  --config URI             config file (a path or file:PATH), env:VAR (YAML held by a variable) or
                           yaml:KEY::PATH: VALUE; repeat to merge several in order (maps merge, lists replace)
  --set KEY.PATH=VALUE     override one key; repeatable. KEY::PATH=VALUE keeps dots inside key names
                           (--set exporters::otlphttp::headers::x.tenant=acme)
  --shutdown-timeout DUR   how long SIGTERM/SIGINT may drain in-flight work (default 30s)
  -h, --help               this text
  -v, --version            print the version

Exit status: 0 success; 1 invalid config, or the gateway failed to start or stopped on a fatal error;
2 usage error (unknown command or option); 130 a second signal cut the drain short.
`;

type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

interface CommonArgs {
  configs: string[];
  sets: string[];
  shutdownTimeoutMs: number;
}

/** The options of run, validate and print-config; they may come before the command or after it. */
const COMMON_OPTIONS = {
  config: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  'shutdown-timeout': { type: 'string' },
} as const;

/** node:util's parseArgs, its errors (an unknown option, a missing value) coded as usage errors that say where to look. */
function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: COMMON_OPTIONS, allowPositionals: false });
  } catch (err) {
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw err;
    // Node's text goes on about positionals after `--`, which no command takes.
    const said = messageOf(err).split('. ')[0]!.replace(/\.$/, '');
    throw new CodedError('GS_CLI_USAGE', `${said}; \`gophership --help\` lists the commands and options`, { cause: err });
  }
}

function parseCommon(argv: string[]): CommonArgs {
  const { values } = parseOptions(argv);
  const timeoutText = values['shutdown-timeout'];
  const shutdownTimeoutMs = timeoutText === undefined ? 30_000 : parseDuration(timeoutText);
  if (shutdownTimeoutMs === undefined) throw new CodedError('GS_CLI_USAGE', `--shutdown-timeout: "${timeoutText}" is not a duration such as 30s`);
  const configs = values.config ?? [];
  return { configs: configs.length > 0 ? configs : [defaultConfigPath()], sets: values.set ?? [], shutdownTimeoutMs };
}

/** Loads and validates; on problems prints each and returns undefined. */
export async function loadValidated(
  args: CommonArgs,
  io: Out = stdio,
): Promise<{ config: ValidatedConfig; raw: Record<string, unknown>; files: Record<string, string> } | undefined> {
  const loaded = await loadConfigFiles(args.configs, args.sets);
  // As the collector does for an unset variable: say so, and go on with the empty value.
  for (const w of loaded.warnings) io.err(`warning: ${formatProblem(w)}\n`);
  // Only the factories the configuration names are loaded (src/component-index.ts).
  const result = validateConfig(loaded, await registryFor(loaded.raw));
  if (!result.ok) {
    io.err(`[GS_CONFIG_INVALID] invalid configuration (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}):\n`);
    for (const p of result.problems) io.err(`  ${formatProblem(p)}\n`);
    return undefined;
  }
  return { config: result.config, raw: loaded.raw, files: loaded.files ?? {} };
}

async function runGateway(args: CommonArgs, io: Out): Promise<number> {
  const loaded = await loadValidated(args, io);
  // 1, as validate and print-config (and the collector, for both run and validate).
  if (!loaded) return 1;
  // service.workers > 1: this process is the primary, or one of the workers it forked (src/service/workers).
  const workerIndex = process.env[WORKER_INDEX_ENV];
  if (workerIndex !== undefined) {
    const { runWorker } = await import('../service/workers/worker.js');
    return runWorker(loaded.config, Number(workerIndex), Number(process.env[WORKER_COUNT_ENV] ?? '1'), args.shutdownTimeoutMs);
  }
  const { count: workers, note } = planWorkers(loaded.config);
  const stranded = strandedMessage(strandedWals(loaded.config, workers), workers);
  const notes = [...(note ? [note] : []), ...(stranded ? [{ level: 'error' as const, message: stranded }] : [])];
  if (workers > 1) {
    const { runPrimary } = await import('../service/workers/primary.js');
    return runPrimary(loaded.config, workers, { shutdownTimeoutMs: args.shutdownTimeoutMs, configFiles: loaded.files, notes });
  }
  let fatal: Error | undefined;
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((r) => (resolveStop = r));
  const service = new Service(loaded.config, {
    onFatalError: (err) => {
      fatal = err;
      resolveStop();
    },
  });
  for (const n of notes) service.logger[n.level](n.message);
  try {
    await service.start();
  } catch (err) {
    service.logger.error('gateway failed to start', { error: messageOf(err), code: codeOf(err) ?? 'GS_COMPONENT_START_FAILED' });
    return 1;
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      service.logger.error('second signal: exiting without finishing the drain', { signal: sig });
      process.exit(130);
    }
    service.logger.info('signal received; draining in-flight work', { signal: sig, deadline_ms: args.shutdownTimeoutMs });
    resolveStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await stopRequested;
  await service.shutdown(args.shutdownTimeoutMs);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return fatal ? 1 : 0;
}

/**
 * Finds the command: the first argument that is neither an option nor the value of a common option
 * (`--config x.yaml`), so `gophership --config x.yaml validate` is `gophership validate --config x.yaml`,
 * as with the collector's `otelcol --config x validate`. The other arguments, in order, are the command's.
 */
export function splitCommand(argv: readonly string[]): { command: string; args: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      const name = a.replace(/^--?/, '');
      if (Object.hasOwn(COMMON_OPTIONS, name)) i++; // its value is the next argument (`--config=x` holds it)
      continue;
    }
    return { command: a, args: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: 'run', args: [...argv] };
}

export async function main(argv: string[], io: Out = stdio): Promise<number> {
  const { command, args } = splitCommand(argv);
  try {
    if (args.includes('-h') || args.includes('--help') || command === 'help') {
      if (command === 'loadgen' || command === 'sink') return await runTool(command, args);
      io.out(USAGE);
      return 0;
    }
    if (args.includes('-v') || args.includes('--version') || command === 'version') {
      io.out(`gophership ${gatewayVersion()}\n`);
      return 0;
    }
    switch (command) {
      case 'run':
        return await runGateway(parseCommon(args), io);
      case 'validate': {
        const loaded = await loadValidated(parseCommon(args), io);
        if (!loaded) return 1;
        io.out('configuration is valid\n');
        return 0;
      }
      case 'print-config': {
        const loaded = await loadValidated(parseCommon(args), io);
        if (!loaded) return 1;
        // Secrets (opaque keys) are masked, as the collector's print-config does.
        io.out(stringify(maskSecrets(loaded.raw, loaded.config)));
        return 0;
      }
      case 'components':
        io.out(await componentsText());
        return 0;
      case 'loadgen':
      case 'sink':
        return await runTool(command, args);
      default:
        io.err(`[GS_CLI_USAGE] unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    const code = codeOf(err);
    io.err(`gophership ${command}: ${code ? `[${code}] ` : ''}${messageOf(err)}\n`);
    return 2;
  }
}

async function runTool(command: 'loadgen' | 'sink', args: string[]): Promise<number> {
  if (command === 'loadgen') return (await import('../tools/loadgen/cli.js')).runLoadgenCli(args);
  return (await import('../tools/sink/cli.js')).runSinkCli(args);
}

export async function componentsText(): Promise<string> {
  const registry = (await import('../components.js')).createRegistry();
  const lines: string[] = [`gophership ${gatewayVersion()}`];
  for (const kind of ['receiver', 'processor', 'exporter', 'connector', 'extension'] as const) {
    lines.push('', `${kind}s:`);
    for (const f of registry.list(kind)) {
      const aliases = f.aliases?.length ? ` (alias ${f.aliases.join(', ')})` : '';
      const signals = 'signals' in f ? ` [${f.signals.join(', ')}]` : '';
      const skippable = f.kind === 'processor' ? (f.skippableUnderPressure ? ' {skipped in Yellow}' : ' {always runs}') : '';
      lines.push(`  ${f.type}${aliases} (${f.stability})${signals}${skippable}: ${f.description}`);
    }
  }
  return lines.join('\n') + '\n';
}
