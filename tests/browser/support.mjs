// What both browser test files need: the gateway binary started on a free
// loopback port, the codes it mails (printed to its console), and Debian's
// Chromium. GATEWAY_BIN and CHROMIUM override the binaries' paths.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository's root directory. */
export const root = fileURLToPath(new URL('../../', import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? `${root}target`;
const gatewayBin = process.env.GATEWAY_BIN ?? `${targetDir}/debug/local-gateway`;
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Starts the gateway with `env` added to the environment; resolves to
 * `{ process, base, console }` once it prints its address. `console()` is all
 * it printed so far (mail included).
 */
export async function startGateway(env = {}) {
  const child = spawn(gatewayBin, [], {
    env: { ...process.env, PORT: '0', RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const base = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const found = output.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (found) resolve(found[0]);
    });
  });
  return { process: child, base, console: () => output };
}

/** The verification code `gateway` mailed to `email`, once it is there. */
export async function codeFor(gateway, email) {
  const pattern = new RegExp(`mail to ${email.replace(/[.+]/g, '\\$&')} -+\\n[\\s\\S]*?verification code is (\\d{6})`);
  for (let i = 0; i < 100; i += 1) {
    const found = gateway.console().match(pattern);
    if (found) return found[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no code mailed to ${email}`);
}

/** Debian's Chromium, headless, with nothing reaching out to the network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
