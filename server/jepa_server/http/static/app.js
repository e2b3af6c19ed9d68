// The search page: plain JS against the gateway's own HTTP API (no build step, no CDN).
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { token: localStorage.getItem("jepa-token") || "", scopes: [] };

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.token) headers.set("Authorization", `Bearer ${state.token}`);
  const response = await fetch(path, { ...options, headers });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (response.status === 401) showTokenPanel("this server needs a token");
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function showTokenPanel(message) {
  $("#token-panel").hidden = false;
  $("#token-status").textContent = message;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function seconds(value) {
  return `${value.toFixed(2)} s`;
}

function mediaUrl(uri) {
  const query = new URLSearchParams({ uri });
  if (state.token) query.set("access_token", state.token);
  return `/v1/media?${query}`;
}

function play(hit, row) {
  document.querySelectorAll("#results tr.selected").forEach((node) => node.classList.remove("selected"));
  row?.classList.add("selected");
  const player = $("#player");
  const start = hit.moment_start_seconds ?? hit.start_seconds;
  const end = hit.moment_end_seconds ?? hit.end_seconds;
  const uri = hit.metadata?.source_uri;
  if (!uri) {
    player.removeAttribute("src");
    player.load();
    $("#player-caption").textContent = `${hit.video_id} was indexed from uploaded bytes; the server keeps no copy to play.`;
    return;
  }
  if (player.dataset.uri !== uri) {
    player.dataset.uri = uri;
    player.src = mediaUrl(uri);
  }
  player.currentTime = start;
  player.dataset.end = String(end);
  $("#player-caption").textContent = `${hit.video_id}: moment ${seconds(start)} – ${seconds(end)}`;
}

$("#player").addEventListener("timeupdate", (event) => {
  const player = event.target;
  if (!player.paused && player.currentTime >= Number(player.dataset.end || Infinity)) player.pause();
});

function renderResults(result) {
  const body = $("#results tbody");
  body.replaceChildren();
  result.hits.forEach((hit, rank) => {
    const row = element("tr");
    row.dataset.videoId = hit.video_id;
    row.append(element("td", String(rank + 1)), element("td", hit.video_id), element("td", hit.score.toFixed(4)));
    const moment = hit.moment_start_seconds === null || hit.moment_start_seconds === undefined
      ? "" : `${seconds(hit.moment_start_seconds)} – ${seconds(hit.moment_end_seconds)}`;
    row.append(element("td", moment, "moment"), element("td", JSON.stringify(hit.metadata), "metadata"));
    row.addEventListener("click", () => play(hit, row));
    body.append(row);
  });
  $("#results").hidden = result.hits.length === 0;
  $("#search-status").textContent = `${result.hits.length} videos from ${result.collection}`;
  if (result.hits.length) play(result.hits[0], body.firstElementChild);
}

$("#search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#search-status").textContent = "searching…";
  $("#search-status").classList.remove("error");
  const request = { text: $("#query").value, top_k: Number($("#top-k").value) || 10, moments: true, filter: $("#filter").value };
  if ($("#model").value) request.model = $("#model").value;
  try {
    renderResults(await api("/v1/search", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) }));
  } catch (error) {
    $("#search-status").textContent = error.message;
    $("#search-status").classList.add("error");
  }
});

$("#upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData();
  for (const file of $("#upload-files").files) form.append("file", file, file.name);
  const list = $("#upload-results");
  list.replaceChildren(element("li", "indexing…"));
  try {
    const result = await api("/v1/index", { method: "POST", body: form });
    list.replaceChildren(...result.items.map((item) => item.status === 200
      ? element("li", `${item.id}: ${item.num_windows} windows, ${seconds(item.duration_seconds)}`)
      : element("li", `${item.id}: ${item.error.message}`, "error")));
    refreshPanels();
  } catch (error) {
    list.replaceChildren(element("li", error.message, "error"));
  }
});

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("#token").value.trim();
  localStorage.setItem("jepa-token", state.token);
  start();
});

function renderStats(stats) {
  const list = $("#stats");
  const rows = [["collection", stats.collection], ["videos", stats.videos], ["windows", stats.rows], ["index", `${stats.backend}, ${stats.index_type}`]];
  list.replaceChildren(...rows.flatMap(([key, value]) => [element("dt", key), element("dd", String(value))]));
}

function renderHealth(health) {
  const panel = $("#health");
  const models = Object.entries(health);
  if (!models.length) {
    panel.replaceChildren(element("p", "no embeddings served yet", "muted"));
    return;
  }
  panel.replaceChildren(...models.map(([model, values]) => {
    const block = element("div", undefined, "gauge");
    block.append(element("strong", model));
    for (const [label, value, max] of [["effective rank", values.effective_rank, 64], ["mean pairwise cosine", values.pairwise_cosine_mean, 1]]) {
      const meter = element("meter");
      Object.assign(meter, { min: 0, max, value });
      meter.title = `${label}: ${value.toFixed(3)}`;
      block.append(element("div", `${label} ${value.toFixed(3)}`, "muted"), meter);
    }
    return block;
  }));
}

async function refreshPanels() {
  const model = $("#model").value ? `?model=${encodeURIComponent($("#model").value)}` : "";
  const [stats, health] = await Promise.allSettled([api(`/v1/index/stats${model}`), api("/v1/embedding-health")]);
  if (stats.status === "fulfilled") renderStats(stats.value);
  if (health.status === "fulfilled") renderHealth(health.value);
}

async function start() {
  try {
    const scopes = await api("/v1/scopes");
    state.scopes = scopes.scopes;
    $("#token-panel").hidden = !scopes.authentication;
    $("#token-status").textContent = scopes.authentication ? `token holds: ${scopes.scopes.join(", ")}` : "";
  } catch (error) {
    return;
  }
  $("#upload-panel").hidden = !state.scopes.includes("index");
  try {
    const models = await api("/v1/models");
    $("#model").replaceChildren(element("option", "default"), ...models.data.filter((card) => card.kind === "video").map((card) => {
      const option = element("option", card.id);
      option.value = card.id;
      return option;
    }));
    $("#model").firstElementChild.value = "";
  } catch (error) {
    $("#search-status").textContent = error.message;
  }
  refreshPanels();
}

start();
