// genomni studio: one page, routed by the URL's hash; every figure comes from the server's /api and /media routes.
"use strict";

const app = document.getElementById("app");
const where = document.getElementById("where");
let timer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function api(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(message, into = app) {
  into.append(el("div", { class: "error" }, message));
}

// an image whose request fails shows the server's one-line reason beside it (until a later source loads)
function image(src, attrs = {}) {
  const img = el("img", { src, alt: attrs.alt || "", ...attrs });
  img.addEventListener("error", async () => {
    let message = "could not load " + img.src;
    try {
      const r = await fetch(img.src);
      message = (await r.json()).error || message;
    } catch (e) { /* keep the generic line */ }
    let note = img.nextElementSibling;
    if (!note || !note.classList.contains("image-error")) {
      note = el("div", { class: "error image-error" });
      img.after(note);
    }
    note.textContent = message;
    img.style.display = "none";
  });
  img.addEventListener("load", () => {
    img.style.display = "";
    const note = img.nextElementSibling;
    if (note && note.classList.contains("image-error")) note.remove();
  });
  return img;
}

function fmt(v) {
  return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v);
}

function params() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  return { parts: path.split("/").filter(Boolean), query: new URLSearchParams(query || "") };
}

function scrubber(frames, onChange) {
  const range = el("input", { type: "range", min: 0, max: Math.max(0, frames - 1), value: 0, id: "scrubber" });
  const label = el("span", { id: "frame-label" }, "frame 0");
  const play = el("button", { type: "button", id: "play" }, "play");
  range.addEventListener("input", () => { label.textContent = "frame " + range.value; onChange(Number(range.value)); });
  play.addEventListener("click", () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
    play.textContent = "pause";
    timer = setInterval(() => {
      range.value = (Number(range.value) + 1) % frames;
      range.dispatchEvent(new Event("input"));
    }, 120);
  });
  return el("div", { class: "scrub" }, range, label, play);
}

async function home() {
  where.textContent = "";
  const items = await api("/api/items");
  const kinds = { dataset: "Datasets", decomposition: "Decompositions", eval: "Eval outputs", run: "Training runs", footage: "Footage", video: "Clips (click to make masks)" };
  const box = el("div", { class: "kinds" });
  for (const [kind, title] of Object.entries(kinds)) {
    const mine = items.filter((i) => i.kind === kind);
    if (!mine.length) continue;
    box.append(el("section", {}, el("h2", {}, title), ...mine.map((i) => el("a", { href: `#/${kind}/${i.id}`, class: "item" }, i.path))));
  }
  app.replaceChildren(box);
}

