/** Starts a real gateway in this process from YAML text, as `gophership --config` would. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry } from '../../src/components.js';
import { formatProblem, loadConfigFiles } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { Service } from '../../src/service/service.js';
import { Logger } from '../../src/telemetry/logger.js';
import type { OtlpReceiver } from '../../receivers/otlp/factory.js';

export async function startGateway(yamlText: string, env: NodeJS.ProcessEnv = process.env, logger: Logger = new Logger('warn')): Promise<Service> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-gw-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, yamlText);
  const result = validateConfig(await loadConfigFiles([file], [], env), createRegistry());
  if (!result.ok) throw new Error(`test config invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  const service = new Service(result.config, { logger });
  await service.start();
  return service;
}

/** `127.0.0.1:port` of a running otlp receiver's protocol. */
export function receiverAddress(service: Service, id: string, protocol: 'http' | 'grpc'): string {
  const r = service.component<OtlpReceiver>('receiver', id);
  const a = protocol === 'http' ? r?.httpAddress : r?.grpcAddress;
  if (!a) throw new Error(`receiver ${id} has no ${protocol} listener`);
  return `${a.host}:${a.port}`;
}

/** The gateway `yaml` describes must not start: resolves with the start error's message (stops it if it started). */
export async function startRefused(yamlText: string, logger?: Logger): Promise<string> {
  const err = await startGateway(yamlText, process.env, logger).then(
    async (gw) => {
      await gw.shutdown(2000);
      return undefined;
    },
    (e: Error) => e,
  );
  expect(err, 'the gateway started').toBeInstanceOf(Error);
  return err!.message;
}
