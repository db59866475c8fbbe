/**
 * A NATS credentials file (`creds_file`): the user JWT block, then the user's NKey seed block, as `nsc
 * generate creds` and NATS providers (Synadia Cloud/NGS) write it for decentralized (operator mode)
 * authentication. Read here, not by the client's credsAuthenticator: that one takes neither CRLF line ends
 * nor a file ending right after the seed's END line (both of which the Go clients and the nats CLI take),
 * and its one failure, "unable to parse credentials", surfaces as a refused connection that names no key.
 * Every error here names the file and says what is wrong with it, never its content: the seed is a secret,
 * the JWT a bearer of identity.
 */
import { nkeys } from '@nats-io/transport-node';

export interface NatsCreds {
  /** The user JWT, sent to the server at every connect. */
  jwt: string;
  /** The user's NKey seed, which signs the server's nonce. */
  seed: Uint8Array;
  /** When the JWT expires (ms since the epoch), if it does. */
  expiresAtMs: number | undefined;
}

/** A problem with a creds file: `message` says what, in words that carry none of the file's content. */
export class CredsFileError extends Error {
  override readonly name = 'CredsFileError';
}

const GET_NEW = 'use the complete creds file as `nsc generate creds` or your NATS provider wrote it';

/**
 * The decorated blocks of a creds file, in order: a `-----BEGIN ...-----` line, one line of content and an
 * `------END ...------` line, blank lines and any text between blocks ignored.
 */
function blocks(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const found: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^-{3,}\s*BEGIN\b.*-{3,}$/.test(lines[i]!)) continue;
    const body = lines[i + 1] ?? '';
    if (body && /^-{3,}\s*END\b.*-{3,}$/.test(lines[i + 2] ?? '')) {
      found.push(body);
      i += 2;
    }
  }
  return found;
}

/** The JWT's claims, decoded without verification (the server verifies; this reads type and expiry). */
function claimsOf(jwt: string): { type?: unknown; exp?: unknown; sub?: unknown } {
  const parts = jwt.split('.');
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
      nats?: { type?: unknown };
      type?: unknown;
      exp?: unknown;
      sub?: unknown;
    };
    return { type: claims.nats?.type ?? claims.type, exp: claims.exp, sub: claims.sub };
  } catch {
    throw new CredsFileError('its user JWT block does not decode to JSON claims; ' + GET_NEW);
  }
}

/** A user NKey seed's bytes, or why `seedText` is not one. */
function userSeed(seedText: string, where: string): Uint8Array {
  const seed = new TextEncoder().encode(seedText);
  try {
    nkeys.fromSeed(seed);
  } catch {
    throw new CredsFileError(`${where} does not hold a valid NKey seed`);
  }
  if (!seedText.startsWith('SU')) throw new CredsFileError(`${where} is not a user's NKey seed (a user seed starts with SU)`);
  return seed;
}

/**
 * An `nkey_seed_file`: the user's NKey seed alone on a line (as `nk -gen user` writes it), or in a
 * decorated seed block. A creds file here is refused with a pointer to creds_file (its JWT would not be sent).
 */
export function parseSeedFile(text: string): Uint8Array {
  const found = blocks(text);
  if (found.length > 1 || (found.length === 1 && found[0]!.split('.').length === 3))
    throw new CredsFileError('it holds a user JWT too: that is a creds file, set it as creds_file instead');
  const seedText =
    found[0] ??
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => /^S[A-Z]/.test(l));
  if (seedText === undefined) throw new CredsFileError('it holds no NKey seed (a line starting with SU, as `nk -gen user` writes it)');
  return userSeed(seedText, 'its seed line');
}

/**
 * Parses a creds file's text, checking what can be checked without the server: both blocks present, the
 * JWT a user's and not expired at `nowMs`, the seed a valid user seed whose public key is the JWT's subject.
 */
export function parseCreds(text: string, nowMs = Date.now()): NatsCreds {
  // Told apart by content, not position (as the Go clients take them), so a file holding only one of the
  // two is told which one it lacks.
  const found = blocks(text);
  const jwt = found.find((b) => b.split('.').length === 3);
  const seedText = found.find((b) => /^S[A-Z]/.test(b) && !b.includes('.'));
  if (jwt === undefined)
    throw new CredsFileError(
      `it holds ${seedText === undefined ? 'no user JWT block' : 'an NKey seed but no user JWT block'} (-----BEGIN NATS USER JWT-----); ${GET_NEW} (a bare NKey seed file goes in nkey_seed_file instead)`,
    );
  if (seedText === undefined)
    throw new CredsFileError('it holds a user JWT but no NKey seed block (-----BEGIN USER NKEY SEED-----), so it cannot sign in; ' + GET_NEW);
  const claims = claimsOf(jwt);
  if (claims.type !== 'user')
    throw new CredsFileError(
      `${typeof claims.type === 'string' ? `its JWT is an ${claims.type} JWT` : 'its JWT names no claim type (nats.type)'}, not a user's; ${GET_NEW}`,
    );
  const seed = userSeed(seedText, 'its NKey seed block');
  const publicKey = nkeys.fromSeed(seed).getPublicKey();
  if (publicKey !== claims.sub)
    throw new CredsFileError("its NKey seed is not the key of its JWT's user (the two blocks come from different users); " + GET_NEW);
  const expiresAtMs = typeof claims.exp === 'number' && claims.exp > 0 ? claims.exp * 1000 : undefined;
  if (expiresAtMs !== undefined && expiresAtMs <= nowMs)
    throw new CredsFileError(
      `its user JWT expired at ${new Date(expiresAtMs).toISOString()}; get a new creds file for the user (nsc generate creds, or your NATS provider)`,
    );
  return { jwt, seed, expiresAtMs };
}