async function dataset(id, query) {
  const s = await api(`/api/${id}/summary`);
  where.textContent = `dataset: ${s.samples} samples`;
  const q = new URLSearchParams(query);
  const field = (name, node) => el("label", {}, name, node);
  const source = el("select", { name: "source" }, el("option", { value: "" }, "all"), ...s.sources.map((x) => el("option", { value: x }, x)));
  source.value = q.get("source") || "";
  const scenario = el("select", { name: "scenario", id: "scenario" }, el("option", { value: "" }, "all"), ...s.scenarios.map((x) => el("option", { value: x }, x)));
  scenario.value = q.get("scenario") || "";
  const text = el("input", { name: "q", value: q.get("q") || "", placeholder: "caption or key" });
  const sort = el("select", { name: "sort", id: "sort" }, el("option", { value: "" }, "shard order"), ...s.qc_fields.map((x) => el("option", { value: x }, x)));
  sort.value = q.get("sort") || "";
  const desc = el("select", { name: "desc" }, el("option", { value: "" }, "ascending"), el("option", { value: "1" }, "descending"));
  desc.value = q.get("desc") || "";
  const figure = el("select", { name: "figure" }, el("option", { value: "" }, "(none)"), ...s.qc_fields.map((x) => el("option", { value: x }, x)));
  const current = s.qc_fields.find((f) => q.has("min_" + f) || q.has("max_" + f)) || "";
  figure.value = current;
  const lo = el("input", { name: "lo", size: 6, value: current ? q.get("min_" + current) || "" : "" });
  const hi = el("input", { name: "hi", size: 6, value: current ? q.get("max_" + current) || "" : "" });
  const per = el("select", { name: "per" }, ...[12, 24, 48, 96].map((n) => el("option", { value: n }, n)));
  per.value = q.get("per") || "24";
  const form = el("form", { class: "filters", id: "filters" },
    field("source", source), field("scenario", scenario), field("text", text), field("sort by", sort), field("order", desc),
    field("QC figure", figure), field("from", lo), field("to", hi), field("per page", per),
    el("button", { type: "submit" }, "apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of [["source", source.value], ["scenario", scenario.value], ["q", text.value], ["sort", sort.value], ["desc", desc.value], ["per", per.value]]) if (v) next.set(k, v);
    if (figure.value && lo.value) next.set("min_" + figure.value, lo.value);
    if (figure.value && hi.value) next.set("max_" + figure.value, hi.value);
    location.hash = `#/dataset/${id}?${next}`;
  });
  const head = el("div", {}, el("h2", {}, `${s.generator || "dataset"}: ${s.samples} samples`),
    el("div", { class: "muted" }, s.command || ""),
    el("div", { class: "legend" }, "trimask: ", el("span", { style: "background:#000;color:#fff" }, "0 remove"), el("span", { style: "background:#808080;color:#fff" }, "128 may change"), el("span", { style: "background:#fff" }, "255 keep")));
  if (s.dropped_scenes && s.dropped_scenes.length) head.append(el("details", {}, el("summary", {}, `${s.dropped_scenes.length} dropped scenes`), el("pre", {}, JSON.stringify(s.dropped_scenes, null, 1))));
  app.replaceChildren(head, form);
  const page = await api(`/api/${id}/page?${q}`);
  const grid = el("div", { class: "grid", id: "grid" });
  for (const r of page.samples) {
    const qc = Object.entries(r.qc || {}).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k} ${fmt(v)}`).join(" · ");
    grid.append(el("div", { class: "card", "data-key": r.key },
      el("a", { href: `#/sample/${id}/${encodeURIComponent(r.key)}` }, image(`/media/${id}/sample/${encodeURIComponent(r.key)}/preview.gif`, { loading: "lazy", alt: r.key })),
      el("div", {}, el("b", {}, r.key), ` ${r.source}${r.scenario ? " · " + r.scenario : ""} · ${r.frames} frames · ${r.width}x${r.height}`),
      el("div", { class: "caption" }, r.caption || ""), el("div", { class: "qc" }, qc)));
  }
  const go = (n) => { const next = new URLSearchParams(q); next.set("page", n); location.hash = `#/dataset/${id}?${next}`; };
  const pager = el("div", { class: "pager" },
    el("button", { type: "button", id: "prev", onclick: () => go(page.page - 1) }, "previous"),
    el("span", { id: "page-label" }, `page ${page.page + 1} of ${page.pages} (${page.total} samples)`),
    el("button", { type: "button", id: "next", onclick: () => go(page.page + 1) }, "next"));
  if (page.page === 0) pager.children[0].disabled = true;
  if (page.page >= page.pages - 1) pager.children[2].disabled = true;
  app.append(pager, grid);
}

async function sample(id, key) {
  const d = await api(`/api/${id}/sample/${encodeURIComponent(key)}`);
  where.textContent = `sample ${key}`;
  const frame = image(`/media/${id}/sample/${encodeURIComponent(key)}/frame/0.png`, { id: "frame", alt: "frame" });
  const qc = d.record.qc || {};
  const rows = Object.entries(qc).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, fmt(v))));
  app.replaceChildren(
    el("h2", {}, key), el("div", {}, d.caption),
    el("div", { class: "muted" }, `shard ${d.record.shard} · ${d.frames} frames at ${d.fps} fps · removed ${JSON.stringify(d.record.removed)} · kept ${JSON.stringify(d.record.kept)}`),
    el("div", { class: "legend" }, "input | trimask | target — trimask: ", el("span", { style: "background:#000;color:#fff" }, "0 remove"), el("span", { style: "background:#808080;color:#fff" }, "128 may change"), el("span", { style: "background:#fff" }, "255 keep")),
    d.interaction ? el("div", { class: "legend", id: "quadlegend" }, "then pass C (removed objects hidden, same physics) | quadmask: ", el("span", { style: "background:#000;color:#fff" }, "0 remove"), el("span", { style: "background:#3f3f3f;color:#fff" }, "63 remove, changed under it"), el("span", { style: "background:#7f7f7f;color:#fff" }, "127 changed by the removal"), el("span", { style: "background:#fff" }, "255 keep")) : "",
    scrubber(d.frames, (k) => { frame.src = `/media/${id}/sample/${encodeURIComponent(key)}/frame/${k}.png`; }),
    el("div", { class: "frame" }, frame),
    el("h2", {}, "QC"), el("table", {}, ...rows),
    el("h2", {}, "meta"), el("pre", {}, JSON.stringify(d.meta, null, 1)));
}

