// The open-loop paced client of the fixed-rate A/Bs (paced-ab.mjs, tls-paced.mjs): one prepared OTLP/HTTP
// protobuf body posted `rate` times a second from 8 keep-alive connections, at most 32 in flight (a request
// that would pass that is counted as skipped: the server did not keep up).
import http from 'node:http';
import https from 'node:https';

/** Posts `body` to `url` (http or https, trusting `ca`) at `rate` per second for `ms`; resolves with {acked, failed, skipped}. */
export function pace({ url, body, rate, ms, ca }) {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const lib = secure ? https : http;
  const agent = new lib.Agent({ keepAlive: true, maxSockets: 8, ...(secure && ca ? { ca } : {}) });
  const headers = { 'content-type': 'application/x-protobuf', 'content-length': String(body.length) };
  let inFlight = 0;
  const out = { acked: 0, failed: 0, skipped: 0 };
  const post = () => {
    if (inFlight >= 32) {
      out.skipped++;
      return;
    }
    inFlight++;
    const req = lib.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        if (res.statusCode === 200) out.acked++;
        else out.failed++;
      });
    });
    req.on('error', () => {
      inFlight--;
      out.failed++;
    });
    req.end(body);
  };
  return new Promise((resolve) => {
    const t0 = performance.now();
    let sent = 0;
    const tick = setInterval(() => {
      const due = Math.min(Math.floor(((performance.now() - t0) / 1000) * rate), Math.floor((ms / 1000) * rate));
      while (sent < due) {
        sent++;
        post();
      }
      if (performance.now() - t0 >= ms) {
        clearInterval(tick);
        const wait = setInterval(() => {
          if (inFlight === 0) {
            clearInterval(wait);
            agent.destroy();
            resolve(out);
          }
        }, 5);
      }
    }, 5);
  });
}
