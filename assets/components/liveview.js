// The playground's live pictures, drawn in the browser (a Streamlit components v2 module).
//
// Streamlit calls the default export on every rerun with `data` from ui/liveview.py. The DOM
// (canvases, captions) is built once per mounted element and kept: each call redraws the
// canvases from compact arrays (base64 uint8 heatmaps, weight matrices), so the pictures never
// go blank, change size or reload between ticks, and the server sends kilobytes, not images.
// No network access, no libraries: everything here is plain DOM and canvas 2D.
//
// While a run plays, data.stream names where its frames come from: the view then pulls
// frames (the same data without the parts that never change) from the server's training
// service (ui/service.py) one after another, and redraws each, without a Streamlit rerun. A
// frame that says the run stopped sends the "stopped" trigger, which reruns the page.
//
// Kinds of view (data.kind):
//   "network": TensorFlow Playground's network (a heatmap per neuron, weights as lines) and
//              the output over the plane with the data points, plus a small loss chart;
//   "digits":  a grid of validation digits, each framed right/wrong with its prediction;
//   "pad":     a canvas to draw a digit on, with the preprocessing and the probabilities;
//   "table":   a table of text (a lab's runs side by side);
//   "ticker":  nothing to see: sends the "tick" trigger `every` seconds (it reruns the
//              fragment it is in: the charts under a playing run);
//   "copy":    a "copy link" button.
// Text from the server (labels, class names from a visitor's CSV) is only ever set with
// textContent, never parsed as HTML.

const ORANGE = [245, 147, 34];
const BLUE = [8, 119, 189];
const GREEN = [44, 160, 44];
const PURPLE = [148, 103, 189];
const CLASS_COLORS = [ORANGE, BLUE, GREEN, PURPLE];
const WHITE = [255, 255, 255];
const RIGHT = "#2ea043";
const WRONG = "#d7263d";
const LINE_BLUE = "rgba(8, 119, 189, 0.7)";
const LINE_ORANGE = "rgba(245, 147, 34, 0.7)";
const CURVE_COLORS = { training: "#0877bd", held_out: "#f59322" };

const decoded = new Map(); // base64 string -> Uint8Array (static parts are sent unchanged)

