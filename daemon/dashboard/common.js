"use strict";
// Shared helpers of the dashboard pages. The session cookie authenticates every request: no token in any URL.

async function getJson(path) {
  const answer = await fetch(path, {credentials: "same-origin", cache: "no-store"});
  if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status}`);
  return answer.json();
}

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function formatTime(seconds) {
  if (typeof seconds !== "number") return "-";
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function formatScore(score) {
  return typeof score === "number" ? score.toFixed(2) : "-";
}

function drawBars(container, counts, labels) {
  container.replaceChildren();
  const top = Math.max(1, ...counts);
  counts.forEach((count, i) => {
    const bar = element("div", {class: "bar", title: `${labels[i]}: ${count}`});
    bar.style.height = `${Math.round((count / top) * 100)}%`;
    container.append(bar);
  });
}
