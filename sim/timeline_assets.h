// The timeline page's fixed parts: its style sheet, its controls and its
// script (see timeline_html.cc for the markup they work on). Inline in the
// page, so it needs no network and no other file.
//
// The script, run once the page has loaded:
//  - lays the chart out at a zoom (pixels per simulated second): every
//    element with data-s (and data-e) gets its x and width from them, term
//    labels hide on spans too narrow for them, and the axis is redrawn;
//  - counts the member lanes, client rows, operations by outcome and the
//    operations named in violations into the body's data attributes
//    (data-lanes, data-clients, data-ops, data-ok, data-failed,
//    data-unknown, data-violation-ops, data-rendered="yes") and a line of
//    text, which is what a headless browser's DOM dump shows;
//  - shows the title of whatever the pointer is over in the info panel;
//  - focuses a violation's operations when its text is clicked;
//  - hides operations by outcome.
#ifndef KEEL_SIM_TIMELINE_ASSETS_H_
#define KEEL_SIM_TIMELINE_ASSETS_H_

namespace keel::sim {

inline constexpr char kTimelineCss[] = R"CSS(
body { font: 13px/1.35 system-ui, sans-serif; margin: 0 12px 90px; color: #222; }
h1 { font-size: 18px; margin: 10px 0 4px; }
h2 { font-size: 14px; margin: 8px 0 4px; }
pre { margin: 2px 0; white-space: pre-wrap; font: 12px/1.3 ui-monospace, monospace; }
.command code { background: #f3f3f3; padding: 1px 4px; }
.summary { color: #555; font-size: 12px; }
.verdict { padding: 4px 8px; margin: 6px 0; border-radius: 3px; }
.verdict.pass { background: #e8f5e9; color: #1b5e20; font-weight: bold; }
.verdict.fail { background: #ffebee; color: #b71c1c; max-height: 16em; overflow: auto; }
.verdict summary { cursor: pointer; }
#violations .violation-text { border-left: 4px solid #d50000; background: #fff5f5;
  padding: 2px 8px; margin: 4px 0; cursor: pointer; }
#violations .violation-text.active { background: #ffd6d6; }
#legend { margin: 8px 0; }
#legend .group { font-weight: bold; margin-right: 6px; }
#legend .item { display: inline-block; margin-right: 12px; white-space: nowrap; }
#legend svg { vertical-align: middle; margin-right: 3px; }
#controls { margin: 6px 0; }
#controls button { min-width: 2.2em; }
#counts { color: #555; margin-left: 12px; }
#chart-box { overflow-x: auto; border: 1px solid #ddd; }
#chart text { font: 11px system-ui, sans-serif; fill: #222; }
#chart text.label { font-weight: bold; }
#chart text.tick { fill: #666; }
#chart text.term { fill: #fff; font-size: 10px; pointer-events: none; }
#chart text.vmark { fill: #d50000; font-size: 9px; pointer-events: none; }
line.grid { stroke: #eee; }
line.faults-end { stroke: #000; stroke-dasharray: 4 3; stroke-width: 1.5; }
rect.role.leader { fill: #2e7d32; }
rect.role.follower { fill: #64b5f6; }
rect.role.candidate { fill: #fb8c00; }
rect.role.starting { fill: #bcaaa4; }
rect.role.down { fill: #424242; }
rect.mark { opacity: 0.8; }
rect.mark.kill { fill: #c62828; }
rect.mark.crash { fill: #6a1b9a; }
rect.mark.restart { fill: #000; }
rect.mark.pause { fill: #f9a825; }
rect.mark.partition { fill: #1565c0; }
rect.mark.isolate { fill: #00838f; }
rect.mark.oneway { fill: #4dd0e1; }
rect.mark.clog { fill: #7cb342; }
rect.mark.disk { fill: #8d6e63; }
rect.mark.corrupt { fill: #d81b60; }
rect.op { stroke-width: 0.5; }
rect.op.ok { fill: #81c784; stroke: #2e7d32; }
rect.op.failed { fill: #bdbdbd; stroke: #616161; }
rect.op.unknown { fill: #ffca28; stroke: #ff6f00; }
rect.op.open { stroke-dasharray: 3 2; fill-opacity: 0.5; }
rect.op.watch { fill-opacity: 0.35; }
rect.op.violation { stroke: #d50000; stroke-width: 2.5; }
rect.op.focus { stroke: #000; stroke-width: 3; }
svg.hide-ok rect.op.ok:not(.violation), svg.hide-failed rect.op.failed:not(.violation),
svg.hide-unknown rect.op.unknown:not(.violation), svg.hide-watch rect.op.watch:not(.violation)
  { display: none; }
#info { position: fixed; left: 0; right: 0; bottom: 0; min-height: 4.2em; background: #fafafa;
  border-top: 1px solid #ccc; padding: 4px 12px; white-space: pre-wrap;
  font: 12px/1.3 ui-monospace, monospace; }
)CSS";

inline constexpr char kTimelineControls[] = R"HTML(<div id="controls">
zoom <button id="zoom-out" title="zoom out">&minus;</button><button id="zoom-in"
title="zoom in">+</button><button id="zoom-fit" title="whole run">fit</button>
<span id="scale"></span> &nbsp;|&nbsp; show
<label><input type="checkbox" data-hide="ok" checked>ok</label>
<label><input type="checkbox" data-hide="failed" checked>failed</label>
<label><input type="checkbox" data-hide="unknown" checked>unknown</label>
<label><input type="checkbox" data-hide="watch" checked>watches</label>
<span id="counts"></span>
</div>
)HTML";

inline constexpr char kTimelineScript[] = R"JS(
(function () {
  'use strict';
  const svg = document.getElementById('chart');
  const box = document.getElementById('chart-box');
  const left = Number(svg.dataset.left);
  const end = Number(svg.dataset.end);
  const fitPps = Number(svg.dataset.pps);
  let pps = fitPps;
  const positioned = Array.from(svg.querySelectorAll('[data-s]'));
  const NS = 'http://www.w3.org/2000/svg';

  function axisStep(p) {
    const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
                   1, 2, 5, 10, 15, 30, 60, 120, 300];
    for (const s of steps) if (s * p >= 70) return s;
    return 600;
  }

  function drawAxis(height) {
    const axis = document.getElementById('axis');
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    const step = axisStep(pps);
    const decimals = step >= 1 ? 0 : Math.ceil(-Math.log10(step) - 1e-9);
    for (let i = 0; i * step <= end + 1e-9; i++) {
      const x = left + i * step * pps;
      const line = document.createElementNS(NS, 'line');
      line.setAttribute('class', 'grid');
      line.setAttribute('x1', x); line.setAttribute('x2', x);
      line.setAttribute('y1', 22); line.setAttribute('y2', height);
      axis.appendChild(line);
      const text = document.createElementNS(NS, 'text');
      text.setAttribute('class', 'tick');
      text.setAttribute('x', x + 2); text.setAttribute('y', 18);
      text.textContent = (i * step).toFixed(decimals) + 's';
      axis.appendChild(text);
    }
  }

  function layout() {
    for (const el of positioned) {
      const s = Number(el.dataset.s);
      const x = left + s * pps;
      const tag = el.tagName.toLowerCase();
      if (tag === 'rect') {
        const e = Number(el.dataset.e);
        const minWidth = Number(el.dataset.minw || 1);
        el.setAttribute('x', x.toFixed(2));
        el.setAttribute('width', Math.max(minWidth, (e - s) * pps).toFixed(2));
      } else if (tag === 'line') {
        el.setAttribute('x1', x.toFixed(2)); el.setAttribute('x2', x.toFixed(2));
      } else if (tag === 'text') {
        el.setAttribute('x', (x + Number(el.dataset.dx || 0)).toFixed(2));
        if (el.dataset.e !== undefined) {
          const wide = (Number(el.dataset.e) - s) * pps >= 16;
          if (wide) el.removeAttribute('display'); else el.setAttribute('display', 'none');
        }
      }
    }
    svg.setAttribute('width', Math.ceil(left + end * pps + 30));
    drawAxis(Number(svg.getAttribute('height')));
    document.getElementById('scale').textContent = Math.round(pps) + ' px/s';
  }

  // Zooms keeping the time at the middle of the visible part in place.
  function zoom(factor) {
    const middle = (box.scrollLeft + box.clientWidth / 2 - left) / pps;
    pps = Math.min(Math.max(pps * factor, fitPps), 200000);
    layout();
    box.scrollLeft = left + middle * pps - box.clientWidth / 2;
  }

  function count() {
    const ops = svg.querySelectorAll('rect.op');
    const data = document.body.dataset;
    data.lanes = svg.querySelectorAll('g.lane').length;
    data.clients = svg.querySelectorAll('g.client').length;
    data.ops = ops.length;
    data.ok = svg.querySelectorAll('rect.op.ok').length;
    data.failed = svg.querySelectorAll('rect.op.failed').length;
    data.unknown = svg.querySelectorAll('rect.op.unknown').length;
    data.violationOps = svg.querySelectorAll('rect.op.violation').length;
    data.violations = document.querySelectorAll('.violation-text').length;
    document.getElementById('counts').textContent =
        data.lanes + ' member lanes, ' + data.clients + ' client rows, ' + data.ops +
        ' operations (' + data.ok + ' ok, ' + data.failed + ' failed, ' + data.unknown +
        ' unknown), ' + data.violationOps + ' named in violations';
  }

  function focusViolation(div) {
    for (const el of svg.querySelectorAll('rect.op.focus')) el.classList.remove('focus');
    for (const el of document.querySelectorAll('.violation-text.active')) {
      el.classList.remove('active');
    }
    div.classList.add('active');
    const ids = div.dataset.ops.split(' ').filter(Boolean);
    let first = null;
    for (const id of ids) {
      const el = svg.querySelector('rect.op[data-op="' + id + '"]');
      if (!el) continue;
      el.classList.add('focus');
      if (first === null || Number(el.dataset.s) < Number(first.dataset.s)) first = el;
    }
    if (first === null) return;
    if (pps < 2000) { pps = 2000; layout(); }
    box.scrollLeft = Number(first.getAttribute('x')) - box.clientWidth / 3;
    first.scrollIntoView({block: 'center', inline: 'nearest'});
  }

  document.getElementById('zoom-in').addEventListener('click', () => zoom(2));
  document.getElementById('zoom-out').addEventListener('click', () => zoom(0.5));
  document.getElementById('zoom-fit').addEventListener('click', () => zoom(0));
  box.addEventListener('wheel', (event) => {
    if (!event.ctrlKey) return;
    event.preventDefault();
    zoom(event.deltaY < 0 ? 1.25 : 0.8);
  }, {passive: false});
  for (const input of document.querySelectorAll('#controls input[data-hide]')) {
    input.addEventListener('change', () => {
      svg.classList.toggle('hide-' + input.dataset.hide, !input.checked);
    });
  }
  for (const div of document.querySelectorAll('.violation-text')) {
    div.addEventListener('click', () => focusViolation(div));
  }
  const info = document.getElementById('info');
  svg.addEventListener('mouseover', (event) => {
    const title = event.target.querySelector ? event.target.querySelector('title') : null;
    if (title) info.textContent = title.textContent;
  });

  layout();
  count();
  document.body.dataset.rendered = 'yes';
})();
)JS";

}  // namespace keel::sim

#endif  // KEEL_SIM_TIMELINE_ASSETS_H_