function bytes(b64) {
  if (!b64) return new Uint8Array(0);
  let out = decoded.get(b64);
  if (out) return out;
  const bin = atob(b64);
  out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (decoded.size > 64) decoded.clear();
  decoded.set(b64, out);
  return out;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

// A canvas whose backing store follows the device pixel ratio (crisp at any zoom); drawing
// code uses CSS pixels.
function sizeCanvas(canvas, width, height) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  // (style writes only when the size changes: each one costs the page a style recalculation)
  if (canvas.style.width !== `${width}px`) canvas.style.width = `${width}px`;
  if (canvas.style.height !== `${height}px`) canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function mix(color, t) {
  // white -> color as t goes 0 -> 1
  return [
    WHITE[0] + (color[0] - WHITE[0]) * t,
    WHITE[1] + (color[1] - WHITE[1]) * t,
    WHITE[2] + (color[2] - WHITE[2]) * t,
  ];
}

// Diverging colours of TF Playground: orange below 0, white at 0, blue above.
function diverging(v) {
  const t = v / 127.5 - 1; // uint8 -> [-1, 1]
  return t < 0 ? mix(ORANGE, -t) : mix(BLUE, t);
}

// Colour tables: 256 RGBA entries per map, computed once (a frame colours every pixel of a
// dozen heatmaps through them).
const LUTS = new Map();

function lut(mode, light, k) {
  const key = `${mode}/${light}/${k}`;
  let table = LUTS.get(key);
  if (table) return table;
  table = new Uint8ClampedArray(256 * 4);
  for (let v = 0; v < 256; v++) {
    const rgb = mode === "classes" ? mix(CLASS_COLORS[k % CLASS_COLORS.length], v / 255) : diverging(v);
    for (let c = 0; c < 3; c++) table[4 * v + c] = rgb[c] + (255 - rgb[c]) * light;
    table[4 * v + 3] = 255;
  }
  LUTS.set(key, table);
  return table;
}

// A res x res heatmap (uint8 values, diverging) or a class map (winner, confidence pairs),
// lightened by `light` (TF Playground's output is 25% lighter so the points stand out),
// painted into the offscreen canvas cache[name] (made once, reused every frame).
function heatmap(cache, name, values, res, mode, light) {
  let entry = cache.get(name);
  if (!entry || entry.res !== res) {
    const canvas = document.createElement("canvas");
    canvas.width = res;
    canvas.height = res;
    const ctx = canvas.getContext("2d");
    entry = { res, canvas, ctx, image: ctx.createImageData(res, res) };
    cache.set(name, entry);
  }
  const px = entry.image.data;
  for (let p = 0; p < res * res; p++) {
    const table = mode === "classes" ? lut(mode, light, values[2 * p]) : lut(mode, light, 0);
    const v = mode === "classes" ? values[2 * p + 1] : values[p];
    const o = 4 * p;
    const t = 4 * v;
    px[o] = table[t];
    px[o + 1] = table[t + 1];
    px[o + 2] = table[t + 2];
    px[o + 3] = 255;
  }
  entry.ctx.putImageData(entry.image, 0, 0);
  return entry.canvas;
}

function drawSmooth(ctx, image, x, y, w, h) {
  // bilinear ("low"): smooth enough for a heatmap, and far cheaper to redraw every frame than
  // the "high" filter in a browser without GPU rasterization
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "low";
  ctx.drawImage(image, x, y, w, h);
}

// ---------------------------------------------------------------------------------------
// The numbers above the pictures (epoch, steps, losses, accuracy), as st.metric shows them.
// Each metric is as wide as its label needs, so the row never shifts as the numbers change.

function renderMetrics(root, items) {
  let strip = root.querySelector(":scope > .nv-metrics");
  if (!items || !items.length) {
    if (strip) strip.remove();
    return;
  }
  if (!strip) {
    strip = el("div", "nv-metrics", null);
    root.insertBefore(strip, root.firstChild);
  }
  while (strip.children.length > items.length) strip.lastChild.remove();
  items.forEach((item, i) => {
    let box = strip.children[i];
    if (!box) {
      box = el("div", "nv-metric", strip);
      el("div", "nv-metric-label", box);
      el("div", "nv-metric-value", box);
    }
    if (box.dataset.label !== item.label) {
      box.dataset.label = item.label;
      box.style.minWidth = `${Math.max(96, Math.round(7.5 * item.label.length) + 24)}px`;
      box.firstChild.textContent = item.label;
    }
    if (box.title !== (item.help || "")) box.title = item.help || "";
    setText(box.lastChild, item.value);
  });
}

// ---------------------------------------------------------------------------------------
// "network": the network diagram, the output map and the loss chart

function networkLayout(data, width) {
  const cols = data.columns;
  const n = cols.length;
  const tallest = Math.max(...cols.map((c) => c.n));
  const maxThumb = data.thumb || 48;
  const budget = data.height || 300;
  const top = 26;
  const bottom = 20;
  const gapY = 8;
  const labelW = 46; // room for the input feature names ("sin(x₁)")
  const minGapX = 28;
  // the largest neuron that fits both the height budget and the width (deep networks)
  const byHeight = Math.floor((budget - top - bottom) / tallest) - gapY;
  const byWidth = Math.floor((width - labelW - 8 - (n - 1) * minGapX) / n);
  const thumb = Math.max(12, Math.min(maxThumb, byHeight, byWidth));
  const gapX = Math.max(
    minGapX,
    Math.min(160, (width - labelW - 8 - n * thumb) / Math.max(1, n - 1)),
  );
  const needed = labelW + n * thumb + (n - 1) * gapX + 8;
  const height = Math.min(budget, top + tallest * (thumb + gapY) + bottom);
  return { thumb, gapX, gapY, top, labelW, tallest, width: Math.min(width, needed), height };
}

function unitOrigin(layout, data, col, row) {
  const n = data.columns[col].n;
  const { thumb, gapX, gapY, top, labelW, tallest } = layout;
  const span = tallest * (thumb + gapY);
  const y0 = top + (span - n * (thumb + gapY)) / 2 + row * (thumb + gapY);
  return [labelW + col * (thumb + gapX), y0];
}

function drawNetwork(state, data) {
  const box = state.netBox;
  const avail = Math.max(200, box.clientWidth || 400);
  const layout = networkLayout(data, avail);
  const ctx = sizeCanvas(state.netCanvas, layout.width, layout.height);
  ctx.clearRect(0, 0, layout.width, layout.height);
  const { thumb } = layout;
  // links first, so the neurons are drawn on top
  data.weights.forEach((w, i) => {
    if (!w) return;
    const vals = w.values;
    for (let j = 0; j < w.rows; j++) {
      for (let k = 0; k < w.cols; k++) {
        const v = vals[j * w.cols + k];
        if (!Number.isFinite(v) || v === 0) continue;
        const [x0, y0] = unitOrigin(layout, data, i, k);
        const [x1, y1] = unitOrigin(layout, data, i + 1, j);
        const ax = x0 + thumb;
        const ay = y0 + thumb / 2;
        const bx = x1;
        const by = y1 + thumb / 2;
        const mid = (ax + bx) / 2;
        ctx.beginPath();
        ctx.moveTo(ax, ay);
        ctx.bezierCurveTo(mid, ay, mid, by, bx, by);
        ctx.strokeStyle = v > 0 ? LINE_BLUE : LINE_ORANGE;
        ctx.lineWidth = Math.max(0.6, 4 * Math.abs(v));
        ctx.stroke();
      }
    }
  });
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "alphabetic";
  data.columns.forEach((col, i) => {
    const maps = bytes(col.maps);
    const res = col.res;
    for (let r = 0; r < col.n; r++) {
      const [x, y] = unitOrigin(layout, data, i, r);
      const values = maps.subarray(r * res * res, (r + 1) * res * res);
      const tile = heatmap(state.tiles, `${i}/${r}`, values, res, "values", 0);
      drawSmooth(ctx, tile, x, y, thumb, thumb);
      ctx.strokeStyle = "#c8c8c8";
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 0.5, y + 0.5, thumb - 1, thumb - 1);
      if (col.labels && col.labels[r]) {
        ctx.fillStyle = "#444";
        ctx.textAlign = "right";
        ctx.fillText(col.labels[r], x - 4, y + thumb / 2 + 4);
        ctx.textAlign = "center";
      }
    }
    const [x0] = unitOrigin(layout, data, i, 0);
    ctx.fillStyle = "#3c3c3c";
    ctx.fillText(col.title, x0 + thumb / 2, 14);
    if (col.more) {
      const [, yLast] = unitOrigin(layout, data, i, col.n - 1);
      ctx.fillStyle = "#777";
      const more = (data.more_text || "+{n} more").replace("{n}", String(col.more));
      ctx.fillText(more, x0 + thumb / 2, yLast + thumb + 14);
    }
  });
}