async function decomposition(id) {
  const [s, can, items] = await Promise.all([api(`/api/${id}/summary`), api("/api/abilities"), api("/api/items")]);
  where.textContent = `decomposition: ${s.layers.length} layers`;
  let k = 0;
  const drop = new Set();
  const moves = {}, retimes = {};
  const newBackground = el("select", { id: "background" }, el("option", { value: "" }, "its own"),
    ...items.filter((i) => i.kind === "video").map((i) => el("option", { value: i.id }, i.title)));
  newBackground.addEventListener("change", () => refresh());
  const edits = () => ({
    background: newBackground.value,
    drop: [...drop].sort(),
    move: Object.entries(moves).filter(([, v]) => v).map(([n, v]) => `${n}:${v}`),
    retime: Object.entries(retimes).filter(([, v]) => v).map(([n, v]) => `${n}:${v}`),
  });
  const query = () => { const e = edits(); return `drop=${e.drop.join(",")}&move=${encodeURIComponent(e.move.join(","))}&retime=${encodeURIComponent(e.retime.join(","))}&background=${e.background}`; };
  const composite = image(`/media/${id}/composite/0.png`, { id: "composite", alt: "composite" });
  const background = image(`/media/${id}/background/0.png`, { alt: "background" });
  const layerImgs = s.layers.map((n) => [n, image(`/media/${id}/layer/0.png?name=${n}`, { alt: n }), image(`/media/${id}/alpha/0.png?name=${n}`, { alt: n + " alpha" })]);
  const refresh = () => {
    composite.src = `/media/${id}/composite/${k}.png?${query()}`;
    background.src = `/media/${id}/background/${k}.png`;
    for (const [n, layer, alpha] of layerImgs) { layer.src = `/media/${id}/layer/${k}.png?name=${n}`; alpha.src = `/media/${id}/alpha/${k}.png?name=${n}`; }
  };
  const controls = el("table", { id: "toggles" }, el("tr", {}, el("th", {}, "layer"), el("th", {}, "in the composite"), el("th", {}, "move DX:DY:SCALE"), el("th", {}, "retime OFFSET:SPEED")),
    ...s.layers.map((n) => {
      const box = el("input", { type: "checkbox", class: "layer-toggle", "data-layer": n, checked: "" });
      box.addEventListener("change", () => { if (box.checked) drop.delete(n); else drop.add(n); refresh(); });
      const move = el("input", { class: "layer-move", "data-layer": n, size: 10, placeholder: "0:0:1" });
      move.addEventListener("change", () => { moves[n] = move.value.trim(); refresh(); });
      const time = el("input", { class: "layer-retime", "data-layer": n, size: 10, placeholder: "0:1" });
      time.addEventListener("change", () => { retimes[n] = time.value.trim(); refresh(); });
      return el("tr", {}, el("td", {}, n), el("td", {}, box), el("td", {}, move), el("td", {}, time));
    }));
  const jobs = el("div", { id: "jobs" });
  const exportButton = el("button", { type: "button", id: "export" }, "export the edited video");
  exportButton.disabled = !can.jobs;
  exportButton.addEventListener("click", async () => {
    try { watch(await post(`/api/${id}/export`, edits()), jobs, "video"); } catch (e) { showError(e.message, jobs); }
  });
  const panels = el("div", { class: "panels" },
    el("figure", {}, composite, el("figcaption", {}, "composite (the layers ticked, moved and retimed, over the background)")),
    el("figure", {}, background, el("figcaption", {}, "background")),
    ...layerImgs.flatMap(([n, layer, alpha]) => [el("figure", {}, layer, el("figcaption", {}, `${n} over a checkerboard`)), el("figure", {}, alpha, el("figcaption", {}, `${n} alpha`))]));
  const figures = el("table", {}, el("tr", {}, el("th", {}, "layer"), el("th", {}, "recon PSNR"), el("th", {}, "alpha mean"), el("th", {}, "alpha outside mask")),
    ...s.layers.map((n) => { const f = s.figures[n] || {}; return el("tr", {}, el("td", {}, n), el("td", {}, fmt(f.recon_psnr ?? "")), el("td", {}, fmt(f.alpha_mean ?? "")), el("td", {}, fmt(f.alpha_outside_mask ?? ""))); }));
  app.replaceChildren(el("h2", {}, `decomposition: ${s.frames} frames, ${s.size ? s.size.join("x") : ""}, recomposition PSNR ${fmt(s.recomposition_psnr ?? "")}`),
    scrubber(s.frames, (n) => { k = n; refresh(); }), controls, el("div", {}, "new background: ", newBackground, " ", exportButton), jobs, panels, el("h2", {}, "layer figures"), figures);
  await jobsOf(id, jobs, "video");
}

