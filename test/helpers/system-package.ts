import { accessSync, constants } from 'node:fs';

/**
 * Whether a test that needs a Debian package's program can run here. Where the program is installed the
 * test runs. In CI (`CI=true`, where .ci/run installs the package) a missing program is an error, so the
 * test can never be skipped there by accident. Elsewhere (a fresh machine with only Node and npm) the test
 * is skipped, and a line says which package would run it.
 */
export function systemProgram(path: string, debianPackage: string, what: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`${path} is missing: CI must install the Debian package "${debianPackage}" (.ci/run) for ${what}`);
    console.log(`skipping ${what}: ${path} not found (apt-get install ${debianPackage} to run it)`);
    return false;
  }
}