function drawPoints(ctx, pts, size, ring, task) {
  if (!pts) return;
  const xy = bytes(pts.xy);
  const labels = bytes(pts.labels);
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const x = ((xy[4 * i] | (xy[4 * i + 1] << 8)) / 65535) * (size - 1);
    const y = ((xy[4 * i + 2] | (xy[4 * i + 3] << 8)) / 65535) * (size - 1);
    const c =
      task === "regression" ? diverging(labels[i]) : CLASS_COLORS[labels[i] % CLASS_COLORS.length];
    ctx.beginPath();
    ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = ring;
    ctx.stroke();
  }
}

function drawOutput(state, data) {
  const out = data.output;
  const size = data.size || 300;
  const ctx = sizeCanvas(state.outCanvas, size, size);
  const values = bytes(out.values);
  drawSmooth(ctx, heatmap(state.tiles, "output", values, out.res, out.mode, 0.25), 0, 0, size, size);
  // The points come with the page's own runs only (they do not change while a run plays):
  // drawn once into a layer of their own, laid over the map every frame.
  if (data.points_sent) state.points = { train: data.train, test: data.test };
  const points = state.points || {};
  const key = `${size}/${data.task}/${points.train && points.train.xy}/${points.test && points.test.xy}`;
  if (!state.pointsLayer || state.pointsKey !== key) {
    state.pointsLayer = document.createElement("canvas");
    const layer = sizeCanvas(state.pointsLayer, size, size);
    drawPoints(layer, points.train, size, "#ffffff", data.task);
    drawPoints(layer, points.test, size, "#000000", data.task);
    state.pointsKey = key;
  }
  ctx.drawImage(state.pointsLayer, 0, 0, size, size);
  ctx.strokeStyle = "#bbb";
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
}

