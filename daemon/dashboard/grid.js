"use strict";
// The live grid: every env's latest screenshot (reloaded whenever a new one arrived), phase, task and step,
// refreshed once a second from /dashboard/api/state; the recorded episodes when one finished (or every 10 s).

const REFRESH_MS = 1000;
const EPISODES_EVERY = 10;
const cards = new Map();
let ticks = 0;
let finishedSeen = -1;

function cardFor(env) {
  let card = cards.get(env.env_idx);
  if (!card) {
    card = document.getElementById("card").content.firstElementChild.cloneNode(true);
    card.dataset.env = env.env_idx;
    card.querySelector(".env").textContent = `env ${env.env_idx}`;
    const image = card.querySelector("img");
    image.addEventListener("load", () => card.classList.add("has-frame"));
    document.getElementById("grid").append(card);
    cards.set(env.env_idx, card);
  }
  return card;
}

function showEnv(env) {
  const card = cardFor(env);
  const phase = card.querySelector(".phase");
  phase.textContent = env.busy ? `${env.phase} · ${env.busy}` : env.phase;
  phase.dataset.phase = env.phase;
  card.dataset.phase = env.phase;
  card.querySelector(".step").textContent = env.max_steps ? `step ${env.step} of ${env.max_steps}` : "";
  card.querySelector(".instruction").textContent = env.instruction || "no task yet";
  card.querySelector(".action").textContent = env.last_action ? `last action: ${env.last_action}` : "";
  card.querySelector(".error").textContent = env.last_error || "";
  const image = card.querySelector("img");
  if (env.frame_seq && image.dataset.seq !== String(env.frame_seq)) {
    image.dataset.seq = env.frame_seq;
    image.src = `/dashboard/api/frames/${env.env_idx}?seq=${env.frame_seq}`;
  }
  const episode = env.recording_episode;
  const replay = () => { location.href = `/dashboard/episode/${episode}`; };
  card.querySelector(".frame").onclick = episode ? replay : null;
}

function showTunnel(tunnel) {
  const badge = document.getElementById("tunnel");
  const state = !tunnel ? "absent" : tunnel.stale ? "stale" : tunnel.state;
  badge.dataset.state = state;
  badge.textContent = tunnel ? `tunnel: ${state} · ${tunnel.reconnects || 0} reconnects` : "tunnel: not running";
  badge.title = tunnel && tunnel.last_error ? tunnel.last_error : "";
}

function showStats(state) {
  document.getElementById("rate").textContent = `· ${state.episodes_last_hour} in the last hour`;
  drawBars(document.getElementById("hourly"), state.episodes_per_hour,
           state.episodes_per_hour.map((_, i) => `${23 - i} h ago`));
  drawBars(document.getElementById("scores"), state.score_histogram,
           state.score_histogram.map((_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`));
  const outcomes = Object.entries(state.outcomes).map(([name, count]) => `${name} ${count}`);
  document.getElementById("outcomes").textContent =
    outcomes.length ? outcomes.join(" · ") : "no episode finished yet";
}

async function showEpisodes() {
  const {episodes} = await getJson("/dashboard/api/episodes?limit=30");
  const rows = episodes.map((episode) => {
    const row = element("tr", {"data-outcome": episode.outcome});
    const link = element("a", {href: `/dashboard/episode/${episode.episode_id}`}, formatTime(episode.started));
    row.append(element("td"), element("td", {}, String(episode.env_idx)), element("td", {}, episode.task_id || ""),
               element("td", {}, String(episode.steps ?? "-")), element("td", {}, formatScore(episode.score)),
               element("td", {}, episode.outcome));
    row.firstChild.append(link);
    return row;
  });
  document.querySelector("#episodes tbody").replaceChildren(...rows);
}

async function refresh() {
  try {
    const state = await getJson("/dashboard/api/state");
    state.envs.forEach(showEnv);
    showTunnel(state.tunnel);
    showStats(state);
    const daemon = state.draining ? "daemon: draining" : `${state.envs.length} envs`;
    document.getElementById("daemon").textContent = daemon;
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    const finished = state.episodes_finished;
    if (finished !== finishedSeen || ticks++ % EPISODES_EVERY === 0) {
      finishedSeen = finished;
      await showEpisodes();
    }
  } catch (error) {
    document.getElementById("updated").textContent = `cannot reach the daemon (${error.message})`;
  }
  setTimeout(refresh, REFRESH_MS);
}

refresh();
