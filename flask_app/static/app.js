// The page's only logic: call the JSON API with fetch() and show the answer.
// Text goes in with textContent, never innerHTML, so a movie title can never inject markup.
"use strict";

async function getJson(url, options = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
  const body = await response.json();
  // Every error from the API is JSON with an "error" key: show that message as it is.
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

// One row per recommended movie: its rank, its title, its score.
function fillTable(table, recommendations) {
  const rows = recommendations.map((movie, rank) => {
    const row = document.createElement("tr");
    for (const text of [rank + 1, movie.title, movie.score.toFixed(2)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = false;
  return rows.length;
}

async function showModel() {
  const model = document.getElementById("model");
  try {
    const health = await getJson("health");
    const madeUp = health.dataset === "synthetic" ? ": synthetic data, made-up titles" : "";
    model.textContent = `Model ${health.version} trained on ${health.dataset} at ` +
      `${health.created_at} (${health.n_users} users, ${health.n_items} movies${madeUp}).`;
  } catch (error) {
    model.textContent = `The server did not answer /health: ${error.message}`;
  }
}

let latestRequest = 0;  // answers can arrive out of order: only the newest request may show

async function showRecommendations(event) {
  event?.preventDefault();  // stay on this page: the form is sent by fetch, not by the browser
  const request = ++latestRequest;
  const status = document.getElementById("status");
  const table = document.getElementById("recommendations");
  const query = new URLSearchParams({
    user_id: document.getElementById("user-id").value,
    k: document.getElementById("k").value,
  });
  status.textContent = "Loading…";
  table.hidden = true;
  try {
    const answer = await getJson(`recommend?${query}`);
    if (request !== latestRequest) return;  // the user asked again meanwhile
    const shown = fillTable(table, answer.recommendations);
    status.textContent = `Top ${shown} movies for user ${answer.user_id}:`;
  } catch (error) {
    if (request === latestRequest) status.textContent = `Error: ${error.message}`;
  }
}

// A newcomer: the movies they rated, sent as JSON; the model folds their taste in at once.
async function recommendForRatings(event) {
  event.preventDefault();
  const status = document.getElementById("newcomer-status");
  const table = document.getElementById("newcomer-recommendations");
  const ratings = [...document.querySelectorAll("#to-rate select")]
    .filter((select) => select.value !== "")
    .map((select) => ({ item_id: Number(select.dataset.itemId), rating: Number(select.value) }));
  table.hidden = true;
  if (ratings.length === 0) {
    status.textContent = "Rate at least one movie first.";
    return;
  }
  status.textContent = "Loading…";
  try {
    const answer = await getJson("recommend/for-ratings", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ ratings }),
    });
    const shown = fillTable(table, answer.recommendations);
    status.textContent = `Top ${shown} movies for your ${ratings.length} ratings:`;
  } catch (error) {
    status.textContent = `Error: ${error.message}`;
  }
}

document.getElementById("pick-user").addEventListener("submit", showRecommendations);
document.getElementById("rate-movies").addEventListener("submit", recommendForRatings);
showModel();
showRecommendations();  // the pre-filled user's list at once: something to look at before a click