function drawCurve(state, data) {
  const curve = data.curve;
  const width = data.size || 300;
  const height = 64;
  const ctx = sizeCanvas(state.curveCanvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const series = [
    ["training", curve && curve.training],
    ["held_out", curve && curve.held_out],
  ].filter(([, ys]) => ys && ys.length > 1);
  let hi = 0;
  for (const [, ys] of series) for (const y of ys) if (Number.isFinite(y)) hi = Math.max(hi, y);
  ctx.strokeStyle = "#ddd";
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  if (!series.length || hi <= 0) {
    ctx.fillStyle = "#9a9ca5";
    ctx.font = "12px sans-serif";
    ctx.textAlign = "center";
    ctx.fillText("the loss over time appears here", width / 2, height / 2 + 4);
    return;
  }
  for (const [name, ys] of series) {
    ctx.beginPath();
    ys.forEach((y, i) => {
      const px = 2 + (i / (ys.length - 1)) * (width - 4);
      const py = height - 3 - (Math.min(Math.max(y, 0), hi) / hi) * (height - 8);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.strokeStyle = CURVE_COLORS[name];
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
}

function buildNetwork(root) {
  const state = { tiles: new Map() };
  const wrap = el("div", "nv-network", root);
  state.netBox = el("div", "nv-net", wrap);
  state.netCanvas = el("canvas", "nv-net-canvas", state.netBox);
  state.netCanvas.setAttribute("role", "img");
  const side = el("div", "nv-out", wrap);
  state.outTitle = el("div", "nv-title", side);
  state.outCanvas = el("canvas", "nv-out-canvas", side);
  state.outCanvas.setAttribute("role", "img");
  state.curveCanvas = el("canvas", "nv-curve", side);
  state.curveLegend = el("div", "nv-legend", side);
  state.legend = el("div", "nv-caption", side);
  state.caption = el("div", "nv-caption", root);
  return state;
}

function renderNetwork(state, data) {
  setText(state.outTitle, data.output_title || "Output");
  if (state.netCanvas.getAttribute("aria-label") !== data.caption) {
    state.netCanvas.setAttribute("aria-label", data.caption || "network");
    state.outCanvas.setAttribute("aria-label", data.legend || "output");
  }
  setText(state.caption, data.caption || "");
  setText(state.legend, data.legend || "");
  setText(state.curveLegend, data.curve_legend || "");
  const width = `${data.size || 300}px`;
  if (state.outCanvas.parentElement.style.width !== width) state.outCanvas.parentElement.style.width = width;
  drawNetwork(state, data);
  drawOutput(state, data);
  drawCurve(state, data);
}

// ---------------------------------------------------------------------------------------
// "digits": validation digits framed right (green) or wrong (red), with what was predicted

function buildDigits(root) {
  const state = {};
  state.canvas = el("canvas", "nv-digits", root);
  state.canvas.setAttribute("role", "img");
  state.caption = el("div", "nv-caption", root);
  return state;
}

function renderDigits(state, data) {
  // the images come with the page's own runs only; frames send the predictions
  if (data.images) state.images = bytes(data.images);
  const images = state.images || new Uint8Array(0);
  const preds = bytes(data.pred);
  const conf = bytes(data.conf);
  const labels = bytes(data.labels);
  const n = labels.length;
  setText(state.caption, data.caption || "");
  if (images.length !== n * 784 || !n) return; // not here yet: keep the last picture
  const cols = data.cols || 10;
  const scale = data.scale || 2;
  const cell = 28 * scale;
  const pad = 3;
  const textH = 15;
  const stepX = cell + 2 * pad + 4;
  const stepY = cell + 2 * pad + textH + 4;
  const w = cols * stepX;
  const h = Math.ceil(n / cols) * stepY;
  const origin = (i) => [(i % cols) * stepX, Math.floor(i / cols) * stepY];
  const sheetKey = `${data.images || state.sheetKey}/${scale}/${cols}`;
  if (!state.sheet || (data.images && state.sheetKey !== sheetKey)) {
    // the digits themselves, drawn once into a layer of their own
    state.sheet = document.createElement("canvas");
    const sctx = sizeCanvas(state.sheet, w, h);
    const off = document.createElement("canvas");
    off.width = 28;
    off.height = 28;
    const octx = off.getContext("2d");
    const img = octx.createImageData(28, 28);
    sctx.imageSmoothingEnabled = false;
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 784; p++) {
        const v = 255 - images[i * 784 + p]; // dark ink on white, as on paper
        img.data[4 * p] = v;
        img.data[4 * p + 1] = v;
        img.data[4 * p + 2] = v;
        img.data[4 * p + 3] = 255;
      }
      octx.putImageData(img, 0, 0);
      const [x0, y0] = origin(i);
      sctx.drawImage(off, x0 + pad, y0 + pad, cell, cell);
    }
    state.sheetKey = sheetKey;
  }
  const ctx = sizeCanvas(state.canvas, w, h);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px sans-serif";
  ctx.textAlign = "center";
  const known = preds.length === n;
  for (let i = 0; i < n; i++) {
    const [x0, y0] = origin(i);
    const right = known && preds[i] === labels[i];
    ctx.fillStyle = known ? (right ? RIGHT : WRONG) : "#ccc";
    ctx.fillRect(x0, y0, cell + 2 * pad, cell + 2 * pad);
  }
  ctx.drawImage(state.sheet, 0, 0, w, h);
  if (known) {
    for (let i = 0; i < n; i++) {
      const [x0, y0] = origin(i);
      const right = preds[i] === labels[i];
      ctx.fillStyle = right ? "#333" : WRONG;
      const text = right ? `${preds[i]} · ${conf[i]}%` : `→${preds[i]} · ${conf[i]}%`;
      ctx.fillText(text, x0 + pad + cell / 2, y0 + cell + 2 * pad + 12);
    }
  }
  if (state.canvas.getAttribute("aria-label") !== data.caption) {
    state.canvas.setAttribute("aria-label", data.caption || "digits");
  }
}

// ---------------------------------------------------------------------------------------
// "pad": draw a digit; the server answers with the preprocessing and the probabilities

const PAD = 224; // CSS pixels of the drawing square
const SENT = 112; // side of the ink image sent to the server
const STROKE = 17; // pen width: MNIST strokes are 2-3 px of 28

function buildPad(root, component) {
  const state = { drawing: false, dirty: false, sentAt: 0, count: 0 };
  const row = el("div", "nv-pad-row", root);
  const left = el("div", "nv-pad-left", row);
  state.canvas = el("canvas", "nv-pad", left);
  state.canvas.setAttribute("aria-label", "Drawing pad: draw one digit with the mouse or a finger");
  state.ctx = sizeCanvas(state.canvas, PAD, PAD);
  clearPad(state);
  const clear = el("button", "nv-button", left);
  clear.type = "button";
  clear.textContent = "Clear";
  state.clear = clear;
  state.steps = el("div", "nv-steps", row);
  state.bars = el("canvas", "nv-bars", row);
  state.result = el("div", "nv-result", root);
  const point = (e) => {
    const rect = state.canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  };
  const send = (force) => {
    const now = performance.now();
    if (!state.dirty || (!force && now - state.sentAt < 250)) return;
    state.sentAt = now;
    state.dirty = false;
    state.count += 1;
    state.component.setStateValue("ink", { n: state.count, pixels: inkPixels(state) });
  };
  state.canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    state.canvas.setPointerCapture(e.pointerId);
    state.drawing = true;
    state.last = point(e);
    stroke(state, state.last, state.last);
  });
  state.canvas.addEventListener("pointermove", (e) => {
    if (!state.drawing) return;
    const p = point(e);
    stroke(state, state.last, p);
    state.last = p;
    send(false);
  });
  const end = () => {
    if (!state.drawing) return;
    state.drawing = false;
    send(true);
  };
  state.canvas.addEventListener("pointerup", end);
  state.canvas.addEventListener("pointercancel", end);
  state.canvas.addEventListener("pointerleave", end);
  clear.addEventListener("click", () => {
    clearPad(state);
    state.count += 1;
    state.component.setStateValue("ink", { n: state.count, pixels: "" });
  });
  state.component = component;
  return state;
}