function sortable(columns, rows, link = null) {
  const table = el("table", { id: "scenes" });
  let key = null, down = false;
  const draw = () => {
    const sorted = key === null ? rows : [...rows].sort((a, b) => {
      const x = parseFloat(a[key]), y = parseFloat(b[key]);
      const c = Number.isNaN(x) || Number.isNaN(y) ? String(a[key]).localeCompare(String(b[key])) : x - y;
      return down ? -c : c;
    });
    table.replaceChildren(el("tr", {}, ...columns.map((c) => el("th", { "data-col": c, onclick: () => { down = key === c ? !down : false; key = c; draw(); } }, c + (key === c ? (down ? " ▼" : " ▲") : "")))),
      ...sorted.map((r) => el("tr", {}, ...columns.map((c) => {
        const text = r[c] === undefined ? "" : (Number.isNaN(parseFloat(r[c])) ? r[c] : fmt(parseFloat(r[c])));
        return el("td", {}, link && link(c, r) ? el("a", { href: link(c, r), class: "scene-link" }, text) : text);
      }))));
  };
  draw();
  return table;
}

async function evalPage(id) {
  const s = await api(`/api/${id}/summary`);
  where.textContent = `eval: ${s.rows.length} scene rows`;
  const summaryRows = [];
  for (const [method, benches] of Object.entries(s.summary)) for (const [bench, m] of Object.entries(benches)) summaryRows.push({ method, benchmark: bench, ...m });
  const cols = summaryRows.length ? Object.keys(summaryRows[0]) : [];
  const sceneLink = (c, r) => (c === "scene" && !r.skipped ? `#/evalscene/${id}?benchmark=${encodeURIComponent(r.benchmark)}&scene=${encodeURIComponent(r.scene)}` : null);
  app.replaceChildren(el("h2", {}, "per method"), sortable(cols, summaryRows), el("h2", {}, "per scene (click a column to sort, a scene to compare the methods on it)"), sortable(s.columns, s.rows, sceneLink),
    el("h2", {}, "worst frames"), el("div", { class: "panels" }, ...s.worst.map((n) => el("figure", {}, image(`/media/${id}/worst/${n}`, { loading: "lazy", alt: n }), el("figcaption", {}, n)))));
}

const PALETTE = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#4e342e", "#ad1457"];

// several curves on one chart, one colour each, with a legend
function curves(series, label) {
  const w = 720, h = 260, pad = 40;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "curve"); svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("id", "scene-curves");
  const all = Object.values(series).flat();
  if (!all.length) return svg;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad - 160), sy = (y) => h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad);
  Object.entries(series).forEach(([name, points], i) => {
    const colour = PALETTE[i % PALETTE.length];
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.map((p) => `${sx(p[0])},${sy(p[1])}`).join(" "));
    line.setAttribute("fill", "none"); line.setAttribute("stroke", colour); line.setAttribute("data-method", name);
    const key = document.createElementNS("http://www.w3.org/2000/svg", "text");
    key.setAttribute("x", w - 190); key.setAttribute("y", 20 + 16 * i); key.setAttribute("fill", colour); key.textContent = name.slice(0, 28);
    svg.append(line, key);
  });
  const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
  text.setAttribute("x", pad); text.setAttribute("y", 16); text.textContent = `${label}: ${fmt(y0)} … ${fmt(y1)} dB, frame ${x0} … ${x1}`;
  svg.append(text);
  return svg;
}

