/**
 * OTTL's network converters (ottlfuncs README): URL (Go's net/url parse, mapped to semconv url.*
 * attributes), IsInCIDR and CommunityID (Go's net.ParseIP and IPNet.Contains rules), and UserAgent
 * (user-agent.ts).
 */
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { ArgError, needString, one, type Converter } from './function-args.js';
import { OttlRuntimeError } from './paths.js';
import { isList, typeOf, type Value, type ValueMap } from './values.js';
import { USER_AGENT_CONVERTERS } from './user-agent.js';

// ---------------------------------------------------------------------------------------------------
// IP addresses as Go's net package reads them

/** Go's net.ParseIP, as the bytes To4() gives (4) for IPv4 and IPv4-mapped addresses, else 16; or undefined. */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  if (text.includes('%') || !isIPv6(text)) return undefined;
  const bytes = new Uint8Array(16);
  let s = text;
  // A trailing dotted IPv4 part fills the last four bytes.
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: Uint8Array | undefined;
  if (dotted) {
    tail = parseIpv4(dotted[1]!);
    if (!tail) return undefined;
    s = `${s.slice(0, dotted.index + 1)}0:0`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const groups = (p: string | undefined): string[] => (p ? p.split(':') : []);
  const left = groups(head);
  const right = groups(rest);
  const all = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  // An IPv4-mapped address is an IPv4 address to Go's To4().
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  return bytes;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Go refuses leading zeros (they would read as octal elsewhere).
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0') || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

interface Network {
  ip: Uint8Array;
  bits: number;
}

/** Go's net.ParseCIDR: an IPv4 network holds IPv4 addresses, an IPv6 network IPv6 ones. */
export function parseCidr(text: string): Network | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  const v4 = parseIpv4(addr);
  const ip = v4 ?? (addr.includes('%') || !isIPv6(addr) ? undefined : parseIp(addr));
  if (!ip || !/^\d+$/.test(bitsText)) return undefined;
  // "::ffff:10.0.0.0/104" is an IPv6 network to Go: keep its 16 bytes.
  const full = v4 ? ip : ip.length === 4 ? Uint8Array.from([...new Uint8Array(10), 0xff, 0xff, ...ip]) : ip;
  const bits = Number(bitsText);
  if (bits > full.length * 8) return undefined;
  return { ip: full, bits };
}

