/* reportgen explorers: draws the views of explorer.html.j2 from the data embedded beside them.
   One self-contained function, safe to run once per page load: it defines no globals, requests nothing and
   shows no word of its own (labels and readout formats come from the page). Numbers are formatted for the
   page's language. Data encoding: reportgen/explorer.py (base64 of little-endian float16 or float32). */
(() => {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 400, HEIGHT = 270, LEFT = 52, RIGHT = 22, TOP = 12, BOTTOM = 40;
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf"];
  const language = document.documentElement.lang || "en";
  const number = new Intl.NumberFormat(language, {maximumSignificantDigits: 3});
  const count = new Intl.NumberFormat(language, {maximumFractionDigits: 0});
  const tick = new Intl.NumberFormat(language, {notation: "compact", maximumSignificantDigits: 3});
  const show = value => Number.isFinite(value) ? number.format(value) : "—";
  const fill = (format, values) => Object.entries(values).reduce((text, [k, v]) => text.split("{" + k + "}").join(v),
    format);

  function bytes(text) {
    const raw = atob(text), view = new DataView(new ArrayBuffer(raw.length));
    for (let i = 0; i < raw.length; i++) view.setUint8(i, raw.charCodeAt(i));
    return view;
  }
  function single(text) {
    const view = bytes(text), out = new Float64Array(view.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  function half(text, exponent = 0) {
    const view = bytes(text), out = new Float64Array(view.byteLength / 2), scale = 2 ** exponent;
    for (let i = 0; i < out.length; i++) {
      const h = view.getUint16(2 * i, true), sign = h & 0x8000 ? -1 : 1, power = (h >> 10) & 31, fraction = h & 1023;
      out[i] = power === 31 ? (fraction ? NaN : sign * Infinity)
        : sign * (power ? 1 + fraction / 1024 : fraction / 1024) * 2 ** ((power || 1) - 15) * scale;
    }
    return out;
  }

  function node(tag, attributes, parent) {
    const element = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    parent.appendChild(element);
    return element;
  }
  function scale(domain, range, log) {
    const f = log ? Math.log10 : v => v, d0 = f(domain[0]), d1 = f(domain[1]);
    return v => range[0] + (f(v) - d0) / (d1 - d0 || 1) * (range[1] - range[0]);
  }
  function ticks(domain, log) {
    const out = [];
    if (log) {  // powers of ten; within less than two decades, 2 and 5 times them too
      const inside = v => v >= domain[0] && v <= domain[1];
      for (let e = Math.floor(Math.log10(domain[0])); e <= Math.ceil(Math.log10(domain[1])); e++) out.push(10 ** e);
      const decades = out.filter(inside);
      if (decades.length >= 2) return decades;
      const finer = out.flatMap(v => [v, 2 * v, 5 * v]).filter(inside);
      return finer.length >= 2 ? finer : [domain[0], domain[1]];
    }
    const rough = (domain[1] - domain[0]) / 5 || 1, power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= rough);
    for (let v = Math.ceil(domain[0] / step) * step; v <= domain[1] + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }
  function extent(values, log) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (Number.isFinite(v) && (!log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (lo > hi) return log ? [0.1, 10] : [-1, 1];
    if (log) return [lo / 1.6, hi * 1.6];
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }

  // A chart's axes, ticks and labels; returns its scales and the clipped group the data go into. The svg records
  // its domains, so a reader (or a test) can map every drawn point back to data.
  function frame(svg, xDomain, yDomain, xLog, yLog) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    const x = scale(xDomain, [LEFT, WIDTH - RIGHT], xLog), y = scale(yDomain, [HEIGHT - BOTTOM, TOP], yLog);
    const clip = svg.closest(".explorer").id + "-" + svg.dataset.role + "-clip";
    const box = {x: LEFT, y: TOP, width: WIDTH - LEFT - RIGHT, height: HEIGHT - TOP - BOTTOM};
    node("rect", box, node("clipPath", {id: clip}, node("defs", {}, svg)));
    node("rect", {...box, class: "frame"}, svg);
    for (const v of ticks(xDomain, xLog)) {
      node("line", {class: "tick", x1: x(v), x2: x(v), y1: HEIGHT - BOTTOM, y2: HEIGHT - BOTTOM + 4}, svg);
      node("text", {x: x(v), y: HEIGHT - BOTTOM + 16, "text-anchor": "middle"}, svg).textContent = tick.format(v);
    }
    for (const v of ticks(yDomain, yLog)) {
      node("line", {class: "tick", x1: LEFT - 4, x2: LEFT, y1: y(v), y2: y(v)}, svg);
      node("text", {x: LEFT - 6, y: y(v) + 4, "text-anchor": "end"}, svg).textContent = tick.format(v);
    }
    node("text", {x: (LEFT + WIDTH - RIGHT) / 2, y: HEIGHT - 6, "text-anchor": "middle"}, svg).textContent =
      svg.dataset.xLabel;
    node("text", {x: 12, y: (TOP + HEIGHT - BOTTOM) / 2, "text-anchor": "middle",
      transform: `rotate(-90 12 ${(TOP + HEIGHT - BOTTOM) / 2})`}, svg).textContent = svg.dataset.yLabel;
    svg.dataset.scale = JSON.stringify({x: [xDomain, [LEFT, WIDTH - RIGHT], xLog],
      y: [yDomain, [HEIGHT - BOTTOM, TOP], yLog]});
    return {x, y, plot: node("g", {"clip-path": `url(#${clip})`}, svg)};
  }
  // A path through the points (x, y); a NaN breaks it, and values are held within [lo, hi] so that a curve
  // leaving the frame is drawn steeply out of it (and clipped) rather than at coordinates no renderer likes.
  function line(xs, ys, chart, lo, hi) {
    let d = "", pen = false;
    for (let i = 0; i < xs.length; i++) {
      if (Number.isNaN(ys[i])) { pen = false; continue; }
      d += (pen ? "L" : "M") + chart.x(xs[i]).toFixed(3) + "," + chart.y(Math.min(hi, Math.max(lo, ys[i]))).toFixed(3);
      pen = true;
    }
    return d;
  }

  // The chosen setting in the page's words ("Degree 12, Noise 0,3, Seed 1"), for the charts' names.
  function setting(section) {
    return [...section.querySelectorAll(".explorer-controls label")].map(label =>
      label.firstChild.textContent.trim() + " " + label.querySelector("select").selectedOptions[0].textContent).join(", ");
  }
  // Said once, when the reader has moved a control or a replay has stopped: never on every frame of a replay.
  function announce(section) {
    section.querySelector("[data-role=status]").textContent = section.querySelector("[data-role=readout]").textContent;
  }

  // The controls: one drop-down per swept key (data-axis) and one for the seed; a run is looked up by both.
  function picker(section, items, redraw) {
    const axes = [...section.querySelectorAll("select[data-axis]")], seed = section.querySelector("select[data-seed]");
    const key = (point, s) => point.join(",") + "|" + s;
    const index = new Map(items.map((item, i) => [key(item.point, item.seed), i]));
    for (const control of [...axes, seed]) control.addEventListener("change", redraw);
    return {
      current: () => index.get(key(axes.map(c => Number(c.value)), Number(seed.value))),
      siblings: (item, along) => items.filter(other => other.seed === item.seed
        && other.point.every((v, a) => a === along || v === item.point[a])),
    };
  }

  function replay(section, data) {
    const slider = section.querySelector("[data-role=step]"), button = section.querySelector("[data-role=play]");
    const readout = section.querySelector("[data-role=readout]");
    const fitChart = section.querySelector("svg[data-role=fit]");
    const lossChart = section.querySelector("svg[data-role=loss]");
    const datasets = data.datasets.map(d => ({xTrain: single(d.x_train), yTrain: single(d.y_train),
      xTest: single(d.x_test), target: single(d.target), gap: d.gap, ylim: d.ylim}));
    const decoded = new Map();
    let timer = null;
    const pick = picker(section, data.runs, () => { draw(); announce(section); });

    function selected() {
      const i = pick.current(), run = data.runs[i];
      if (!decoded.has(i)) decoded.set(i, {fits: half(run.fits), losses: single(run.losses)});
      return {run, ...decoded.get(i), schedule: data.schedules[run.schedule], dataset: datasets[run.data]};
    }
    function draw() {
      const {fits, losses, schedule, dataset} = selected();
      const last = schedule.checkpoints.length - 1;
      if (Number(slider.max) !== last) slider.max = last;
      const k = Math.min(Number(slider.value), last), step = schedule.checkpoints[k], n = dataset.xTest.length;
      const [lo, hi] = dataset.ylim, span = hi - lo;
      const fit = frame(fitChart, [dataset.xTest[0], dataset.xTest[n - 1]], dataset.ylim, false, false);
      if (dataset.gap) {
        const [start, end] = dataset.gap.map(fit.x);
        node("rect", {class: "gap", x: start, y: TOP, width: end - start, height: HEIGHT - TOP - BOTTOM}, fit.plot);
      }
      node("path", {class: "target", d: line(dataset.xTest, dataset.target, fit, lo - span, hi + span)}, fit.plot);
      dataset.xTrain.forEach((x, i) => node("circle", {class: "point", cx: fit.x(x), cy: fit.y(dataset.yTrain[i]),
        r: 3}, fit.plot));
      node("path", {class: "fit", d: line(dataset.xTest, fits.subarray(k * n, (k + 1) * n), fit, lo - span, hi + span)},
        fit.plot);

      const shown = schedule.curve.filter(s => s <= step).length, now = losses[shown - 1];
      const [floor, ceiling] = extent(losses, true);
      const loss = frame(lossChart, [1, Math.max(schedule.steps, 2)], [floor, ceiling], true, true);
      const curve = line(schedule.curve.slice(0, shown), losses.subarray(0, shown), loss, floor, ceiling);
      node("path", {class: "loss", d: curve}, loss.plot);
      if (Number.isFinite(now)) {
        const y = loss.y(Math.min(ceiling, Math.max(floor, now)));
        node("circle", {class: "now", cx: loss.x(step), cy: y, r: 4}, loss.plot);
      }
      const words = {step: count.format(step), steps: count.format(schedule.steps), loss: show(now),
        setting: setting(section)};
      readout.textContent = fill(section.dataset.readout, words);
      slider.setAttribute("aria-valuetext", readout.textContent);  // what the slider says as it moves
      fitChart.setAttribute("aria-label", fill(section.dataset.fitName, words));
      lossChart.setAttribute("aria-label", fill(section.dataset.lossName, words));
    }
    function stop() {
      clearInterval(timer);
      timer = null;
      button.setAttribute("aria-pressed", "false");  // the one sign of Play's state; its label stays "Play"
      announce(section);
    }
    button.addEventListener("click", () => {
      if (timer) return stop();
      if (Number(slider.value) >= Number(slider.max)) slider.value = 0;
      draw();
      button.setAttribute("aria-pressed", "true");
      timer = setInterval(() => {
        if (Number(slider.value) >= Number(slider.max)) return stop();
        slider.value = Number(slider.value) + 1;
        draw();
      }, 700);
    });
    slider.addEventListener("input", () => { if (timer) stop(); draw(); });
    // Start at the end of training: the fit the static figures show.
    slider.max = data.schedules[data.runs[0].schedule].checkpoints.length - 1;
    slider.value = slider.max;
    draw();
  }

  function samples(section, data) {
    const readout = section.querySelector("[data-role=readout]");
    const drawsChart = section.querySelector("svg[data-role=draws]");
    const spreadChart = section.querySelector("svg[data-role=spread]");
    const grids = data.grids.map(single), along = data.axes.findIndex(axis => axis.key === data.along);
    const pick = picker(section, data.configs, () => { draw(); announce(section); });

    function draw() {
      const config = data.configs[pick.current()], x = grids[config.x];
      const draws = half(config.draws, config.exponent), n = x.length;
      const [lo, hi] = extent(draws, false), top = Math.max(Math.abs(lo), Math.abs(hi));
      const chart = frame(drawsChart, [x[0], x[n - 1]], [-top, top], false, false);
      for (let d = 0; d * n < draws.length; d++) {
        node("path", {class: "draw", stroke: COLORS[d % COLORS.length],
          d: line(x, draws.subarray(d * n, (d + 1) * n), chart, -2 * top, 2 * top)}, chart.plot);
      }
      const row = pick.siblings(config, along).sort((a, b) => a.width - b.width)
        .map(c => ({...c, measured: c.measured ?? NaN, theory: c.theory ?? NaN}));  // null: a spread that overflowed
      const ys = row.flatMap(c => [c.measured, c.theory]), widths = row.map(c => c.width);
      const spread = frame(spreadChart, extent(widths, true), extent(ys, true), true, true);
      const theory = line(widths, row.map(c => c.theory), spread, Number.MIN_VALUE, Infinity);
      node("path", {class: "theory", d: theory}, spread.plot);
      for (const c of row.filter(c => Number.isFinite(c.measured))) {
        node("circle", {class: "measured", cx: spread.x(c.width), cy: spread.y(c.measured), r: 3.5}, spread.plot);
      }
      const chosen = row.find(c => c.width === config.width);
      if (Number.isFinite(chosen.measured)) {
        node("circle", {class: "ring", cx: spread.x(chosen.width), cy: spread.y(chosen.measured), r: 7}, spread.plot);
      }
      const words = {measured: show(chosen.measured), theory: show(chosen.theory), setting: setting(section),
        how: config.exact ? section.dataset.exact : section.dataset.limit};
      readout.textContent = fill(section.dataset.readout, words);
      drawsChart.setAttribute("aria-label", fill(section.dataset.drawsName, words));
      spreadChart.setAttribute("aria-label", fill(section.dataset.spreadName, words));
    }
    draw();
  }

  const widgets = {replay, samples};
  for (const section of document.querySelectorAll(".explorer[data-widget]")) {
    if (section.dataset.ready || !widgets[section.dataset.widget]) continue;
    widgets[section.dataset.widget](section, JSON.parse(section.querySelector("script[data-role=data]").textContent));
    section.hidden = false;
    section.dataset.ready = "true";
  }
})();