async function evalScene(id, query) {
  const s = await api(`/api/${id}/scene?${query}`);
  where.textContent = `eval: ${s.benchmark}/${s.scene}`;
  const series = Object.fromEntries(Object.entries(s.methods).map(([m, r]) => [m, r.psnr.map((v, k) => [k, v])]));
  app.replaceChildren(el("h2", {}, `${s.benchmark} / ${s.scene}: every method, frame by frame`), curves(series, "PSNR"),
    el("h2", {}, "each method's worst frame (input | prediction | truth)"),
    el("div", { class: "panels" }, ...Object.entries(s.methods).map(([m, r]) => el("figure", {},
      image(`/media/${id}/worst/${r.worst}`, { alt: m, style: "width: 480px" }), el("figcaption", {}, `${m}: frame ${r.worst_frame}, ${fmt(r.psnr[r.worst_frame])} dB`)))));
}

function curve(points, label) {
  const w = 640, h = 240, pad = 36;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "curve"); svg.setAttribute("width", w); svg.setAttribute("height", h);
  if (!points.length) return svg;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || 1, y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad), sy = (y) => h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.map((p) => `${sx(p[0])},${sy(p[1])}`).join(" "));
  line.setAttribute("fill", "none"); line.setAttribute("stroke", "#1565c0");
  const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
  text.setAttribute("x", pad); text.setAttribute("y", 16); text.textContent = `${label}: ${fmt(y0)} … ${fmt(y1)}, step ${x0} … ${x1}`;
  svg.append(line, text);
  if (points.length <= 60) for (const p of points) {  // dots: a single validation is a point, not a line
    const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
    dot.setAttribute("cx", sx(p[0])); dot.setAttribute("cy", sy(p[1])); dot.setAttribute("r", 3); dot.setAttribute("fill", "#1565c0");
    svg.append(dot);
  }
  return svg;
}

