// The script of report.html. `reportApp` runs in the browser: html.ts inlines its source (reportApp.toString()), so it
// must stay self-contained — no imports at run time (type imports only), no module-level values. It reads the JSON the
// page inlines (#cw-data, #cw-blobs), keeps the view in the URL fragment, and draws the matrix, the run details, the
// sequence diagram (SVG) and the plots (uPlot, inlined before this script as the global `uPlot`).

import type uPlot from 'uplot';
import type { PageCell, PageData, PageRun } from '../page-data.js';
import type { PlotPayload, QlogSeries, TracePayload } from '../payload.js';

export function reportApp(): void {
  type State = { view: string; proto: string; client: string; server: string; verdict: string; q: string; run: string; rep: string };
  type Row = { t: number; d: number; i: number; c: number; l: number; k: string; f: string; e: string; a: number; al: number };

  const t0 = performance.now();
  const data = JSON.parse(document.getElementById('cw-data')!.textContent!) as PageData;
  const blobs = JSON.parse(document.getElementById('cw-blobs')!.textContent!) as string[];
  const UPlot = (window as unknown as { uPlot?: typeof uPlot }).uPlot;
  // For tests and bench/report.ts: the plots drawn, whether a run's details are complete, and how long things took.
  const exposed = { plots: [] as uPlot[], ready: false, parseMs: performance.now() - t0, renderMs: 0, detailsMs: 0 };
  (window as unknown as { __crosswire: typeof exposed }).__crosswire = exposed;

  const LETTER: Record<string, string> = { passed: 'P', failed: 'F', unsupported: 'U', error: 'E', flaky: '~' };
  const CHANGE_LABEL: Record<string, string> = {
    'new-failure': 'new failure',
    'new-unsupported': 'new unsupported',
    changed: 'changed',
    fixed: 'fixed',
    'newly-supported': 'newly supported',
    'new-cell': 'new cell',
    missing: 'missing',
  };
  const CHANGE_MARK: Record<string, string> = { 'new-failure': '▲', 'new-unsupported': '▲', changed: '•', fixed: '✓', 'newly-supported': '✓', 'new-cell': '+' };
  const KIND: Record<string, string> = {
    initial: 'Initial',
    handshake: 'Handshake',
    '0rtt': '0-RTT',
    '1rtt': '1-RTT',
    retry: 'Retry',
    'version-negotiation': 'VN',
    'client-hello': 'ClientHello',
    'hello-verify-request': 'HelloVerifyRequest',
    'server-hello': 'ServerHello',
    certificate: 'Certificate',
    'server-key-exchange': 'ServerKeyExchange',
    'certificate-request': 'CertificateRequest',
    'server-hello-done': 'ServerHelloDone',
    'certificate-verify': 'CertificateVerify',
    'client-key-exchange': 'ClientKeyExchange',
    finished: 'Finished',
    'dtls-handshake': 'Handshake msg',
    'encrypted-handshake': 'Encrypted handshake',
    'change-cipher-spec': 'ChangeCipherSpec',
    alert: 'Alert',
    'application-data': 'AppData',
    'dtls13-ciphertext': 'DTLS 1.3 ciphertext',
    unknown: '?',
  };

  const esc = (s: unknown): string =>
    String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  const byId = (id: string) => document.getElementById(id)!;
  const bad = (v: string) => v === 'failed' || v === 'error' || v === 'flaky';
  const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);
  const kinds = (k: string) => k.split('+').map((x) => KIND[x] ?? x).join('+');
  const isDropped = (f: string) => f.startsWith('dropped-by-') || f === 'queue-overflow' || f === 'mtu';

  // ---- state in the URL fragment ----
  const KEYS: (keyof State)[] = ['view', 'proto', 'client', 'server', 'verdict', 'q', 'run', 'rep'];
  const parseHash = (): State => {
    const p = new URLSearchParams(location.hash.replace(/^#/, ''));
    const s = {} as State;
    for (const k of KEYS) s[k] = p.get(k) ?? '';
    if (s.view !== 'pairs') s.view = 'grid';
    return s;
  };
  const hashOf = (s: State): string => {
    const p = new URLSearchParams();
    for (const k of KEYS) if (s[k] && !(k === 'view' && s[k] === 'grid')) p.set(k, s[k]);
    return p.toString();
  };
  let state = parseHash();
  const setState = (patch: Partial<State>, replace = false) => {
    const next = { ...state, ...patch };
    const h = '#' + hashOf(next);
    if (h === location.hash || (h === '#' && !location.hash)) return;
    // The fragment is the only state: hashchange renders (a link or a reload shows the same view).
    if (replace) location.replace(h);
    else location.hash = h;
  };

  // ---- filters ----
  const cellText = data.cells.map((c) => {
    const s = data.scenarios[c.s]!;
    return `${s.n} ${s.d} ${s.p} ${data.clients[c.c]} ${data.servers[c.v]} ${c.r} ${c.reason} ${c.ch ?? ''}`.toLowerCase();
  });
  const matches = (c: PageCell, i: number, s: State) => {
    if (s.proto && data.scenarios[c.s]!.p !== s.proto) return false;
    if (s.client && data.clients[c.c] !== s.client) return false;
    if (s.server && data.servers[c.v] !== s.server) return false;
    if (s.verdict) {
      if (s.verdict === 'bad' ? !bad(c.r) : s.verdict === 'changed' ? !c.ch : s.verdict === 'unexpected' ? !c.x : c.r !== s.verdict) return false;
    }
    if (s.q) {
      const words = s.q.toLowerCase().split(/\s+/).filter(Boolean);
      if (!words.every((w) => cellText[i]!.includes(w))) return false;
    }
    return true;
  };

  const controls = {
    proto: byId('f-proto') as HTMLSelectElement,
    client: byId('f-client') as HTMLSelectElement,
    server: byId('f-server') as HTMLSelectElement,
    verdict: byId('f-verdict') as HTMLSelectElement,
    q: byId('f-q') as HTMLInputElement,
  };
  for (const k of ['proto', 'client', 'server', 'verdict'] as const) controls[k].addEventListener('change', () => setState({ [k]: controls[k].value }));
  let typing: number | undefined;
  controls.q.addEventListener('input', () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => setState({ q: controls.q.value.trim() }, true), 150);
  });
  byId('f-reset').addEventListener('click', () => setState({ proto: '', client: '', server: '', verdict: '', q: '' }));
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-view]')) b.addEventListener('click', () => setState({ view: b.dataset.view! }));

  const syncControls = () => {
    for (const k of ['proto', 'client', 'server', 'verdict'] as const) if (controls[k].value !== state[k]) controls[k].value = state[k];
    if (document.activeElement !== controls.q && controls.q.value !== state.q) controls.q.value = state.q;
    for (const b of document.querySelectorAll<HTMLButtonElement>('[data-view]')) b.classList.toggle('on', b.dataset.view === state.view);
  };

  // ---- matrix ----
  const cellIndex = new Map(data.cells.map((c, i) => [c, i]));
  const cellButton = (c: PageCell): string => {
    const idx = cellIndex.get(c)!;
    const s = data.scenarios[c.s]!;
    const title = [
      `${s.n}: ${data.clients[c.c]} (client) → ${data.servers[c.v]} (server)`,
      c.runs.length > 1 ? `${c.r} — ${c.pass}/${c.runs.length} repetitions passed` : c.r,
      c.m ? `measurement: ${c.m}` : '',
      c.reason,
      c.ch ? `since baseline: ${CHANGE_LABEL[c.ch]} (was ${c.from ?? 'absent'})` : '',
      c.x ? `expected ${c.x}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    const rate = c.runs.length > 1 ? `<small>${c.pass}/${c.runs.length}</small>` : '';
    const mark = c.ch && CHANGE_MARK[c.ch] ? `<i class="mark ch-${c.ch}">${CHANGE_MARK[c.ch]}</i>` : '';
    const cls = `cell v-${c.r}${c.ch ? ` chg ch-${c.ch}` : ''}${c.x ? ' unexp' : ''}${state.run === c.k ? ' sel' : ''}`;
    return `<button class="${cls}" data-cell="${idx}" title="${esc(title)}">${LETTER[c.r]}${rate}${mark}</button>`;
  };

  const cellAt = new Map<string, PageCell>();
  for (const c of data.cells) cellAt.set(`${c.s}|${c.c}|${c.v}`, c);
  // Clients and servers with at least one cell of each protocol: a combined report (QUIC + TLS + DTLS) has peers that
  // speak only some protocols, and a grid row or column of "not run" for every QUIC scenario hides the real ones.
  const peersOf = new Map<string, { c: Set<number>; v: Set<number> }>();
  for (const c of data.cells) {
    const p = data.scenarios[c.s]!.p;
    let e = peersOf.get(p);
    if (!e) peersOf.set(p, (e = { c: new Set(), v: new Set() }));
    e.c.add(c.c);
    e.v.add(c.v);
  }

  const renderCounts = (visible: PageCell[]) => {
    const n: Record<string, number> = { passed: 0, failed: 0, unsupported: 0, error: 0, flaky: 0 };
    for (const c of visible) n[c.r]!++;
    const runs = visible.reduce((a, c) => a + c.runs.length, 0);
    const chips = Object.entries(n)
      .map(([v, k]) => `<button class="chip v-${v}${state.verdict === v ? ' on' : ''}" data-verdict="${v}" title="show only ${v}"><b>${LETTER[v]}</b> ${k} ${v}</button>`)
      .join('');
    byId('counts').innerHTML =
      `<span class="total">${visible.length} of ${data.cells.length} cells (${runs} runs)</span>${chips}` +
      `<span class="legend">P passed · F failed · U unsupported · E error · ~ flaky${data.baseline ? ' · ▲ new failure · ✓ fixed · • changed' : ''}</span>`;
  };

  const renderGrid = (visible: Set<PageCell>) => {
    const clients = data.clients.map((_, i) => i).filter((i) => !state.client || data.clients[i] === state.client);
    const servers = data.servers.map((_, i) => i).filter((i) => !state.server || data.servers[i] === state.server);
    let scen = data.scenarios.map((_, i) => i).filter((si) => data.cells.some((c) => c.s === si && visible.has(c)));
    if (data.baseline) {
      // Scenarios with changed cells first (stable otherwise).
      const changed = new Set(data.cells.filter((c) => c.ch && visible.has(c)).map((c) => c.s));
      scen = [...scen.filter((s) => changed.has(s)), ...scen.filter((s) => !changed.has(s))];
    }
    if (!scen.length) return '<p class="empty">No cell matches the filters.</p>';
    const cards = scen.map((si) => {
      const s = data.scenarios[si]!;
      const peers = peersOf.get(s.p)!;
      const cardServers = servers.filter((v) => peers.v.has(v));
      const head = cardServers.map((v) => `<th scope="col" title="server">${esc(data.servers[v])}</th>`).join('');
      const rows = clients
        .filter((ci) => peers.c.has(ci))
        .map((ci) => {
          const tds = cardServers
            .map((v) => {
              const c = cellAt.get(`${si}|${ci}|${v}`);
              return `<td>${c && visible.has(c) ? cellButton(c) : c ? '<span class="dim">·</span>' : '<span class="none" title="not run">–</span>'}</td>`;
            })
            .join('');
          return `<tr><th scope="row" title="client">${esc(data.clients[ci])}</th>${tds}</tr>`;
        })
        .join('');
      return (
        `<section class="card" data-scenario="${esc(s.n)}"><h3><span class="proto p-${esc(s.p)}">${esc(s.p)}</span> ${esc(s.n)}</h3>` +
        `<p class="desc" title="${esc(s.d)}">${esc(s.d) || '&nbsp;'}</p>` +
        `<table class="grid"><tr><th class="corner"><span>client ↓</span> <span>server →</span></th>${head}</tr>${rows}</table></section>`
      );
    });
    return `<div class="cards">${cards.join('')}</div>`;
  };

  const renderPairs = (visible: Set<PageCell>) => {
    const scen = data.scenarios.map((_, i) => i).filter((si) => data.cells.some((c) => c.s === si && visible.has(c)));
    const pairs: [number, number][] = [];
    data.clients.forEach((_, ci) =>
      data.servers.forEach((__, v) => {
        if (data.cells.some((c) => c.c === ci && c.v === v && visible.has(c))) pairs.push([ci, v]);
      }),
    );
    if (!pairs.length) return '<p class="empty">No cell matches the filters.</p>';
    const head = scen.map((si) => `<th class="vert" title="${esc(data.scenarios[si]!.d)}"><span>${esc(data.scenarios[si]!.n)}</span></th>`).join('');
    const rows = pairs
      .map(([ci, v]) => {
        const tds = scen
          .map((si) => {
            const c = cellAt.get(`${si}|${ci}|${v}`);
            return `<td>${c && visible.has(c) ? cellButton(c) : c ? '<span class="dim">·</span>' : '<span class="none" title="not run">–</span>'}</td>`;
          })
          .join('');
        return `<tr><th scope="row" class="pair">${esc(data.clients[ci])} <span>→</span> ${esc(data.servers[v])}</th>${tds}</tr>`;
      })
      .join('');
    return `<div class="pairs-wrap"><table class="pairs"><thead><tr><th class="corner">client → server</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
  };

  const renderChanges = () => {
    const el = byId('changes');
    if (!data.baseline) return void (el.hidden = true);
    const ch = data.baseline.changes;
    const counts: Record<string, number> = {};
    for (const c of ch) counts[c.kind] = (counts[c.kind] ?? 0) + 1;
    const summary = Object.entries(counts)
      .map(([k, n]) => `${CHANGE_LABEL[k]}: ${n}`)
      .join(' · ');
    const idx = new Map(data.cells.map((c, i) => [c.k, i]));
    const rows = ch
      .map((c) => {
        const i = idx.get(c.key);
        const cell = i !== undefined ? data.cells[i] : undefined;
        // key: <server>_<client>/<scenario>
        const [pair = '', scenario = c.key] = c.key.split(/\/(.*)/s);
        const cut = pair.indexOf('_');
        const label = cell
          ? `${esc(data.scenarios[cell.s]!.n)} <span class="muted">·</span> ${esc(data.clients[cell.c])} → ${esc(data.servers[cell.v])}`
          : `${esc(scenario)} <span class="muted">·</span> ${esc(pair.slice(cut + 1))} → ${esc(pair.slice(0, cut))}`;
        const name = i !== undefined ? `<button class="link" data-cell="${i}" title="${esc(c.key)}">${label}</button>` : `<span title="${esc(c.key)}">${label}</span>`;
        return `<tr class="ch-${c.kind}"><td><span class="badge ch-${c.kind}">${CHANGE_LABEL[c.kind]}</span></td><td>${name}</td><td>${c.from ? `<span class="v v-${c.from}">${c.from}</span>` : '—'} → ${c.to ? `<span class="v v-${c.to}">${c.to}</span>` : '—'}</td></tr>`;
      })
      .join('');
    el.hidden = false;
    el.innerHTML =
      `<h2>Changes since the baseline <code>${esc(data.baseline.source)}</code></h2>` +
      (ch.length ? `<p>${summary}</p><table class="changes"><tbody>${rows}</tbody></table>` : '<p>No cell changed.</p>');
  };

  const renderExpected = () => {
    const el = byId('expected');
    const e = data.expected;
    if (!e) return void (el.hidden = true);
    el.hidden = false;
    el.innerHTML = `<h2>Expected results <code>${esc(e.source)}</code></h2><p>${e.regressions} regression(s), ${e.improvements} improvement(s), ${e.other} other difference(s), ${e.missing} expected cell(s) not run. <button class="link" data-verdict="unexpected">show cells not as expected</button></p>`;
  };

  // ---- details ----
  const payloads = new Map<number, Promise<unknown>>();
  const inflate = <T>(i: number): Promise<T> => {
    let p = payloads.get(i);
    if (!p) {
      p = (async () => {
        const bin = Uint8Array.from(atob(blobs[i]!), (ch) => ch.charCodeAt(0));
        const stream = new Blob([bin]).stream().pipeThrough(new DecompressionStream('gzip'));
        return JSON.parse(await new Response(stream).text()) as unknown;
      })();
      payloads.set(i, p);
    }
    return p as Promise<T>;
  };
  const mbText = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  /** tp = [bytes read, size] when only the head of trace.txt was read: counts are then lower bounds. */
  const fateLine = (total: number, fates: Record<string, number>, tp?: [number, number]) =>
    `<p class="fates">${tp ? 'at least ' : ''}${total.toLocaleString('en')} datagrams${tp ? ` (the first ${mbText(tp[0])} of ${mbText(tp[1])} of trace.txt were read)` : ''}: ${Object.entries(fates)
      .sort((a, b) => b[1] - a[1])
      .map(([f, n]) => `<span class="fate f-${isDropped(f) ? 'dropped' : esc(f)}">${esc(f)} ${n}</span>`)
      .join(' ')}</p>`;
  const rowsOf = (p: TracePayload): Row[] => {
    const rows: Row[] = [];
    let t = 0;
    for (let n = 0; n < p.shown; n++) {
      t += p.t[n]!;
      rows.push({ t, d: p.d[n]!, i: p.i[n]!, c: p.c[n]!, l: p.l[n]!, k: p.s[p.k[n]!]!, f: p.s[p.f[n]!]!, e: p.s[p.e[n]!]!, a: p.a[n]!, al: p.al[n]! });
    }
    return rows;
  };

  const copyButton = (text: string) => `<button class="copy" data-copy="${esc(text)}" title="copy to the clipboard">Copy</button>`;

  const pickRun = (c: PageCell): PageRun => {
    const runs = c.runs.map((i) => data.runs[i]!);
    const wanted = state.rep !== '' ? runs.find((r) => String(r.rep) === state.rep) : undefined;
    return wanted ?? runs.find((r) => r.verdict !== 'passed') ?? runs[0]!;
  };

  let openKey = '';
  const renderDetails = () => {
    const panel = byId('details');
    const cell = state.run ? data.cells.find((c) => c.k === state.run) : undefined;
    if (!cell) {
      panel.hidden = true;
      openKey = '';
      document.body.classList.remove('has-details');
      return;
    }
    const run = pickRun(cell);
    const key = `${cell.k}#${run.rep}`;
    panel.hidden = false;
    document.body.classList.add('has-details');
    if (key === openKey) return;
    openKey = key;
    const s = data.scenarios[cell.s]!;
    const client = data.clients[cell.c]!;
    const server = data.servers[cell.v]!;
    const runs = cell.runs.map((i) => data.runs[i]!);
    let h = `<header><h2><span class="v v-${run.verdict}">${LETTER[run.verdict]} ${run.verdict}</span> ${esc(s.n)} <small>${esc(client)} (client) → ${esc(server)} (server)</small></h2><button class="close" data-close title="close (Esc)">×</button></header><div class="body">`;
    if (run.reason) h += `<p class="reason">${esc(run.reason)}</p>`;
    if (cell.ch) h += `<p class="since">Since the baseline: <span class="badge ch-${cell.ch}">${CHANGE_LABEL[cell.ch]}</span> (was ${cell.from ?? 'absent'}, now ${cell.r})</p>`;
    if (cell.x) h += `<p class="since">Expected <span class="v v-${cell.x}">${cell.x}</span>, got <span class="v v-${cell.r}">${cell.r}</span>.</p>`;
    if (runs.length > 1) {
      const pct = Math.round((100 * cell.pass) / runs.length);
      h += `<section class="reps"><h3>Repetitions: ${cell.pass} of ${runs.length} passed (${pct}%)${cell.r === 'flaky' ? ' — flaky' : ''}</h3><div class="rep-tabs">`;
      h += runs.map((r) => `<button class="rep v-${r.verdict}${r === run ? ' on' : ''}" data-rep="${r.rep}" title="${esc(r.verdict + (r.reason ? ': ' + r.reason : ''))}">${r.rep}</button>`).join('');
      h += '</div>';
      const failing = runs.filter((r) => r.verdict !== 'passed');
      if (failing.length) {
        h += '<table class="failing"><tr><th>rep</th><th>verdict</th><th>reason</th><th>replay</th></tr>';
        h += failing
          .map((r) => `<tr><td><button class="link" data-rep="${r.rep}">${r.rep}</button></td><td><span class="v v-${r.verdict}">${r.verdict}</span></td><td>${esc(r.reason)}</td><td><code>${esc(r.replay)}</code> ${copyButton(r.replay)}</td></tr>`)
          .join('');
        h += '</table>';
      }
      h += `<p class="muted">Showing repetition ${run.rep}.</p></section>`;
    }
    if (cell.m) h += `<p class="measure">Measurement: <b>${esc(cell.m)}</b> over the ${runs.filter((r) => r.m !== undefined && r.verdict === 'passed').length} run(s) that passed${run.m !== undefined ? `; this run ${Math.round(run.m)} kbps` : ''}</p>`;

    h += `<section><h3>Checks</h3>`;
    if (run.checks.length) {
      const xo = run.checks.some((c) => c.x !== undefined || c.o !== undefined);
      h += `<table class="checks"><thead><tr><th>check</th><th></th>${xo ? '<th>expected</th><th>observed</th>' : '<th>detail</th>'}</tr></thead><tbody>`;
      h += run.checks
        .map((c) => {
          const body = !xo ? `<td>${esc(c.d)}</td>` : c.x !== undefined || c.o !== undefined ? `<td>${esc(c.x ?? '')}</td><td>${esc(c.o ?? '')}${c.d ? `<div class="muted">${esc(c.d)}</div>` : ''}</td>` : `<td colspan="2">${esc(c.d)}</td>`;
          return `<tr class="${c.ok ? 'ok' : 'notok'}"><td>${esc(c.n)}</td><td class="mark">${c.ok ? '✓' : '✗'}</td>${body}</tr>`;
        })
        .join('');
      h += '</tbody></table>';
    } else h += '<p class="muted">No checks recorded.</p>';
    h += '</section>';

    h += `<section><h3>Replay</h3><div class="cmd"><code>${esc(run.replay)}</code>${copyButton(run.replay)}</div></section>`;

    const facts: [string, string][] = [
      ['seed', String(run.seed)],
      ['protocol', s.p + (run.alpn ? ` (ALPN ${run.alpn})` : '')],
      ['client', `${client}${run.cv ? ' ' + run.cv : ''}${run.cl ? ` — ${run.cl}` : ''}`],
      ['server', `${server}${run.sv ? ' ' + run.sv : ''}${run.sl ? ` — ${run.sl}` : ''}`],
      ['simulated time', fmtMs(run.simMs)],
      ['wall time', fmtMs(run.wallMs)],
      ['trace hash', run.hash || '—'],
      ['scenario file', run.file || '—'],
      ['run folder', run.rel || '.'],
    ];
    const metrics = Object.entries(run.metrics).map(([k, v]) => `<span class="metric">${esc(k)} <b>${esc(v)}</b></span>`).join(' ');
    h += `<section class="facts"><h3>Run</h3><table>${facts.map(([k, v]) => `<tr><th>${k}</th><td>${esc(v)}</td></tr>`).join('')}</table>${metrics ? `<p class="metrics">${metrics}</p>` : ''}</section>`;

    const link = (l: PageRun['links'][number]) =>
      l.ok ? `<a href="${esc(l.h)}" class="art art-${esc(l.k)}">${esc(l.l)}</a>` : `<span class="art missing" title="not found when the report was written: ${esc(l.h)}">${esc(l.l)} (missing)</span>`;
    h += '<section><h3>Artifacts</h3><p class="links">';
    if (!run.links.length) h += '<span class="muted">none recorded (run with --capture for pcapng, keylog and qlog)</span>';
    else {
      // Many connections mean many qlog files: list the first few, the rest behind a toggle.
      const qlogs = run.links.filter((l) => l.k === 'qlog');
      const rest = run.links.filter((l) => l.k !== 'qlog');
      h += [...rest, ...qlogs.slice(0, 4)].map(link).join(' ');
      if (qlogs.length > 4) h += `<details class="more"><summary>all ${qlogs.length} qlog files</summary>${qlogs.slice(4).map(link).join(' ')}</details>`;
    }
    h += '</p></section>';

    const net = run.network !== undefined ? run.network : s.net;
    h += `<section><h3>Network</h3>${net !== undefined ? `${run.network === undefined ? '<p class="muted">From the scenario; defaults for the rest (15 ms one way, 10 Mbit/s, queue 25).</p>' : ''}<pre class="net">${esc(net)}</pre>` : '<p class="muted">Default link: 15 ms one way, 10 Mbit/s, queue 25; no impairments.</p>'}</section>`;
    const yaml = s.y !== undefined ? data.texts[s.y] : undefined;
    h += `<section><details${bad(run.verdict) ? ' open' : ''}><summary><h3>Scenario YAML</h3> <code>${esc(s.file)}</code></summary>${yaml !== undefined ? `<pre class="yaml">${esc(yaml)}</pre>` : '<p class="muted">The scenario file was not readable when the report was written.</p>'}</details></section>`;

    h += `<section><h3>Sequence diagram</h3><div id="seq" class="seq">${run.q === undefined ? `<p class="muted">${esc(run.pn ?? 'No trace recorded.')}</p>` : '<p class="muted">loading…</p>'}</div></section>`;
    h += `<section><h3>Plots</h3><div id="plots" class="plots">${run.p === undefined ? `<p class="muted">${esc(run.pn ?? 'No trace or qlog recorded.')}</p>` : ''}</div></section>`;
    h += '</div>';
    panel.innerHTML = h;
    panel.scrollTop = 0;
    for (const u of exposed.plots) u.destroy();
    exposed.plots = [];
    exposed.ready = false;
    const want = openKey;
    const opened = performance.now();
    const failed = (e: Error) => {
      byId('seq').innerHTML = `<p class="muted">Cannot read the inlined data: ${esc(e.message)}</p>`;
    };
    const seq = run.q === undefined ? Promise.resolve() : inflate<TracePayload>(run.q).then((tp) => void (openKey === want && drawSequence(tp, run, client, server)), failed);
    const plots =
      run.p === undefined
        ? Promise.resolve()
        : inflate<PlotPayload>(run.p).then((pp) => {
            if (openKey !== want) return;
            if (run.q === undefined && pp.total) byId('seq').innerHTML = `${fateLine(pp.total, pp.fates, pp.tp)}<p class="note">${esc(run.pn ?? 'Datagrams not inlined.')}</p>`;
            drawPlots(pp);
          }, failed);
    void Promise.all([seq, plots]).then(() => {
      if (openKey !== want) return;
      exposed.detailsMs = performance.now() - opened;
      exposed.ready = true;
    });
  };

  // ---- sequence diagram: client | network | server, one row per datagram, paged ----
  const drawSequence = (p: TracePayload, run: PageRun, client: string, server: string) => {
    const all = rowsOf(p);
    const box = byId('seq');
    let onlyImpaired = false;
    let page = 0;
    const size = data.pageSize;
    const note =
      p.shown < p.total
        ? `<p class="note">The first ${p.shown.toLocaleString('en')} of ${p.tp ? 'at least ' : ''}${p.total.toLocaleString('en')} datagrams are inlined${run.pn ? ` (${esc(run.pn)})` : ''}; the whole trace is in ${run.links.find((l) => l.k === 'trace') ? `<a href="${esc(run.links.find((l) => l.k === 'trace')!.h)}">trace.txt</a>` : 'trace.txt'}.</p>`
        : '';
    const impaired = (r: Row) => r.f !== 'delivered' || r.e !== '';
    const draw = () => {
      const rows = onlyImpaired ? all.filter(impaired) : all;
      const pages = Math.max(1, Math.ceil(rows.length / size));
      page = Math.min(page, pages - 1);
      const slice = rows.slice(page * size, (page + 1) * size);
      const W = 900;
      const xC = 190;
      const xN = 520;
      const xS = 850;
      const rowH = 22;
      const top = 34;
      const H = top + slice.length * rowH + 10;
      let svg = `<svg class="seq-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="sequence diagram">`;
      svg += '<defs>';
      for (const [id, col] of [['ts', '#1565c0'], ['tc', '#2e7d32'], ['bad', '#c62828'], ['alt', '#ef6c00'], ['dup', '#6a1b9a'], ['ro', '#ad1457'], ['dl', '#00838f']]) {
        svg += `<marker id="ah-${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${col}"/></marker>`;
      }
      svg += '</defs>';
      svg += `<text x="8" y="16" class="hd">time (ms)</text><text x="${xC}" y="16" class="hd" text-anchor="middle">client: ${esc(client)}</text><text x="${xN}" y="16" class="hd" text-anchor="middle">network</text><text x="${xS}" y="16" class="hd" text-anchor="middle">server: ${esc(server)}</text>`;
      for (const x of [xC, xN, xS]) svg += `<line x1="${x}" y1="22" x2="${x}" y2="${H}" class="life${x === xN ? ' net' : ''}"/>`;
      slice.forEach((r, n) => {
        const y = top + n * rowH + 12;
        const toClient = r.d === 1;
        const x0 = toClient ? xS : xC;
        const x1 = toClient ? xC : xS;
        const dir = toClient ? 'tc' : 'ts';
        const eff = r.e ? r.e.split('+') : [];
        let cls = dir;
        if (isDropped(r.f)) cls = 'bad';
        else if (r.f === 'corrupted' || r.f === 'truncated' || eff.includes('corrupted') || eff.includes('truncated')) cls = 'alt';
        else if (r.c > 0) cls = 'dup';
        else if (r.f === 'reordered' || eff.includes('reordered')) cls = 'ro';
        else if (eff.includes('delayed')) cls = 'dl';
        const sent = (r.t / 1000).toFixed(3);
        const arrived = r.a >= 0 ? ((r.t + r.a) / 1000).toFixed(3) : '';
        const tip = `#${r.i}${r.c ? ` copy ${r.c}` : ''} ${toClient ? 'server → client' : 'client → server'}, ${kinds(r.k)}, ${r.l} bytes${r.al >= 0 ? ` (arrived with ${r.al})` : ''}\nsent ${sent} ms${arrived ? `, arrived ${arrived} ms (+${(r.a / 1000).toFixed(3)} ms)` : ''}\nfate: ${r.f}${eff.length ? `; effects: ${eff.join(', ')}` : ''}`;
        svg += `<g class="dg ${cls}" data-fate="${esc(r.f)}"><title>${esc(tip)}</title>`;
        svg += `<text x="8" y="${y + 4}" class="tm">${sent}</text>`;
        const full = `${kinds(r.k)} ${r.l} B`;
        // half the width between a lifeline and the network holds about 46 characters
        const label = full.length > 46 ? `${full.slice(0, 45 - String(r.l).length - 3)}… ${r.l} B` : full;
        const lx = toClient ? (xS + xN) / 2 : (xC + xN) / 2;
        svg += `<text x="${lx}" y="${y - 3}" class="lb" text-anchor="middle">${esc(label)}</text>`;
        if (isDropped(r.f) || r.f === 'in-flight') {
          svg += `<line x1="${x0}" y1="${y}" x2="${xN}" y2="${y}" class="ln ${cls}${r.f === 'in-flight' ? ' dash' : ''}"/>`;
          if (r.f === 'in-flight') svg += `<text x="${xN + (toClient ? -8 : 8)}" y="${y + 4}" class="fl" text-anchor="${toClient ? 'end' : 'start'}">in flight at the end</text>`;
          else svg += `<path d="M${xN - 6},${y - 6}L${xN + 6},${y + 6}M${xN + 6},${y - 6}L${xN - 6},${y + 6}" class="x"/><text x="${xN + (toClient ? -10 : 10)}" y="${y + 4}" class="fl bad" text-anchor="${toClient ? 'end' : 'start'}">${esc(r.f)}</text>`;
        } else {
          svg += `<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" class="ln ${cls}${cls === 'alt' ? ' dash' : ''}" marker-end="url(#ah-${cls})"/>`;
          const tags: string[] = [];
          if (r.f !== 'delivered') tags.push(r.f === 'truncated' && r.al >= 0 ? `truncated → ${r.al} B` : r.f === 'duplicated' ? `duplicate #${r.c}` : r.f);
          for (const e of eff) if (e !== r.f && !(e === 'duplicated' && r.f === 'duplicated')) tags.push(e === 'delayed' ? `delayed (+${(r.a / 1000).toFixed(1)} ms)` : e);
          if (tags.length) {
            svg += `<path d="M${xN},${y - 5}l4,5l-4,5l-4,-5z" class="dia ${cls}"/>`;
            const rx = toClient ? (xC + xN) / 2 : (xN + xS) / 2;
            svg += `<text x="${rx}" y="${y - 3}" class="fl ${cls}" text-anchor="middle">${esc(tags.join(', '))}</text>`;
          }
        }
        svg += '</g>';
      });
      svg += '</svg>';
      const pager =
        `<div class="pager"><button data-pg="first" ${page === 0 ? 'disabled' : ''}>«</button><button data-pg="prev" ${page === 0 ? 'disabled' : ''}>‹ prev</button>` +
        `<span>page ${page + 1} of ${pages} · datagrams ${rows.length ? page * size + 1 : 0}–${page * size + slice.length} of ${rows.length}${onlyImpaired ? ' impaired' : ''}</span>` +
        `<button data-pg="next" ${page >= pages - 1 ? 'disabled' : ''}>next ›</button><button data-pg="last" ${page >= pages - 1 ? 'disabled' : ''}>»</button>` +
        `<label><input type="checkbox" data-imp ${onlyImpaired ? 'checked' : ''}> only datagrams the network altered</label></div>`;
      box.innerHTML = `${fateLine(p.total, p.fates, p.tp)}${note}${pager}<div class="seq-scroll">${svg}</div>${rows.length > size ? pager : ''}`;
      box.dataset.rows = String(slice.length);
    };
    box.onclick = (ev) => {
      const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('[data-pg]');
      if (!b) return;
      const rows = onlyImpaired ? all.filter(impaired).length : all.length;
      const pages = Math.max(1, Math.ceil(rows / size));
      page = b.dataset.pg === 'first' ? 0 : b.dataset.pg === 'prev' ? page - 1 : b.dataset.pg === 'next' ? page + 1 : pages - 1;
      draw();
    };
    box.onchange = (ev) => {
      if ((ev.target as HTMLElement).matches('[data-imp]')) {
        onlyImpaired = (ev.target as HTMLInputElement).checked;
        page = 0;
        draw();
      }
    };
    if (!all.length) {
      box.innerHTML = `<p class="muted">${p.total ? 'Datagrams not inlined' + (run.pn ? ` (${esc(run.pn)})` : '') : 'The trace is empty or was not found.'}</p>`;
      return;
    }
    draw();
  };

  // ---- plots (uPlot) ----
  const drawPlots = (p: PlotPayload) => {
    const box = byId('plots');
    box.innerHTML = '';
    if (!UPlot) {
      box.innerHTML = '<p class="muted">uPlot is missing from this file.</p>';
      return;
    }
    const width = Math.max(320, Math.min(880, box.clientWidth - 10));
    const plot = (parent: HTMLElement, title: string, unit: string, xs: number[], series: { label: string; color: string; values: (number | null)[] }[]): uPlot => {
      const div = document.createElement('div');
      div.className = 'plot';
      parent.appendChild(div);
      div.dataset.points = String(series.reduce((a, s) => a + s.values.filter((v) => v !== null).length, 0));
      const opts: uPlot.Options = {
        title,
        width,
        height: 200,
        scales: { x: { time: false } },
        series: [{ label: 'ms' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true }))],
        axes: [{ label: 'time (ms)' }, { label: unit, size: 70 }],
      };
      const u = new UPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, div);
      exposed.plots.push(u);
      return u;
    };
    const q = p.qlog;
    if (q.length) {
      const holder = document.createElement('div');
      let mine: uPlot[] = [];
      const drawQ = (i: number) => {
        const s: QlogSeries = q[i]!;
        for (const u of mine) u.destroy();
        exposed.plots = exposed.plots.filter((u) => !mine.includes(u));
        holder.innerHTML = '';
        mine = [
          plot(holder, `Congestion window and bytes in flight — ${s.name}`, 'bytes', s.t, [
            { label: 'cwnd', color: '#1565c0', values: s.cwnd },
            { label: 'bytes in flight', color: '#ef6c00', values: s.inflight },
          ]),
          plot(holder, `RTT — ${s.name}`, 'ms', s.t, [
            { label: 'latest', color: '#9e9e9e', values: s.latest },
            { label: 'smoothed', color: '#2e7d32', values: s.smoothed },
            { label: 'min', color: '#6a1b9a', values: s.min },
          ]),
        ];
        // A large qlog is sampled (or read from its head): say which part the curves come from.
        if (s.note) {
          const n = document.createElement('p');
          n.className = 'note';
          n.textContent = `Plotted ${s.note}.`;
          holder.appendChild(n);
        }
      };
      const first = Math.max(0, q.findIndex((s) => s.vantage === 'server'));
      if (q.length > 1) {
        const sel = document.createElement('label');
        sel.className = 'qsel';
        sel.innerHTML = `qlog: <select>${q.map((s, i) => `<option value="${i}"${i === first ? ' selected' : ''}>${esc(s.name)}</option>`).join('')}</select>`;
        sel.querySelector('select')!.addEventListener('change', (e) => drawQ(Number((e.target as HTMLSelectElement).value)));
        box.appendChild(sel);
      }
      box.appendChild(holder);
      drawQ(first);
    } else {
      const n = document.createElement('p');
      n.className = 'muted';
      n.textContent = 'No qlog with recovery metrics for this run (QUIC runs write qlog files with --capture).';
      box.appendChild(n);
    }
    for (const why of p.qn ?? []) {
      const n = document.createElement('p');
      n.className = 'note';
      n.textContent = why;
      box.appendChild(n);
    }
    if (p.goodput) {
      const g = p.goodput;
      plot(box, `Goodput to the client (per ${g.binMs} ms, from ${p.tp ? `the first ${mbText(p.tp[0])} of ` : ''}the trace)`, 'kbit/s', g.kbps.map((_, i) => i * g.binMs), [{ label: 'kbit/s', color: '#00838f', values: g.kbps }]);
    }
  };

  // ---- events ----
  const copyText = async (text: string, btn: HTMLElement) => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      ok = document.execCommand('copy');
      ta.remove();
    }
    const old = btn.textContent;
    btn.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => (btn.textContent = old), 1200);
  };
  document.addEventListener('click', (ev) => {
    const t = ev.target as HTMLElement;
    const cellEl = t.closest<HTMLElement>('[data-cell]');
    if (cellEl) {
      const c = data.cells[Number(cellEl.dataset.cell)]!;
      setState({ run: c.k, rep: '' });
      return;
    }
    const rep = t.closest<HTMLElement>('[data-rep]');
    if (rep) return setState({ rep: rep.dataset.rep! });
    const copy = t.closest<HTMLElement>('[data-copy]');
    if (copy) return void copyText(copy.dataset.copy!, copy);
    if (t.closest('[data-close]')) return setState({ run: '', rep: '' });
    const v = t.closest<HTMLElement>('[data-verdict]');
    if (v) return setState({ verdict: state.verdict === v.dataset.verdict ? '' : v.dataset.verdict! });
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.run) setState({ run: '', rep: '' });
  });

  const render = () => {
    const start = performance.now();
    state = parseHash();
    syncControls();
    const visibleList = data.cells.filter((c, i) => matches(c, i, state));
    const visible = new Set(visibleList);
    renderCounts(visibleList);
    byId('matrix').innerHTML = state.view === 'pairs' ? renderPairs(visible) : renderGrid(visible);
    exposed.renderMs = performance.now() - start;
    renderDetails();
  };
  window.addEventListener('hashchange', render);
  renderChanges();
  renderExpected();
  render();
  document.body.dataset.ready = '1';
}