function clearPad(state) {
  state.ctx.fillStyle = "#ffffff";
  state.ctx.fillRect(0, 0, PAD, PAD);
  state.dirty = false;
}

function stroke(state, a, b) {
  const ctx = state.ctx;
  ctx.strokeStyle = "#000000";
  ctx.lineWidth = STROKE;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
  state.dirty = true;
}

// The drawing as SENT x SENT ink values (0 = paper, 255 = ink), base64.
function inkPixels(state) {
  const off = document.createElement("canvas");
  off.width = SENT;
  off.height = SENT;
  const ctx = off.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(state.canvas, 0, 0, SENT, SENT);
  const rgba = ctx.getImageData(0, 0, SENT, SENT).data;
  let bin = "";
  for (let p = 0; p < SENT * SENT; p++) bin += String.fromCharCode(255 - rgba[4 * p]);
  return btoa(bin);
}

function greyImage(values, side, scale) {
  const off = document.createElement("canvas");
  off.width = side;
  off.height = side;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let p = 0; p < side * side; p++) {
    const v = 255 - values[p];
    img.data[4 * p] = v;
    img.data[4 * p + 1] = v;
    img.data[4 * p + 2] = v;
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  const big = document.createElement("canvas");
  const bctx = sizeCanvas(big, side * scale, side * scale);
  bctx.imageSmoothingEnabled = false;
  bctx.drawImage(off, 0, 0, side * scale, side * scale);
  big.className = "nv-step-img";
  return big;
}