function contains(net: Network, ip: Uint8Array): boolean {
  if (ip.length !== net.ip.length) return false;
  for (let bit = 0; bit < net.bits; bit += 8) {
    const take = Math.min(8, net.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((ip[bit / 8]! & mask) !== (net.ip[bit / 8]! & mask)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// URL: Go's url.Parse, then the semconv attributes the collector's parseutils.ParseURI gives

function unescape(s: string, original: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) {
    const bad = /%.{0,2}/.exec(s.slice(s.search(/%(?![0-9a-fA-F]{2})/)))![0];
    throw new OttlRuntimeError(`URL: parse "${original}": invalid URL escape "${bad}"`);
  }
  return decodeURIComponent(s.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
}

export function parseUrl(text: string): ValueMap {
  const fail = (why: string) => new OttlRuntimeError(`URL: parse "${text}": ${why}`);
  // Go refuses ASCII control characters anywhere in a URL.
  if ([...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw fail('net/url: invalid control character in URL');
  let rest = text;
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = unescape(rest.slice(hash + 1), text);
    rest = rest.slice(0, hash);
  }
  let scheme = '';
  const sm = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
  if (sm) {
    scheme = sm[1]!.toLowerCase();
    rest = rest.slice(sm[0].length);
  } else if (rest.startsWith(':')) throw fail('missing protocol scheme');
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const out: ValueMap = new Map();
  let host = '';
  let port = '';
  let path = '';
  let userinfo: string | undefined;
  if (scheme !== '' && !rest.startsWith('/')) {
    // An opaque URL (mailto:x@y): no host and no path.
  } else {
    if (rest.startsWith('//')) {
      const end = rest.indexOf('/', 2);
      let authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
      rest = end < 0 ? '' : rest.slice(end);
      const at = authority.lastIndexOf('@');
      if (at >= 0) {
        userinfo = authority.slice(0, at);
        authority = authority.slice(at + 1);
      }
      const hm = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
      if (!hm || (authority.startsWith('[') && !authority.includes(']'))) throw fail("missing ']' in host");
      host = hm[1]!.replace(/^\[(.*)\]$/, '$1');
      port = hm[2] ?? '';
      if (!/^\d*$/.test(port)) throw fail(`invalid port ":${port}" after host`);
      host = unescape(host, text);
    } else if (scheme === '' && /^[^/]*:/.test(rest)) throw fail('first path segment in URL cannot contain colon');
    path = unescape(rest, text);
  }
  out.set('url.original', scheme === '' ? text : scheme + text.slice(scheme.length));
  out.set('url.domain', host);
  out.set('url.scheme', scheme);
  out.set('url.path', path);
  if (port !== '') out.set('url.port', BigInt(port));
  if (fragment !== '') out.set('url.fragment', fragment);
  if (userinfo !== undefined) {
    out.set('url.user_info', userinfo);
    const colon = userinfo.indexOf(':');
    const username = unescape(colon < 0 ? userinfo : userinfo.slice(0, colon), text);
    if (username !== '') out.set('url.username', username);
    if (colon >= 0) out.set('url.password', unescape(userinfo.slice(colon + 1), text));
  }
  if (query !== '') out.set('url.query', query);
  const dot = path.lastIndexOf('.');
  if (dot >= 0 && dot < path.length - 1) out.set('url.extension', path.slice(dot + 1));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// CommunityID: the Community ID flow hash (version 1)

const PROTOCOLS: Record<string, number> = { ICMP: 1, TCP: 6, UDP: 17, RSVP: 46, ICMP6: 58, SCTP: 132 };

function needInt(v: Value, fn: string, what: string): number {
  if (typeof v !== 'bigint') throw new OttlRuntimeError(`${fn}: ${what} must be an int, got ${typeOf(v)}`);
  return Number(v);
}

export function communityId(src: Uint8Array, srcPort: number, dst: Uint8Array, dstPort: number, protocol: number, seed: number): string {
  // The flow's two ends in a fixed order, so both directions hash alike.
  const swap = src.length !== dst.length ? src.length > dst.length : Buffer.compare(src, dst) > 0 || (Buffer.compare(src, dst) === 0 && srcPort > dstPort);
  if (swap) [src, dst, srcPort, dstPort] = [dst, src, dstPort, srcPort];
  const b = Buffer.alloc(2 + src.length + dst.length + 6);
  let at = b.writeUInt16BE(seed, 0);
  b.set(src, at);
  at += src.length;
  b.set(dst, at);
  at += dst.length;
  at = b.writeUInt8(protocol, at);
  at = b.writeUInt8(0, at);
  at = b.writeUInt16BE(srcPort, at);
  b.writeUInt16BE(dstPort, at);
  return `1:${createHash('sha1').update(b).digest('base64')}`;
}

export const NET_CONVERTERS: Record<string, Converter> = {
  ...USER_AGENT_CONVERTERS,
  URL: one((v, fn) => {
    const s = needString(v, fn);
    if (s === '') throw new OttlRuntimeError(`${fn}: url cannot be empty`);
    return parseUrl(s);
  }),
  IsInCIDR: {
    params: [{ name: 'target' }, { name: 'networks' }],
    build: (args, fn) => {
      const a = args[1]!;
      const cidr = (s: Value): Network => {
        const net = typeof s === 'string' ? parseCidr(s) : undefined;
        if (!net) throw new OttlRuntimeError(`${fn}: invalid CIDR address: ${typeof s === 'string' ? s : typeOf(s)}`);
        return net;
      };
      // A literal list is parsed once, at config load.
      let fixed: Network[] | undefined;
      if (a.isLiteral) {
        if (!isList(a.literal ?? null)) throw new ArgError(a.col, `${fn}: networks must be a list of CIDR strings, e.g. ["10.0.0.0/8"]`);
        try {
          fixed = (a.literal as Value[]).map(cidr);
        } catch (err) {
          throw new ArgError(a.col, (err as Error).message);
        }
      }
      const [t, n] = [args[0]!.get, a.get];
      return (ctx) => {
        const ip = parseIp(needString(t(ctx), fn));
        if (!ip) return false;
        let nets = fixed;
        if (!nets) {
          const list = n(ctx);
          if (!isList(list)) throw new OttlRuntimeError(`${fn}: networks must be a list, got ${typeOf(list)}`);
          nets = list.map(cidr);
        }
        return nets.some((net) => contains(net, ip));
      };
    },
  },
  CommunityID: {
    params: [
      { name: 'sourceIP' },
      { name: 'sourcePort' },
      { name: 'destinationIP' },
      { name: 'destinationPort' },
      { name: 'protocol', optional: true },
      { name: 'seed', optional: true },
    ],
    build: (args, fn) => {
      const [sip, sport, dip, dport] = [args[0]!.get, args[1]!.get, args[2]!.get, args[3]!.get];
      const [proto, seed] = [args[4]?.get, args[5]?.get];
      return (ctx) => {
        const srcText = needString(sip(ctx), fn);
        const dstText = needString(dip(ctx), fn);
        const srcPort = needInt(sport(ctx), fn, 'the source port');
        if (srcPort < 1 || srcPort > 65535) throw new OttlRuntimeError(`${fn}: source port must be between 1 and 65535, got ${srcPort}`);
        const dstPort = needInt(dport(ctx), fn, 'the destination port');
        if (dstPort < 1 || dstPort > 65535) throw new OttlRuntimeError(`${fn}: destination port must be between 1 and 65535, got ${dstPort}`);
        let protocol = PROTOCOLS.TCP!;
        if (proto) {
          const p = needString(proto(ctx), fn);
          protocol = PROTOCOLS[p]!;
          if (protocol === undefined) throw new OttlRuntimeError(`${fn}: unsupported protocol: ${p} (one of ${Object.keys(PROTOCOLS).join(', ')})`);
        }
        const src = parseIp(srcText);
        if (!src) throw new OttlRuntimeError(`${fn}: invalid source IP: ${srcText}`);
        const dst = parseIp(dstText);
        if (!dst) throw new OttlRuntimeError(`${fn}: invalid destination IP: ${dstText}`);
        let seedValue = 0;
        if (seed) {
          seedValue = needInt(seed(ctx), fn, 'the seed');
          if (seedValue < 0 || seedValue > 65535) throw new OttlRuntimeError(`${fn}: seed must be between 0 and 65535, got ${seedValue}`);
        }
        return communityId(src, srcPort, dst, dstPort, protocol, seedValue);
      };
    },
  },
};
