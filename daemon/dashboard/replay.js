"use strict";
// Replays one recorded episode: position i shows the screenshot the agent saw before step i+1, where that step's
// clicks and drags landed on it, its prediction, parsed actions and timings. The last position is the final frame.

const PLAY_MS = 1200;
const SVG = "http://www.w3.org/2000/svg";
const episodeId = location.pathname.split("/").filter(Boolean).pop();
let episode = null;
let positions = [];
let current = 0;
let playing = null;
let stepCount = 0;

function buildPositions(data) {
  // frames[k] is the screenshot after step k (0: after reset); a step that ended the episode has none.
  const frames = [data.first_frame];
  data.steps.forEach((step) => frames.push(step.frame || null));
  const list = [];
  data.steps.forEach((step, i) => { if (frames[i]) list.push({frame: frames[i], step}); });
  const last = frames[frames.length - 1];
  if (last && data.steps.length) list.push({frame: last, step: null});
  if (!data.steps.length && data.first_frame) list.push({frame: data.first_frame, step: null});
  return list;
}

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function drawActions(step) {
  const marks = document.getElementById("marks");
  const [width, height] = episode.screen || [1920, 1080];
  marks.setAttribute("viewBox", `0 0 ${width} ${height}`);
  marks.replaceChildren();
  for (const action of (step && step.actions) || []) {
    if (typeof action.x !== "number") continue;
    if (typeof action.x2 === "number") {
      marks.append(svgNode("line", {x1: action.x, y1: action.y, x2: action.x2, y2: action.y2, class: "drag"}));
      marks.append(svgNode("circle", {cx: action.x2, cy: action.y2, r: 14, class: "drag-end"}));
    }
    marks.append(svgNode("circle", {cx: action.x, cy: action.y, r: 22, class: `mark ${action.type}`}));
    marks.append(svgNode("circle", {cx: action.x, cy: action.y, r: 4, class: "dot"}));
  }
}

function showTimings(timings) {
  const table = document.getElementById("timings");
  table.replaceChildren();
  for (const [part, seconds] of Object.entries(timings || {})) {
    const row = element("tr");
    row.append(element("th", {}, part), element("td", {}, `${(seconds * 1000).toFixed(1)} ms`));
    table.append(row);
  }
}

function show(index) {
  if (!positions.length) return;
  current = Math.max(0, Math.min(index, positions.length - 1));
  const {frame, step} = positions[current];
  const image = document.getElementById("frame");
  image.src = `/dashboard/api/episodes/${episodeId}/${frame}`;
  image.dataset.position = current;
  document.getElementById("slider").value = current;
  const label = step ? `step ${step.step} of ${stepCount}` : "final screen";
  document.getElementById("position").textContent = `${current + 1} / ${positions.length} · ${label}`;
  document.getElementById("prediction").textContent = step ? step.prediction : "(after the last step)";
  const actions = document.getElementById("actions");
  actions.replaceChildren(...((step && step.actions) || []).map((a) => element("li", {}, JSON.stringify(a))));
  showTimings(step && step.timings);
  document.getElementById("step-error").textContent = step && step.error ? step.error : "";
  drawActions(step);
}

function togglePlay() {
  const button = document.getElementById("play");
  if (playing) {
    clearInterval(playing);
    playing = null;
    button.textContent = "▶";
    return;
  }
  button.textContent = "⏸";
  playing = setInterval(() => {
    if (current >= positions.length - 1) togglePlay(); else show(current + 1);
  }, PLAY_MS);
}

function showSummary() {
  document.getElementById("episode-id").textContent = episode.episode_id;
  const badge = document.getElementById("outcome");
  badge.textContent = `${episode.outcome} · score ${formatScore(episode.score)}`;
  badge.dataset.state = episode.outcome;
  document.getElementById("instruction").textContent = episode.instruction;
  const summary = document.getElementById("summary");
  const duration = episode.ended ? `${(episode.ended - episode.started).toFixed(1)} s` : "-";
  const rows = [["task", episode.task_id], ["env", episode.env_idx],
                ["started (UTC)", formatTime(episode.started)],
                ["duration", duration], ["warm reset", episode.warm_reset ? "yes" : "no"],
                ["errors", (episode.errors || []).join("; ") || "none"]];
  summary.replaceChildren(...rows.flatMap(([k, v]) => [element("dt", {}, k), element("dd", {}, String(v))]));
}

async function load() {
  try {
    const data = await getJson(`/dashboard/api/episodes/${episodeId}`);
    episode = data.episode;
    positions = buildPositions(data);
    stepCount = data.steps.length;
    document.getElementById("slider").max = Math.max(0, positions.length - 1);
    showSummary();
    show(0);
  } catch (error) {
    document.getElementById("instruction").textContent = `cannot load episode ${episodeId}: ${error.message}`;
  }
}

document.getElementById("prev").addEventListener("click", () => show(current - 1));
document.getElementById("next").addEventListener("click", () => show(current + 1));
document.getElementById("play").addEventListener("click", togglePlay);
document.getElementById("slider").addEventListener("input", (event) => show(Number(event.target.value)));
document.addEventListener("keydown", (event) => {
  if (event.key === "ArrowLeft") show(current - 1);
  if (event.key === "ArrowRight") show(current + 1);
  if (event.key === " ") { event.preventDefault(); togglePlay(); }
});
load();
