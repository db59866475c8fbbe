// A hand-written SVG timeline (no dependencies): records/s on top, gateway RSS below, and a zone strip
// at the bottom coloured by the somatic zone of each sample (or a note when the gateway has no zone gauge).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtAxis(v) {
  // A flood has no Green capacity or offered rate to draw (their lines are skipped): never a number here.
  if (!Number.isFinite(v)) return '-';
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(1)}`;
}

const ZONE_COLOURS = { green: '#2e9e44', yellow: '#e0b000', red: '#d0312d' };

/**
 * samples: [{t, acceptedRate, sentRate, refusedRate, rss, zone?}] from /metrics; client: [{t, rate, refused}]
 * from the load generator. capacity/offered: horizontal reference lines (records/s).
 */
export function renderTimelineSvg({ title, samples, client = [], capacity, offered, zoneNames = ['green', 'yellow', 'red'] }) {
  const W = 960;
  const H = 600;
  const L = 80;
  const R = W - 30;
  const top = { y0: 60, y1: 320 };
  const mid = { y0: 370, y1: 500 };
  const strip = { y0: 535, y1: 555 };
  const ok = samples.filter((s) => !s.scrapeError && Number.isFinite(s.t));
  const tMax = Math.max(1, ...ok.map((s) => s.t), ...client.map((c) => c.t));
  const x = (t) => L + ((R - L) * t) / tMax;
  const rateMax = niceMax(
    Math.max(capacity ?? 0, ...ok.map((s) => Math.max(s.acceptedRate ?? 0, s.sentRate ?? 0, s.refusedRate ?? 0)), ...client.map((c) => c.rate ?? 0)) * 1.05,
  );
  const yr = (v) => top.y1 - ((top.y1 - top.y0) * Math.min(v, rateMax)) / rateMax;
  const rssMaxMiB = niceMax(Math.max(...ok.map((s) => s.rss / 2 ** 20)) * 1.05);
  const ym = (b) => mid.y1 - ((mid.y1 - mid.y0) * (b / 2 ** 20)) / rssMaxMiB;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);

  const axes = (p, max, fmtTick, label) => {
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      const y = p.y1 - ((p.y1 - p.y0) * i) / 4;
      out.push(`<line x1="${L}" x2="${R}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end" fill="#444">${fmtTick(v)}</text>`);
    }
    out.push(`<line x1="${L}" x2="${L}" y1="${p.y0}" y2="${p.y1}" stroke="#888"/><line x1="${L}" x2="${R}" y1="${p.y1}" y2="${p.y1}" stroke="#888"/>`);
    out.push(`<text transform="translate(18 ${(p.y0 + p.y1) / 2}) rotate(-90)" text-anchor="middle" fill="#222">${esc(label)}</text>`);
  };
  const xTicks = (p) => {
    const step = tMax > 60 ? 10 : tMax > 20 ? 5 : tMax > 8 ? 2 : 1;
    for (let t = 0; t <= tMax + 1e-9; t += step) out.push(`<text x="${x(t)}" y="${p.y1 + 15}" text-anchor="middle" fill="#444">${t}s</text>`);
  };
  const line = (pts, colour, dash = '') =>
    pts.length > 1 &&
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`,
    );
  const hline = (v, colour, text) => {
    if (!(v > 0) || v > rateMax) return;
    out.push(`<line x1="${L}" x2="${R}" y1="${yr(v)}" y2="${yr(v)}" stroke="${colour}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${R - 4}" y="${yr(v) - 4}" text-anchor="end" fill="${colour}">${esc(text)}</text>`);
  };

  // Throughput panel.
  axes(top, rateMax, fmtAxis, 'records / s');
  xTicks(top);
  hline(capacity, '#2e9e44', `Green capacity ${fmtAxis(capacity)}/s`);
  if (offered > rateMax) out.push(`<text x="${R - 4}" y="${top.y0 - 6}" text-anchor="end" fill="#777">offered ${fmtAxis(offered)}/s (off scale)</text>`);
  else hline(offered, '#777', `offered ${fmtAxis(offered)}/s`);
  line(
    ok.map((s) => [x(s.t), yr(s.acceptedRate)]),
    '#1f5fbf',
  );
  line(
    ok.map((s) => [x(s.t), yr(s.sentRate)]),
    '#00a0a0',
    '4 2',
  );
  line(
    ok.map((s) => [x(s.t), yr(s.refusedRate)]),
    '#d0312d',
  );
  line(
    client.map((c) => [x(c.t), yr(c.rate)]),
    '#9a6a00',
    '2 3',
  );
  const legend = [
    ['#1f5fbf', '', 'accepted by receiver'],
    ['#00a0a0', '4 2', 'sent by exporter'],
    ['#d0312d', '', 'refused by receiver'],
    ['#9a6a00', '2 3', 'acked at client'],
  ];
  legend.forEach(([c, d, t], i) => {
    const lx = L + 10 + i * 190;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="44" y2="44" stroke="${c}" stroke-width="2"${d ? ` stroke-dasharray="${d}"` : ''}/><text x="${lx + 30}" y="48">${t}</text>`,
    );
  });

  // RSS panel.
  axes(mid, rssMaxMiB, (v) => `${Math.round(v)}`, 'RSS (MiB)');
  xTicks(mid);
  line(
    ok.map((s) => [x(s.t), ym(s.rss)]),
    '#7a3fb0',
  );
  out.push(`<text x="${L + 10}" y="${mid.y0 - 8}" fill="#7a3fb0">gateway RSS (max ${Math.round(Math.max(...ok.map((s) => s.rss)) / 2 ** 20)} MiB)</text>`);

  // Zone strip.
  out.push(`<text x="${L - 6}" y="${strip.y1 - 5}" text-anchor="end" fill="#222">zone</text>`);
  const zoned = ok.filter((s) => s.zone !== undefined);
  if (zoned.length === 0) {
    out.push(`<rect x="${L}" y="${strip.y0}" width="${R - L}" height="${strip.y1 - strip.y0}" fill="#f2f2f2" stroke="#ccc"/>`);
    out.push(
      `<text x="${(L + R) / 2}" y="${strip.y1 - 5}" text-anchor="middle" fill="#666">no gophership_somatic_zone gauge on this gateway (somatic controller not present)</text>`,
    );
  } else {
    for (let i = 0; i < zoned.length; i++) {
      const s = zoned[i];
      const t0 = i === 0 ? 0 : zoned[i - 1].t;
      const name = zoneNames[Math.round(s.zone)] ?? 'unknown';
      out.push(
        `<rect x="${x(t0).toFixed(1)}" y="${strip.y0}" width="${Math.max(0.5, x(s.t) - x(t0)).toFixed(1)}" height="${strip.y1 - strip.y0}" fill="${ZONE_COLOURS[name] ?? '#999'}"><title>${s.t.toFixed(2)}s ${name}</title></rect>`,
      );
    }
    Object.entries(ZONE_COLOURS).forEach(([n, c], i) =>
      out.push(
        `<rect x="${L + i * 90}" y="${strip.y1 + 12}" width="12" height="12" fill="${c}"/><text x="${L + i * 90 + 16}" y="${strip.y1 + 22}">${n}</text>`,
      ),
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
