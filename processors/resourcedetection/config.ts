import { notYetKeys, s, type ConfigOf } from '../../src/core/schema.js';

const attr = (enabled: boolean, what: string) => s.object({ enabled: s.bool().default(enabled) }).describe(what);

/** The system detector's attributes with the collector's defaults (only host.name and os.type on). */
const systemAttributes = s.object({
  'host.name': attr(true, 'From hostname_sources'),
  'os.type': attr(true, 'linux, darwin, windows, ... (semantic convention values)'),
  'host.arch': attr(false, 'amd64, arm64, ... (semantic convention values)'),
  'host.id': attr(false, '/etc/machine-id or /var/lib/dbus/machine-id, when readable'),
  'host.ip': attr(false, 'The non-loopback IP addresses of the host (a list)'),
  'host.mac': attr(false, 'The MAC addresses of the non-loopback interfaces, as AA-BB-CC-DD-EE-FF (a list)'),
  'host.interface': attr(false, 'The names of the non-loopback network interfaces (a list)'),
  'os.description': attr(false, 'The OS name and release, e.g. "Linux 6.1.0"'),
  'os.version': attr(false, 'The kernel release'),
  'host.cpu.vendor.id': attr(false, 'CPU vendor (/proc/cpuinfo)'),
  'host.cpu.family': attr(false, 'CPU family (/proc/cpuinfo)'),
  'host.cpu.model.id': attr(false, 'CPU model number (/proc/cpuinfo)'),
  'host.cpu.model.name': attr(false, 'CPU model name'),
  'host.cpu.stepping': attr(false, 'CPU stepping (/proc/cpuinfo)'),
  'host.cpu.cache.l2.size': attr(false, 'CPU cache size in bytes (/proc/cpuinfo)'),
});

export type SystemAttribute = keyof ConfigOf<typeof systemAttributes>;

/** The collector's cloud and platform detectors: each reads a metadata service or API not built in yet. */
const OTHER_DETECTORS = [
  'ec2',
  'ecs',
  'eks',
  'elasticbeanstalk',
  'lambda',
  'azure',
  'aks',
  'azurecontainerapps',
  'consul',
  'digitalocean',
  'docker',
  'gcp',
  'heroku',
  'hetzner',
  'ibmcloud_classic',
  'ibmcloud_vpc',
  'openshift',
  'nova',
  'oraclecloud',
  'k8s_api',
  'k8snode',
  'kubeadm',
  'akamai',
  'scaleway',
  'tencent_cvm',
  'upcloud',
  'vultr',
  'alibaba_ecs',
  'dynatrace',
] as const;

export const resourceDetectionProcessorConfig = s.refine(
  s.object({
    detectors: s.array(s.string()).default(['env']).describe('Detectors to run, in order: env, system; when two detect the same key, the earlier one wins'),
    override: s.bool().default(true).describe('Whether detected values replace attributes the resource already has'),
    timeout: s.duration().default(5000).describe('Longest the detection at start may take'),
    system: s.object({
      hostname_sources: s
        .array(s.enum('dns', 'os', 'cname', 'lookup'))
        .default(['dns', 'os'])
        .describe(
          "Where host.name comes from, first that answers: dns (the fully qualified name by a DNS lookup of the OS host name), os (the OS host name), cname (the canonical name in DNS), lookup (the reverse DNS name of the host's IP address)",
        ),
      resource_attributes: systemAttributes,
    }),
    env: s.object({}).describe('The env detector has no settings'),
    refresh_interval: s.notYet('re-runs detection periodically and updates the resource', 0),
    fail_on_missing_metadata: s.notYet('fails when a cloud metadata service cannot be reached', false),
    attributes: s
      .array(s.string())
      .default([])
      .describe('Only these detected attributes are added (empty: all); deprecated in the collector for resource_attributes, which it still reads'),
    ...notYetKeys(Object.fromEntries(OTHER_DETECTORS.map((d) => [d, `settings of the ${d} detector`])) as Record<(typeof OTHER_DETECTORS)[number], string>),
  }),
  (v, path, issues) => {
    v.detectors.forEach((d, i) => {
      if (d === 'env' || d === 'system') return;
      const message = (OTHER_DETECTORS as readonly string[]).includes(d)
        ? `detector "${d}" is not supported yet by GopherShip (it reads the ${d} metadata of the platform the collector runs on); GopherShip has env and system`
        : `unknown detector "${d}"; GopherShip has env and system`;
      issues.push({ path: [...path, 'detectors', String(i)], message });
    });
  },
);

export type ResourceDetectionProcessorConfig = ConfigOf<typeof resourceDetectionProcessorConfig>;
