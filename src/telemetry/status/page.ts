/**
 * The status page: one self-contained HTML document (inline CSS and JS, no build step, no CDN) that polls
 * ./status.json once a second and draws the zone, rates, tables and a 5-minute timeline on canvases.
 * The script avoids template literals so it can live inside this TypeScript string.
 */
import { SOMATIC_METRICS } from '../../somatic/metrics.js';

/**
 * The page, telling the somatic sensor gauge apart by `sensorName`: the name /metrics serves it under
 * (gophership_somatic_sensor, or gophership_somatic_sensor_ratio when the reader appends unit words).
 */
export const statusPageHtml = (sensorName: string): string => /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>GopherShip status</title>
<style>
  :root {
    --bg: #0f1419; --panel: #171e26; --line: #263241; --text: #e6edf3; --muted: #8b98a8;
    --green: #2ea043; --yellow: #d4a72c; --red: #e5534b; --none: #4b5563;
    --accepted: #4c9aff; --sent: #3fb9a3; --refused: #e5534b; --debt: #b083f0; --fill: #d4a72c;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
  header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0; font-size: 18px; font-weight: 600; letter-spacing: .2px; }
  header .meta { color: var(--muted); font-size: 13px; }
  header .right { margin-left: auto; display: flex; gap: 10px; align-items: center; }
  .badge { display: inline-block; padding: 2px 9px; border-radius: 10px; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .4px; background: var(--none); color: #fff; }
  .badge.serving { background: var(--green); } .badge.draining, .badge.starting { background: var(--yellow); color: #111; } .badge.stopped, .badge.offline { background: var(--red); }
  main { padding: 18px 24px 32px; display: grid; gap: 16px; grid-template-columns: repeat(12, 1fr); align-items: start; max-width: 1500px; }
  .stack { display: grid; gap: 16px; min-width: 0; }
  .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
  .panel h2 { margin: 0 0 10px; font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .6px; }
  .zone { grid-column: span 4; display: flex; flex-direction: column; gap: 6px; border-left: 6px solid var(--none); }
  .zone.green { border-left-color: var(--green); } .zone.yellow { border-left-color: var(--yellow); } .zone.red { border-left-color: var(--red); }
  .zone .name { font-size: 34px; font-weight: 700; line-height: 1.1; text-transform: uppercase; letter-spacing: 1px; }
  .zone.green .name { color: var(--green); } .zone.yellow .name { color: var(--yellow); } .zone.red .name { color: var(--red); } .zone.none .name { color: var(--muted); font-size: 24px; }
  .zone .why { color: var(--muted); font-size: 13px; }
  .facts { display: grid; grid-template-columns: auto 1fr; gap: 4px 14px; margin: 8px 0 0; font-size: 13px; font-variant-numeric: tabular-nums; }
  .facts dt { color: var(--muted); } .facts dd { margin: 0; text-align: right; }
  .tiles { grid-column: span 8; display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; padding: 12px; align-self: stretch; grid-auto-rows: 1fr; }
  .tile { background: #121920; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
  .tile .label { color: var(--muted); font-size: 12px; }
  .tile .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; margin-top: 2px; white-space: nowrap; }
  .tile .sub { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
  .tile.accepted .value { color: var(--accepted); } .tile.sent .value { color: var(--sent); } .tile.refused.hot .value { color: var(--refused); }
  .timeline { grid-column: span 12; }
  .charts { display: grid; grid-template-columns: 2fr 1fr 1fr; gap: 16px; }
  .chart h3 { margin: 0 0 4px; font-size: 13px; font-weight: 600; }
  .chart canvas { width: 100%; height: 170px; display: block; }
  .zonestrip { width: 100%; height: 16px; display: block; margin: 0 0 12px; border-radius: 3px; }
  .legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-bottom: 4px; flex-wrap: wrap; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
  .half { grid-column: span 6; } .full { grid-column: span 12; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; }
  td.num, th.num { text-align: right; }
  tr:last-child td { border-bottom: none; }
  .flow { color: var(--muted); font-size: 12px; white-space: normal; }
  .bar { position: relative; height: 8px; width: 120px; background: #0c1116; border: 1px solid var(--line); border-radius: 4px; display: inline-block; vertical-align: middle; margin-right: 8px; overflow: hidden; }
  .bar span { position: absolute; left: 0; top: 0; bottom: 0; background: var(--sent); }
  .bar.warn span { background: var(--yellow); } .bar.crit span { background: var(--red); }
  .empty { color: var(--muted); font-size: 13px; padding: 6px 0; }
  .err { color: var(--red); }
  code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
  @media (max-width: 1100px) { .zone, .tiles, .half { grid-column: span 12; } .charts { grid-template-columns: 1fr; } .tiles { grid-template-columns: repeat(2, 1fr); } }
</style>
</head>
<body>
<header>
  <h1>GopherShip</h1>
  <span class="meta" id="meta">connecting&hellip;</span>
  <span class="right"><span class="meta" id="updated"></span><span class="badge" id="health">&hellip;</span></span>
</header>
<main>
  <section class="panel zone none" id="zone" data-zone="">
    <h2>Zone</h2>
    <div class="name" id="zone-name">&hellip;</div>
    <div class="why" id="zone-why"></div>
    <dl class="facts" id="zone-facts"></dl>
  </section>
  <section class="panel tiles">
    <div class="tile accepted"><div class="label">Accepted</div><div class="value" id="r-accepted">&ndash;</div><div class="sub" id="t-accepted"></div></div>
    <div class="tile refused" id="tile-refused"><div class="label">Refused</div><div class="value" id="r-refused">&ndash;</div><div class="sub" id="t-refused"></div></div>
    <div class="tile sent"><div class="label">Exported</div><div class="value" id="r-sent">&ndash;</div><div class="sub" id="t-sent"></div></div>
    <div class="tile"><div class="label">Export failures</div><div class="value" id="r-failed">&ndash;</div><div class="sub" id="t-failed"></div></div>
    <div class="tile"><div class="label">Memory (RSS)</div><div class="value" id="p-rss">&ndash;</div><div class="sub" id="p-heap"></div></div>
    <div class="tile"><div class="label">Event loop busy</div><div class="value" id="p-elu">&ndash;</div><div class="sub" id="p-cpu"></div></div>
    <div class="tile"><div class="label">Debt</div><div class="value" id="d-debt">&ndash;</div><div class="sub" id="d-debt-sub"></div></div>
    <div class="tile"><div class="label">Queue / WAL fill</div><div class="value" id="f-fill">&ndash;</div><div class="sub" id="f-fill-sub"></div></div>
  </section>
  <section class="panel timeline">
    <h2>Last 5 minutes</h2>
    <canvas class="zonestrip" id="c-zone" aria-label="zone timeline"></canvas>
    <div class="charts">
      <div class="chart"><h3>Records per second</h3>
        <div class="legend"><span><i style="background:var(--accepted)"></i>accepted</span><span><i style="background:var(--sent)"></i>exported</span><span><i style="background:var(--refused)"></i>refused</span></div>
        <canvas id="c-rates"></canvas></div>
      <div class="chart"><h3>Debt</h3>
        <div class="legend"><span><i style="background:var(--debt)"></i><span id="debt-unit">somatic debt</span></span></div>
        <canvas id="c-debt"></canvas></div>
      <div class="chart"><h3>Queue and WAL fill</h3>
        <div class="legend"><span><i style="background:var(--fill)"></i>queue</span><span><i style="background:var(--debt)"></i>WAL</span></div>
        <canvas id="c-fill"></canvas></div>
    </div>
  </section>
  <section class="panel half"><h2>Pipelines</h2><div id="pipelines"></div></section>
  <section class="panel half"><h2>Exporters</h2><div id="exporters"></div></section>
  <div class="stack half">
    <section class="panel"><h2>Receivers</h2><div id="receivers"></div></section>
    <section class="panel" id="storage-panel"><h2>Storage (WAL)</h2><div id="storage"></div></section>
  </div>
  <section class="panel half"><h2>Sensors</h2><div id="sensors"></div></section>
</main>
<script>
(function () {
  'use strict';
  var COLORS = ['#2ea043', '#d4a72c', '#e5534b'];
  var ZONES = ['green', 'yellow', 'red'];
  var state = { history: [], last: 0, snap: null, failures: 0 };
  function $(id) { return document.getElementById(id); }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  function num(n) {
    if (n === null || n === undefined || !isFinite(n)) return '\\u2013';
    var a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    if (a >= 100 || a === 0 || Number.isInteger(n)) return Math.round(n).toString();
    if (a >= 10) return n.toFixed(1);
    return (Math.round(n * 100) / 100).toString();
  }
  function isSensor(m) { return m.name === '${sensorName}'; }
  // Sensor readings are ratios of their limits, except event_loop_delay (ms).
  function sensorValue(m) { return m.labels.sensor === 'event_loop_delay' ? num(m.value) + ' ms' : pct(m.value); }
  function rate(n) { return num(n) + '/s'; }
  function bytes(n) {
    if (n === null || n === undefined) return '\\u2013';
    if (n >= 1073741824) return (n / 1073741824).toFixed(2) + ' GiB';
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MiB';
    if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
    return Math.round(n) + ' B';
  }
  function pct(x) { return x === null || x === undefined ? '\\u2013' : (x * 100).toFixed(x < 0.1 ? 1 : 0) + '%'; }
  function dur(s) {
    s = Math.floor(s);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  }
  function labels(l) {
    var keys = Object.keys(l || {});
    return keys.length ? keys.map(function (k) { return k + '=' + l[k]; }).join(', ') : '';
  }
  function table(head, rows, empty) {
    if (!rows.length) return '<div class="empty">' + empty + '</div>';
    var h = '<table><thead><tr>' + head.map(function (c) { return '<th' + (c.num ? ' class="num"' : '') + '>' + c.t + '</th>'; }).join('') + '</tr></thead><tbody>';
    rows.forEach(function (r) { h += '<tr>' + r.map(function (c, i) { return '<td' + (head[i].num ? ' class="num"' : '') + '>' + c + '</td>'; }).join('') + '</tr>'; });
    return h + '</tbody></table>';
  }
  function fillBar(fill) {
    var cls = fill >= 0.9 ? 'bar crit' : fill >= 0.6 ? 'bar warn' : 'bar';
    fill = fill || 0;
    return '<span class="' + cls + '"><span style="width:' + Math.min(100, Math.max(0, fill * 100)).toFixed(1) + '%"></span></span>' + pct(fill);
  }

  function render(s) {
    $('meta').textContent = 'v' + s.version + ' \\u00b7 up ' + dur(s.process.uptimeSeconds) + ' \\u00b7 sampled every ' + (s.intervalMs / 1000) + 's';
    $('updated').textContent = 'updated ' + new Date(s.now).toLocaleTimeString();
    var hb = $('health'); hb.textContent = s.health; hb.className = 'badge ' + s.health;

    var z = $('zone');
    if (s.zone.name) {
      z.className = 'panel zone ' + s.zone.name; z.setAttribute('data-zone', s.zone.name);
      $('zone-name').textContent = s.zone.name;
      $('zone-why').textContent = s.zone.name === 'green' ? 'Full processing for every request.'
        : s.zone.name === 'yellow' ? 'Optional processors bypassed; bytes pass undecoded.'
        : 'New requests are written to the somatic WAL as debt and replayed later.';
    } else {
      z.className = 'panel zone none'; z.setAttribute('data-zone', 'none');
      $('zone-name').textContent = 'No zones';
      $('zone-why').textContent = 'No somatic processor in this config: every request takes the full pipeline (always green).';
    }

    var facts = [];
    var h = state.history, since = null, changes = 0;
    for (var i = h.length - 1; i > 0; i--) { if (h[i].zone !== h[i - 1].zone) { changes++; if (since === null) since = h[i].t; } }
    if (s.zone.name) {
      facts.push(['in this zone for', h.length ? dur(((h[h.length - 1].t) - (since === null ? h[0].t : since)) / 1000) + (since === null && h.length >= s.historySize ? '+' : '') : '\u2013']);
      facts.push(['zone changes', changes + ' in 5 min \u00b7 ' + num(s.zone.transitions) + ' since start']);
      // The sensors nearest their limits, highest first (event-loop delay is in ms, so it is listed apart).
      var ratios = s.sensors.filter(function (m) { return isSensor(m) && m.labels.sensor !== 'event_loop_delay'; })
        .sort(function (a, b) { return b.value - a.value; }).slice(0, 3);
      ratios.forEach(function (m) { facts.push(['sensor ' + m.labels.sensor, sensorValue(m)]); });
      s.sensors.filter(function (m) { return isSensor(m) && m.labels.sensor === 'event_loop_delay'; }).forEach(function (m) { facts.push(['event-loop delay p99', sensorValue(m)]); });
    } else {
      facts.push(['pipelines', String(s.pipelines.length) + (s.pipelines.length ? ' (' + s.pipelines.map(function (p) { return p.id; }).join(', ') + ')' : '')]);
      facts.push(['exporters', String(s.exporters.length)]);
      facts.push(['refusing now', s.rates.refused > 0 ? 'yes, ' + rate(s.rates.refused) : 'no']);
    }
    // Worker processes: the zone above is the worst worker's; each worker's own, and the machine-wide view.
    if (s.workers) {
      s.workers.each.forEach(function (w) { facts.push(['worker ' + w.worker, (w.zone || 'no zones') + (w.up ? '' : ', not serving') + ' \u00b7 ' + bytes(w.rssBytes)]); });
      facts.push(['machine-wide view', s.workers.global || 'green']);
    }
    $('zone-facts').innerHTML = facts.map(function (f) { return '<dt>' + esc(f[0]) + '</dt><dd>' + esc(f[1]) + '</dd>'; }).join('');

    $('r-accepted').textContent = rate(s.rates.accepted); $('t-accepted').textContent = num(s.totals.accepted) + ' total';
    $('r-refused').textContent = rate(s.rates.refused); $('t-refused').textContent = num(s.totals.refused) + ' total, ' + num(s.totals.failed) + ' bad';
    $('tile-refused').className = 'tile refused' + (s.rates.refused > 0 ? ' hot' : '');
    $('r-sent').textContent = rate(s.rates.sent); $('t-sent').textContent = num(s.totals.sent) + ' total';
    $('r-failed').textContent = rate(s.rates.sendFailed + s.rates.enqueueFailed); $('t-failed').textContent = num(s.totals.sendFailed) + ' send, ' + num(s.totals.enqueueFailed) + ' enqueue';
    $('p-rss').textContent = bytes(s.process.rssBytes); $('p-heap').textContent = 'heap ' + bytes(s.process.heapUsedBytes);
    $('p-elu').textContent = pct(s.process.eventLoopUtilization); $('p-cpu').textContent = 'CPU ' + s.process.cpuPercent.toFixed(0) + '% of a core';
    if (s.debt) { $('d-debt').textContent = s.debt.unit === 'bytes' ? bytes(s.debt.value) : num(s.debt.value); $('d-debt-sub').textContent = s.debt.unit; $('debt-unit').textContent = 'somatic debt (' + s.debt.unit + ')'; }
    else { $('d-debt').textContent = '\\u2013'; $('d-debt-sub').textContent = 'no somatic debt metric'; }
    var queues = s.exporters.filter(function (e) { return e.queue; });
    var qfill = queues.length ? Math.max.apply(null, queues.map(function (e) { return e.queue.fill; })) : null;
    var fills = [qfill, s.storage.walFill].filter(function (x) { return x !== null; });
    $('f-fill').textContent = fills.length ? pct(Math.max.apply(null, fills)) : '\u2013';
    $('f-fill-sub').textContent = 'queue ' + (queues.length ? pct(qfill) : 'none') + ' \u00b7 WAL ' + (s.storage.walFill === null ? 'none' : pct(s.storage.walFill));

    $('pipelines').innerHTML = table(
      [{ t: 'pipeline' }, { t: 'in', num: 1 }, { t: 'out', num: 1 }, { t: 'refused', num: 1 }, { t: 'flow' }],
      s.pipelines.map(function (p) {
        var flow = p.receivers.join(', ') + ' \\u2192 ' + (p.processorRates.length ? p.processorRates.map(function (x) { return x.id; }).join(' \\u2192 ') + ' \\u2192 ' : '') + p.exporters.join(', ');
        return ['<b>' + esc(p.id) + '</b>', rate(p.inRate), rate(p.outRate), rate(p.refusedRate), '<span class="flow">' + esc(flow) + '</span>'];
      }), 'No pipelines.');
    $('exporters').innerHTML = table(
      [{ t: 'exporter' }, { t: 'sent', num: 1 }, { t: 'failed', num: 1 }, { t: 'queue' }],
      s.exporters.map(function (e) {
        return ['<b>' + esc(e.id) + '</b>', rate(e.sentRate), rate(e.sendFailedRate + e.enqueueFailedRate),
          e.queue ? fillBar(e.queue.fill) + ' <span class="flow">' + num(e.queue.size) + ' / ' + num(e.queue.capacity) + '</span>' : '<span class="flow">no queue</span>'];
      }), 'No exporters.');
    $('receivers').innerHTML = table(
      [{ t: 'receiver' }, { t: 'transport' }, { t: 'accepted', num: 1 }, { t: 'refused', num: 1 }, { t: 'bad data', num: 1 }],
      s.receivers.map(function (r) { return ['<b>' + esc(r.id) + '</b>', esc(r.transport), rate(r.acceptedRate), rate(r.refusedRate), rate(r.failedRate)]; }),
      'No requests received yet.');
    $('sensors').innerHTML = table(
      [{ t: 'reading' }, { t: 'labels' }, { t: 'value', num: 1 }],
      s.sensors.map(function (m) {
        if (isSensor(m)) return ['<code title="' + esc(m.help) + '">sensor ' + esc(m.labels.sensor) + '</code>', '', m.labels.sensor === 'event_loop_delay' ? num(m.value) + ' ms' : fillBar(m.value)];
        var l = Object.assign({}, m.labels);
        return ['<code title="' + esc(m.help) + '">' + esc(m.name.replace(/^gophership_somatic_/, '')) + '</code>', '<span class="flow">' + esc(labels(l)) + '</span>', /bytes/.test(m.name) ? bytes(m.value) : num(m.value)];
      }),
      'No somatic sensors: add the somatic processor to a pipeline to see the readings behind the zone.');
    $('storage').innerHTML = table(
      [{ t: 'metric' }, { t: 'labels' }, { t: 'value', num: 1 }],
      s.storage.readings.map(function (m) { return ['<code title="' + esc(m.help) + '">' + esc(m.name) + '</code>', '<span class="flow">' + esc(labels(m.labels)) + '</span>', /bytes/.test(m.name) ? bytes(m.value) : /fill|ratio/.test(m.name) || isSensor(m) ? fillBar(m.value) : num(m.value)]; }),
      'No write-ahead log in use (no WAL-backed sending queue or somatic debt).');
    draw();
  }

  // Canvas charts over a fixed window ending at the newest sample.
  function setup(c) {
    var dpr = window.devicePixelRatio || 1, w = c.clientWidth, h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    var g = c.getContext('2d'); g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, w, h);
    return { g: g, w: w, h: h };
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function niceBytes(v) { return v > 0 ? Math.pow(2, Math.ceil(Math.log2(v))) : 1024; }
  function windowMs() { var s = state.snap; return s ? s.intervalMs * s.historySize : 300000; }
  function chart(id, series, opts) {
    var c = setup($(id)), g = c.g, L = 46, R = 8, T = 6, B = 20, W = c.w - L - R, H = c.h - T - B;
    var h = state.history, end = h.length ? h[h.length - 1].t : Date.now(), span = windowMs();
    var max = opts.max || 0;
    if (!opts.max) h.forEach(function (p) { series.forEach(function (s) { var v = p[s.key]; if (v !== null && v > max) max = v; }); });
    max = opts.max || (opts.nice || niceMax)(Math.max(max, opts.floor || 0));
    g.font = '11px system-ui, sans-serif'; g.fillStyle = '#8b98a8'; g.strokeStyle = '#263241'; g.lineWidth = 1;
    for (var i = 0; i <= 4; i++) {
      var y = T + H - (H * i) / 4;
      g.beginPath(); g.moveTo(L, Math.round(y) + 0.5); g.lineTo(L + W, Math.round(y) + 0.5); g.stroke();
      g.textAlign = 'right'; g.textBaseline = 'middle'; g.fillText(opts.fmt((max * i) / 4), L - 6, y);
    }
    g.textAlign = 'center'; g.textBaseline = 'top';
    var mins = Math.round(span / 60000);
    for (var m = 0; m <= mins; m++) {
      var x = L + (W * m) / mins;
      g.textAlign = m === 0 ? 'left' : m === mins ? 'right' : 'center';
      g.fillText(m === mins ? 'now' : '\u2212' + (mins - m) + 'm', x, T + H + 5);
    }
    var any = false;
    series.forEach(function (s) {
      var pts = [];
      h.forEach(function (p) {
        var v = p[s.key];
        if (v === null || v === undefined) { pts.push(null); return; }
        any = true;
        var x = L + W - ((end - p.t) / span) * W;
        if (x >= L) pts.push([x, T + H - (Math.min(v, max) / max) * H]);
      });
      // Runs of consecutive points; a gap (null) breaks the line.
      var runs = [[]];
      pts.forEach(function (q) { if (q) runs[runs.length - 1].push(q); else if (runs[runs.length - 1].length) runs.push([]); });
      runs.forEach(function (run) {
        if (!run.length) return;
        if (s.area) {
          g.fillStyle = s.area; g.beginPath(); g.moveTo(run[0][0], T + H);
          run.forEach(function (q) { g.lineTo(q[0], q[1]); });
          g.lineTo(run[run.length - 1][0], T + H); g.closePath(); g.fill();
        }
        g.strokeStyle = s.color; g.lineWidth = s.width || 1.75; g.beginPath();
        run.forEach(function (q, i) { if (i) g.lineTo(q[0], q[1]); else g.moveTo(q[0], q[1]); });
        g.stroke();
      });
    });
    if (!any) { g.fillStyle = '#8b98a8'; g.textAlign = 'center'; g.textBaseline = 'middle'; g.font = '12px system-ui, sans-serif'; g.fillText(opts.empty, L + W / 2, T + H / 2); }
  }
  function drawZoneStrip() {
    var c = setup($('c-zone')), g = c.g, L = 46, R = 8, W = c.w - L - R, h = state.history, span = windowMs();
    var end = h.length ? h[h.length - 1].t : Date.now(), step = state.snap ? state.snap.intervalMs : 1000;
    g.fillStyle = '#121920'; g.fillRect(L, 0, W, c.h);
    g.fillStyle = '#8b98a8'; g.font = '11px system-ui, sans-serif'; g.textAlign = 'right'; g.textBaseline = 'middle'; g.fillText('zone', L - 6, c.h / 2);
    h.forEach(function (p) {
      var x = L + W - ((end - p.t) / span) * W, w = (step / span) * W + 0.6;
      if (x + w < L) return;
      g.fillStyle = p.zone === null ? '#3a4656' : COLORS[Math.max(0, Math.min(2, Math.round(p.zone)))];
      g.fillRect(Math.max(L, x - w), 0, w, c.h);
    });
  }
  function draw() {
    drawZoneStrip();
    chart('c-rates', [{ key: 'accepted', color: '#4c9aff', area: 'rgba(76,154,255,0.18)', width: 2.5 }, { key: 'sent', color: '#3fb9a3', width: 1.5 }, { key: 'refused', color: '#e5534b', width: 1.5 }], { fmt: num, floor: 10, empty: 'waiting for samples' });
    var unit = state.snap && state.snap.debt ? state.snap.debt.unit : 'records';
    chart('c-debt', [{ key: 'debt', color: '#b083f0' }], { fmt: unit === 'bytes' ? bytes : num, nice: unit === 'bytes' ? niceBytes : niceMax, floor: unit === 'bytes' ? 1024 : 10, empty: 'no somatic debt metric' });
    chart('c-fill', [{ key: 'queueFill', color: '#d4a72c' }, { key: 'walFill', color: '#b083f0' }], { max: 1, fmt: function (v) { return Math.round(v * 100) + '%'; }, empty: 'no queue or WAL metrics' });
  }

  function poll() {
    fetch('status.json?since=' + state.last, { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (s) {
        state.failures = 0;
        var keep = state.history.concat(s.history);
        state.history = keep.slice(Math.max(0, keep.length - s.historySize));
        if (state.history.length) state.last = state.history[state.history.length - 1].t;
        state.snap = s;
        render(s);
      })
      .catch(function (e) {
        state.failures++;
        var hb = $('health'); hb.textContent = 'offline'; hb.className = 'badge offline';
        $('updated').innerHTML = '<span class="err">' + esc(e.message || e) + '</span>';
      })
      .then(function () { setTimeout(poll, state.failures ? Math.min(10000, 1000 * state.failures) : (state.snap ? state.snap.intervalMs : 1000)); });
  }
  window.addEventListener('resize', function () { if (state.snap) draw(); });
  poll();
})();
</script>
</body>
</html>
`;

/** The page with the metadata's names (no `readers`: the collector's default naming). */
export const STATUS_PAGE_HTML = statusPageHtml(SOMATIC_METRICS.sensor.name);
