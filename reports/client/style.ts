// The stylesheet of report.html (inlined). Verdicts have a colour and a letter each, so the matrix reads without colour.

export const REPORT_CSS = `
:root { --pass:#2e7d32; --pass-bg:#d7f0d8; --fail:#c62828; --fail-bg:#fdd9d7; --uns:#546e7a; --uns-bg:#e3e8eb;
  --err:#8e24aa; --err-bg:#f1dcf5; --flaky:#b26a00; --flaky-bg:#ffe7b8; --line:#d0d5da; --muted:#667; --ink:#1d232a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
header.top { padding: 14px 20px 10px; background: #fff; border-bottom: 1px solid var(--line); }
header.top h1 { margin: 0 0 2px; font-size: 20px; }
header.top .meta { color: var(--muted); font-size: 12.5px; }
header.top .meta code { font-size: 12px; }
.banner { margin: 10px 20px 0; padding: 8px 12px; border-radius: 6px; background: var(--flaky-bg); border: 1px solid #e0b25a; }
nav.filters { position: sticky; top: 0; z-index: 5; display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; padding: 8px 20px;
  background: #fff; border-bottom: 1px solid var(--line); }
nav.filters label { font-size: 12.5px; color: var(--muted); display: inline-flex; gap: 5px; align-items: center; }
nav.filters select, nav.filters input { font: inherit; font-size: 13px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 5px; background: #fff; color: var(--ink); }
nav.filters input[type=search] { width: 240px; }
nav.filters .views { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
nav.filters .views button { border: 0; background: #fff; padding: 4px 10px; font: inherit; font-size: 13px; cursor: pointer; }
nav.filters .views button.on { background: #263238; color: #fff; }
nav.filters #f-reset { font: inherit; font-size: 12.5px; background: none; border: 0; color: #1565c0; cursor: pointer; text-decoration: underline; }
#counts { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 10px 20px 4px; }
#counts .total { font-weight: 600; margin-right: 6px; }
#counts .legend { color: var(--muted); font-size: 12px; margin-left: auto; }
.chip { border: 1px solid transparent; border-radius: 12px; padding: 1px 9px; font: inherit; font-size: 12.5px; cursor: pointer; }
.chip.on { border-color: var(--ink); }
.v-passed { background: var(--pass-bg); color: var(--pass); }
.v-failed { background: var(--fail-bg); color: var(--fail); }
.v-unsupported { background: var(--uns-bg); color: var(--uns); }
.v-error { background: var(--err-bg); color: var(--err); }
.v-flaky { background: repeating-linear-gradient(135deg, var(--flaky-bg) 0 5px, #fff3d6 5px 10px); color: var(--flaky); }
span.v { padding: 0 6px; border-radius: 4px; font-weight: 600; font-size: 12.5px; }
section.panel { margin: 10px 20px; padding: 10px 14px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
section.panel h2 { font-size: 15px; margin: 0 0 6px; }
table.changes td { padding: 2px 10px 2px 0; }
.badge { font-size: 11.5px; padding: 1px 7px; border-radius: 10px; background: #eceff1; white-space: nowrap; }
.badge.ch-new-failure, .badge.ch-changed { background: var(--fail); color: #fff; }
.badge.ch-new-unsupported { background: var(--uns); color: #fff; }
.badge.ch-fixed, .badge.ch-newly-supported { background: var(--pass); color: #fff; }
button.link { border: 0; background: none; padding: 0; font: inherit; color: #1565c0; cursor: pointer; text-decoration: underline; }
main#matrix { padding: 6px 20px 40px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px 10px; min-width: 210px; max-width: 460px; }
.card h3 { margin: 0; font-size: 14px; display: flex; align-items: center; gap: 6px; }
.card .desc { margin: 2px 0 6px; font-size: 12px; color: var(--muted); width: 0; min-width: 100%; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.proto { font-size: 10.5px; text-transform: uppercase; letter-spacing: .04em; padding: 0 5px; border-radius: 3px; background: #e8eaf6; color: #283593; font-weight: 600; }
.proto.p-dtls { background: #e0f2f1; color: #00695c; }
.proto.p-tls { background: #fce4ec; color: #ad1457; }
table.grid { border-collapse: separate; border-spacing: 3px; }
table.grid th { font-size: 12px; font-weight: 600; color: #37474f; text-align: center; padding: 0 4px; }
table.grid th[scope=row] { text-align: right; }
table.grid th.corner, table.pairs th.corner { font-size: 10.5px; font-weight: 400; color: var(--muted); text-align: left; line-height: 1.2; }
table.grid th.corner span { display: block; }
button.cell { position: relative; min-width: 34px; height: 28px; border: 1px solid rgba(0,0,0,.08); border-radius: 5px; font: 700 13px/1 ui-monospace, SFMono-Regular, Menlo, monospace; cursor: pointer; padding: 0 5px; }
button.cell small { font-weight: 400; font-size: 10px; margin-left: 3px; }
button.cell:hover { outline: 2px solid #263238; }
button.cell.sel { outline: 3px solid #263238; }
button.cell.unexp { outline: 2px dashed #263238; outline-offset: 1px; }
button.cell .mark { position: absolute; top: -7px; right: -6px; font-style: normal; font-size: 11px; line-height: 14px; min-width: 14px; border-radius: 7px; background: #fff; border: 1px solid currentColor; }
.mark.ch-new-failure, .mark.ch-new-unsupported, .mark.ch-changed { color: var(--fail); }
.mark.ch-fixed, .mark.ch-newly-supported { color: var(--pass); }
.dim, .none { display: inline-block; min-width: 34px; text-align: center; color: #b0b8bf; }
.empty { color: var(--muted); }
.pairs-wrap { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 6px; }
table.pairs { border-collapse: separate; border-spacing: 2px; }
table.pairs th.vert { vertical-align: bottom; height: 130px; padding: 0; }
table.pairs th.vert span { writing-mode: vertical-rl; transform: rotate(180deg); font-size: 12px; font-weight: 600; color: #37474f; white-space: nowrap; }
table.pairs th.pair { text-align: right; white-space: nowrap; font-size: 12.5px; padding-right: 6px; }
table.pairs th.pair span { color: var(--muted); }
table.pairs button.cell { min-width: 26px; height: 24px; }
aside#details { position: fixed; top: 0; right: 0; bottom: 0; width: min(980px, 96vw); background: #fff; border-left: 1px solid var(--line);
  box-shadow: -8px 0 24px rgba(0,0,0,.12); overflow-y: auto; z-index: 10; }
aside#details > header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: 10px 16px; display: flex; align-items: flex-start; gap: 10px; z-index: 2; }
aside#details > header h2 { margin: 0; font-size: 17px; flex: 1; }
aside#details > header h2 small { color: var(--muted); font-weight: 400; font-size: 13px; }
aside#details .close { border: 0; background: none; font-size: 24px; line-height: 1; cursor: pointer; color: var(--muted); }
aside#details .body { padding: 6px 16px 40px; }
aside#details h3 { font-size: 14px; margin: 14px 0 6px; display: inline-block; }
.reason { margin: 8px 0; padding: 8px 10px; background: var(--fail-bg); border-left: 4px solid var(--fail); border-radius: 4px; font-family: ui-monospace, Menlo, monospace; font-size: 12.5px; white-space: pre-wrap; word-break: break-word; }
.since, .measure { margin: 6px 0; }
.muted { color: var(--muted); }
table.checks { border-collapse: collapse; width: 100%; font-size: 13px; }
table.checks th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: 3px 8px; }
table.checks td { border-bottom: 1px solid #eceff1; padding: 4px 8px; vertical-align: top; word-break: break-word; }
table.checks tr.notok td { background: #fff3f2; }
table.checks tr.notok td.mark { color: var(--fail); font-weight: 700; }
table.checks tr.ok td.mark { color: var(--pass); font-weight: 700; }
.cmd { display: flex; gap: 8px; align-items: center; background: #263238; color: #eceff1; padding: 6px 8px; border-radius: 6px; }
.cmd code { flex: 1; font-size: 12.5px; word-break: break-all; }
button.copy { font: inherit; font-size: 12px; padding: 2px 8px; border-radius: 4px; border: 1px solid #90a4ae; background: #eceff1; cursor: pointer; color: var(--ink); }
.facts table { border-collapse: collapse; font-size: 13px; }
.facts th { text-align: left; color: var(--muted); font-weight: 500; padding: 1px 14px 1px 0; white-space: nowrap; vertical-align: top; }
.facts td { word-break: break-all; font-family: ui-monospace, Menlo, monospace; font-size: 12.5px; }
.metrics .metric { display: inline-block; font-size: 12px; background: #f1f3f5; border-radius: 4px; padding: 0 6px; margin: 2px 2px 0 0; color: var(--muted); }
.metrics .metric b { color: var(--ink); font-weight: 600; }
.links .art { display: inline-block; margin: 0 10px 4px 0; }
.links .missing { color: #9aa; text-decoration: line-through; }
pre { background: #f6f8fa; border: 1px solid #e5e8eb; border-radius: 6px; padding: 8px 10px; overflow-x: auto; font-size: 12.5px; margin: 4px 0; }
details summary { cursor: pointer; }
details summary h3 { margin-right: 8px; }
.reps .rep-tabs { display: flex; flex-wrap: wrap; gap: 4px; margin-bottom: 6px; }
.reps button.rep { border: 1px solid rgba(0,0,0,.1); border-radius: 4px; min-width: 28px; font: 600 12px ui-monospace, monospace; cursor: pointer; padding: 3px 5px; }
.reps button.rep.on { outline: 2px solid #263238; }
table.failing { border-collapse: collapse; font-size: 12.5px; width: 100%; }
table.failing td, table.failing th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eceff1; vertical-align: top; }
.seq .fates { margin: 2px 0 6px; font-size: 12.5px; }
.fate { display: inline-block; padding: 0 6px; border-radius: 4px; background: #eef1f3; margin: 0 3px 3px 0; font-size: 12px; }
.fate.f-dropped { background: var(--fail-bg); color: var(--fail); }
.fate.f-corrupted, .fate.f-truncated { background: #ffe3c7; color: #b34700; }
.fate.f-duplicated, .fate.f-reordered { background: #eadcf3; color: #6a1b9a; }
.note { font-size: 12.5px; background: #fff8e1; border: 1px solid #ffe082; padding: 4px 8px; border-radius: 4px; }
.pager { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; font-size: 12.5px; margin: 6px 0; }
.pager button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid var(--line); background: #fff; border-radius: 4px; cursor: pointer; }
.pager button[disabled] { opacity: .4; cursor: default; }
.pager label { margin-left: 10px; color: var(--muted); }
.seq-scroll { overflow-x: auto; border: 1px solid #e5e8eb; border-radius: 6px; background: #fff; }
svg.seq-svg { display: block; font-family: ui-monospace, Menlo, monospace; }
svg.seq-svg .hd { font: 600 12px system-ui, sans-serif; fill: #37474f; }
svg.seq-svg .life { stroke: #cfd8dc; stroke-width: 2; }
svg.seq-svg .life.net { stroke-dasharray: 4 4; }
svg.seq-svg .tm { font-size: 11px; fill: #607d8b; }
svg.seq-svg .lb { font-size: 11px; fill: #263238; }
svg.seq-svg .fl { font-size: 11px; font-weight: 600; }
svg.seq-svg .ln { stroke-width: 1.6; }
svg.seq-svg .ln.dash { stroke-dasharray: 6 3; }
svg.seq-svg .ts { stroke: #1565c0; fill: #1565c0; }
svg.seq-svg .tc { stroke: #2e7d32; fill: #2e7d32; }
svg.seq-svg .bad { stroke: #c62828; fill: #c62828; }
svg.seq-svg .alt { stroke: #ef6c00; fill: #ef6c00; }
svg.seq-svg .dup { stroke: #6a1b9a; fill: #6a1b9a; }
svg.seq-svg .ro { stroke: #ad1457; fill: #ad1457; }
svg.seq-svg .dl { stroke: #00838f; fill: #00838f; }
svg.seq-svg text.fl, svg.seq-svg text.lb, svg.seq-svg text.tm { stroke: none; }
svg.seq-svg .x { stroke: #c62828; stroke-width: 2.5; fill: none; }
svg.seq-svg g.dg:hover .lb { font-weight: 700; }
.plots .plot { margin: 6px 0 14px; }
.plots .u-title { font-size: 13px; font-weight: 600; }
.plots .u-legend { font-size: 12px; }
.links details.more { margin-top: 4px; }
.links details.more summary { color: #1565c0; font-size: 12.5px; }
.plots .qsel { font-size: 12.5px; color: var(--muted); display: block; margin-bottom: 4px; }
noscript p { margin: 20px; padding: 10px; background: var(--fail-bg); }
@media print { nav.filters { position: static; } aside#details { position: static; width: auto; box-shadow: none; } }
`;