async function run(id) {
  const s = await api(`/api/${id}/summary`);
  where.textContent = `training run: ${s.loss.length} loss points`;
  const val = s.validation.map((v) => [v.step, v["val/psnr"]]).filter((p) => typeof p[1] === "number");
  const videos = Object.entries(s.videos).map(([step, files]) => el("section", {}, el("h2", {}, step),
    el("div", { class: "panels" }, ...files.map((f) => el("figure", {}, f.endsWith(".mp4") ? el("video", { src: `/media/${id}/validation/${step}/${f}`, controls: "", loop: "", muted: "", preload: "metadata" }) : image(`/media/${id}/validation/${step}/${f}`), el("figcaption", {}, f))))));
  app.replaceChildren(el("h2", {}, "loss"), curve(s.loss, "loss"), el("h2", {}, "validation PSNR"), curve(val, "val/psnr"),
    el("pre", {}, JSON.stringify({ baselines: s.baselines, validation: s.validation }, null, 1)), ...videos);
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

// a job's progress bar, polled until it is done (then a link to what it made) or failed (its one line)
function watch(job, box, made) {
  const bar = el("progress", { max: 1, value: 0 });
  const label = el("span", { class: "job-state" }, `${job.what}: starting`);
  const row = el("div", { class: "job", "data-job": job.id }, bar, " ", label);
  box.append(row);
  const poll = async () => {
    let j;
    try { j = await api(`/api/jobs/${job.id}`); } catch (e) { label.textContent = e.message; return; }
    if (j.total) { bar.max = j.total; bar.value = j.done; }
    if (j.state === "running") { label.textContent = `${j.what}: ${j.step || "starting"} ${j.total ? `${j.done}/${j.total}` : ""}`; setTimeout(poll, 500); return; }
    if (j.state === "failed") { row.replaceChildren(el("div", { class: "error" }, `${j.what} failed: ${j.error}`)); return; }
    bar.value = bar.max;
    label.replaceChildren(`${j.what}: done — `, el("a", { href: `#/${made}/${j.result}`, class: "job-result" }, `open the ${made}`));
  };
  poll();
}

async function jobsOf(id, box, made) {
  for (const j of await api(`/api/jobs?item=${id}`)) watch(j, box, made);
}

async function footage(id) {
  const [s, can] = await Promise.all([api(`/api/${id}/summary`), api("/api/abilities")]);
  where.textContent = `footage: ${s.objects.join(", ")}`;
  const frame = image(`/media/${id}/0.png`, { id: "frame", alt: "frame" });
  const jobs = el("div", { id: "jobs" });
  const go = el("button", { type: "button", id: "decompose" }, "decompose into layers");
  go.disabled = !can.decompose;
  go.title = can.decompose ? "" : "start the studio with --model MODEL_DIR to decompose";
  go.addEventListener("click", async () => {
    try { watch(await post(`/api/${id}/decompose`, {}), jobs, "decomposition"); } catch (e) { showError(e.message, jobs); }
  });
  app.replaceChildren(el("h2", {}, `${s.frames} frames, ${s.size[1]}x${s.size[0]}, objects ${s.objects.join(", ")}`), el("div", {}, s.caption || ""),
    scrubber(s.frames, (k) => { frame.src = `/media/${id}/${k}.png`; }), el("div", { class: "frame" }, frame), el("div", {}, go), jobs);
  await jobsOf(id, jobs, "decomposition");
}

async function video(id) {
  const [s, can] = await Promise.all([api(`/api/${id}/summary`), api("/api/abilities")]);
  where.textContent = `clip: ${s.frames} frames`;
  let k = 0;
  const points = [];
  const frame = image(`/media/${id}/0.png`, { id: "frame", alt: "frame", style: "cursor: crosshair" });
  const name = el("input", { id: "object-name", value: "object1", size: 12 });
  const negative = el("input", { type: "checkbox", id: "negative" });
  const method = el("select", { id: "method" }, el("option", { value: "sam2" }, "SAM 2 (clicks)"), el("option", { value: "motion" }, "motion (static camera)"));
  if (!can.sam2) { method.value = "motion"; method.options[0].disabled = true; }
  const list = el("ul", { id: "points" });
  const jobs = el("div", { id: "jobs" });
  const drawList = () => list.replaceChildren(...points.map((p) => el("li", {}, p.box
    ? `${p.name} frame ${p.frame} box (${p.box.join(", ")})`
    : `${p.name} frame ${p.frame} (${p.x}, ${p.y})${p.positive ? "" : " off the object"}`)));
  // a click adds a point; a drag draws a box (SAM 2 takes both)
  let down = null;
  const clip = (e) => { const scale = frame.naturalWidth / frame.clientWidth / s.scale; return [Math.round(e.offsetX * scale), Math.round(e.offsetY * scale)]; };
  frame.addEventListener("mousedown", (e) => { e.preventDefault(); down = clip(e); });
  frame.addEventListener("mouseup", (e) => {
    if (!down) return;
    const [x, y] = clip(e), [x0, y0] = down;
    down = null;
    if (Math.abs(x - x0) > 3 && Math.abs(y - y0) > 3) points.push({ name: name.value, frame: k, box: [Math.min(x, x0), Math.min(y, y0), Math.max(x, x0), Math.max(y, y0)] });
    else points.push({ name: name.value, frame: k, x, y, positive: !negative.checked });
    drawList();
  });
  const make = el("button", { type: "button", id: "make-masks" }, "make masks");
  make.disabled = !can.jobs;
  make.addEventListener("click", async () => {
    try { watch(await post(`/api/${id}/masks`, { method: method.value, points }), jobs, "footage"); } catch (e) { showError(e.message, jobs); }
  });
  const clear = el("button", { type: "button", onclick: () => { points.length = 0; drawList(); } }, "clear clicks");
  app.replaceChildren(el("h2", {}, `${s.frames} frames, ${s.size[1]}x${s.size[0]}: click on each object, or drag a box around it`),
    el("div", { class: "filters" }, "object ", name, " ", el("label", {}, negative, " a click off the object"), " method ", method, " ", make, " ", clear),
    scrubber(s.frames, (n) => { k = n; frame.src = `/media/${id}/${n}.png`; }), el("div", { class: "frame" }, frame), list, jobs);
  await jobsOf(id, jobs, "footage");
}

async function render() {
  if (timer) { clearInterval(timer); timer = null; }
  const { parts, query } = params();
  try {
    if (!parts.length) await home();
    else if (parts[0] === "dataset") await dataset(parts[1], query);
    else if (parts[0] === "sample") await sample(parts[1], decodeURIComponent(parts[2]));
    else if (parts[0] === "decomposition") await decomposition(parts[1]);
    else if (parts[0] === "eval") await evalPage(parts[1]);
    else if (parts[0] === "evalscene") await evalScene(parts[1], query);
    else if (parts[0] === "run") await run(parts[1]);
    else if (parts[0] === "footage") await footage(parts[1]);
    else if (parts[0] === "video") await video(parts[1]);
    else throw new Error("no page " + location.hash);
  } catch (e) {
    app.replaceChildren();
    showError(e.message);
  }
  document.body.dataset.ready = location.hash || "#/";
}

window.addEventListener("hashchange", render);
render();