function renderPad(state, data) {
  // the pad's own words, in the page's language (the page sends them; English otherwise)
  const words = data.text || {};
  setText(state.clear, words.clear || "Clear");
  const padLabel = words.pad || "Drawing pad: draw one digit with the mouse or a finger";
  if (state.canvas.getAttribute("aria-label") !== padLabel) {
    state.canvas.setAttribute("aria-label", padLabel);
  }
  state.steps.replaceChildren();
  for (const step of data.steps || []) {
    const fig = el("figure", "nv-step", state.steps);
    fig.appendChild(greyImage(bytes(step.pixels), step.side, Math.max(1, Math.floor(84 / step.side))));
    const cap = el("figcaption", "", fig);
    cap.textContent = step.label;
  }
  const probs = data.probs || [];
  const w = 260;
  const h = 150;
  const ctx = sizeCanvas(state.bars, w, h);
  ctx.clearRect(0, 0, w, h);
  state.bars.style.display = probs.length ? "" : "none";
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center";
  const best = probs.length ? probs.indexOf(Math.max(...probs)) : -1;
  probs.forEach((p, k) => {
    const bw = w / probs.length;
    const bh = p * (h - 36);
    ctx.fillStyle = k === best ? BLUE_CSS : "#9ab8d1";
    ctx.fillRect(k * bw + 3, h - 18 - bh, bw - 6, bh);
    ctx.fillStyle = "#333";
    ctx.fillText(String(k), k * bw + bw / 2, h - 4);
    if (p >= 0.05) ctx.fillText(`${Math.round(p * 100)}%`, k * bw + bw / 2, h - 22 - bh);
  });
  state.result.textContent = data.message || "";
  state.result.className = data.error ? "nv-result nv-error" : "nv-result";
  state.bars.setAttribute("aria-label", data.message || "probabilities");
}

