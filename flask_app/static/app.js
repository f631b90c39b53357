// The page's only logic: call the JSON API with fetch() and show the answer.
// Text goes in with textContent, never innerHTML, so a movie title can never inject markup.
"use strict";

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  // Every error from the API is JSON with an "error" key: show that message as it is.
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
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
    const rows = answer.recommendations.map((movie, rank) => {
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
    status.textContent = `Top ${rows.length} movies for user ${answer.user_id}:`;
  } catch (error) {
    if (request === latestRequest) status.textContent = `Error: ${error.message}`;
  }
}

document.getElementById("pick-user").addEventListener("submit", showRecommendations);
showModel();
showRecommendations();  // the pre-filled user's list at once: something to look at before a click