const BLUE_CSS = "rgb(8, 119, 189)";

// ---------------------------------------------------------------------------------------
// "table": rows of text, with a header (a lab's runs side by side)

function buildTable(root) {
  const state = {};
  state.table = el("table", "nv-table", root);
  state.head = el("thead", "", state.table);
  state.body = el("tbody", "", state.table);
  return state;
}

function fillRow(row, cells, tag) {
  while (row.children.length > cells.length) row.lastChild.remove();
  cells.forEach((text, i) => {
    const cell = row.children[i] || el(tag, "", row);
    if (cell.textContent !== String(text)) cell.textContent = String(text);
  });
}

function renderTable(state, data) {
  const columns = data.columns || [];
  const rows = data.rows || [];
  const headRow = state.head.firstChild || el("tr", "", state.head);
  fillRow(headRow, columns, "th");
  while (state.body.children.length > rows.length) state.body.lastChild.remove();
  rows.forEach((cells, i) => fillRow(state.body.children[i] || el("tr", "", state.body), cells, "td"));
}

// ---------------------------------------------------------------------------------------
// "ticker": a timer that reruns its fragment (the server says how often: it slows the charts
// down when many runs play)

function buildTicker(root, component) {
  return { component, timer: null, count: 0 };
}

function renderTicker(state, data) {
  clearTimeout(state.timer);
  if (!(data.every > 0)) return;
  state.timer = setTimeout(() => {
    state.count += 1;
    state.component.setTriggerValue("tick", state.count);
  }, data.every * 1000);
}

// ---------------------------------------------------------------------------------------
// "copy": copy the page's link (every setting is in it) to the clipboard

const LINK_ICON =
  "M3.9 12c0-1.71 1.39-3.1 3.1-3.1h4V7H7c-2.76 0-5 2.24-5 5s2.24 5 5 5h4v-1.9H7c-1.71 " +
  "0-3.1-1.39-3.1-3.1zM8 13h8v-2H8v2zm9-6h-4v1.9h4c1.71 0 3.1 1.39 3.1 3.1s-1.39 3.1-3.1 " +
  "3.1h-4V17h4c2.76 0 5-2.24 5-5s-2.24-5-5-5z"; // Material "link"

function copyLabel(button, text) {
  button.replaceChildren();
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("nv-icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", LINK_ICON);
  svg.appendChild(path);
  button.appendChild(svg);
  button.appendChild(document.createTextNode(text));
}

// The copy button's texts; the page sends them in its language (data.text, see renderCopy).
const COPY_TEXT = {
  copy: "Copy link",
  copied: "Link copied",
  failed: "Copy failed: use the address bar",
  title: "Copy this page's link: it opens the same data, network and settings.",
};

function renderCopy(state, data) {
  state.text = Object.assign({}, COPY_TEXT, data.text || {});
  state.button.title = state.text.title;
  if (!state.busy) copyLabel(state.button, state.text.copy);
}

function buildCopy(root) {
  const state = { text: COPY_TEXT, busy: false };
  state.button = el("button", "nv-button nv-copy", root);
  state.button.type = "button";
  copyLabel(state.button, state.text.copy);
  state.button.title = state.text.title;
  state.button.addEventListener("click", async () => {
    const url = window.location.href;
    let ok = false;
    try {
      await navigator.clipboard.writeText(url);
      ok = true;
    } catch (e) {
      // http on a LAN address is not a "secure context": fall back to a selected text area
      const area = document.createElement("textarea");
      area.value = url;
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch (err) {
        ok = false;
      }
      area.remove();
    }
    copyLabel(state.button, ok ? state.text.copied : state.text.failed);
    state.button.dataset.copied = ok ? "true" : "false";
    state.busy = true;
    setTimeout(() => {
      state.busy = false;
      copyLabel(state.button, state.text.copy);
    }, 2500);
  });
  return state;
}

// ---------------------------------------------------------------------------------------

const BUILD = {
  network: buildNetwork,
  digits: buildDigits,
  pad: buildPad,
  table: buildTable,
  ticker: buildTicker,
  copy: buildCopy,
};
const RENDER = {
  network: renderNetwork,
  digits: renderDigits,
  pad: renderPad,
  table: renderTable,
  ticker: renderTicker,
  copy: renderCopy,
};

function draw(root, data) {
  root.nvData = data;
  root.classList.toggle("nv-present", Boolean(data.present));
  renderMetrics(root, data.metrics);
  RENDER[data.kind](root.nvState, data);
  root.dataset.frame = String(data.frame ?? "");
}

// ---------------------------------------------------------------------------------------
// Following a playing run: pull its frames one after another (each request waits on the
// server until a frame newer than the last one exists), merge each into the view's data and
// redraw. Stops when the page draws the view without a stream (paused), when the view is
// removed, when the run is gone, or when a frame says the run stopped by itself (then the
// "stopped" trigger reruns the page).

function follow(root) {
  const stream = root.nvData.stream;
  const current = root.nvStream;
  if (current && stream && current.url === stream.url) return;
  if (current) current.stopped = true;
  root.nvStream = null;
  if (!stream) return;
  const s = { url: stream.url, after: stream.after, stopped: false };
  root.nvStream = s;
  (async () => {
    let failures = 0;
    while (!s.stopped && root.isConnected) {
      let response;
      try {
        response = await fetch(`${s.url}?after=${s.after}`, { cache: "no-store" });
      } catch (e) {
        failures += 1; // the server restarting, a network blip: try again, then give up
        if (failures > 5) return;
        await new Promise((resolve) => setTimeout(resolve, 400 * failures));
        continue;
      }
      failures = 0;
      if (s.stopped) return;
      if (response.status === 204) continue;
      // Anything else (404: the run was replaced by a press, whose rerun redraws this view)
      // ends the stream quietly: a rerun from here could carry the page's widgets as they
      // were before that press, and undo it.
      if (!response.ok) return;
      const frame = await response.json();
      if (s.stopped) return;
      s.after = frame.frame_no;
      draw(root, Object.assign({}, root.nvData, frame));
      if (!frame.playing) {
        // stopped by itself (the end, a divergence, a cap): rerun the page to say why
        s.stopped = true;
        root.nvComponent.setTriggerValue("stopped", `frame ${frame.frame_no}`);
        return;
      }
    }
  })();
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data || !BUILD[data.kind]) return;
  let root = parentElement.querySelector(".nv-root");
  if (!root || root.dataset.kind !== data.kind) {
    if (root) root.remove();
    root = el("div", "nv-root", null);
    root.dataset.kind = data.kind;
    parentElement.appendChild(root);
    root.nvState = BUILD[data.kind](root, component);
    if (data.kind === "network") {
      // redraw at the new width when the column changes size (sidebar opened, window resized)
      const observer = new ResizeObserver(() => {
        if (root.nvData) RENDER.network(root.nvState, root.nvData);
      });
      observer.observe(root);
      root.nvObserver = observer;
    }
  }
  root.nvComponent = component;
  if (root.nvState.component) root.nvState.component = component;
  draw(root, data);
  follow(root);
  return () => {
    if (root.nvObserver) root.nvObserver.disconnect();
    if (root.nvStream) root.nvStream.stopped = true;
    if (root.nvState.timer) clearTimeout(root.nvState.timer);
  };
}
