// The dialogpaint chat page: upload an image, chat (replies stream as Server-Sent Events over POST),
// watch revisions appear, undo/redo, answer confirmations (with a quick preview of a costly edit), watch a
// diffusion edit sharpen step by step and cancel it. Plain JS, no build step, no CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem("dialogpaint.key") || "",
  session: null,
  head: null,
  revisions: [],      // every revision, creation order
  images: new Map(),  // revision id -> object URL
  busy: false,
  pending: false,     // an edit awaits yes or no: undo and redo would be refused (409)
};

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.key) headers.set("Authorization", `Bearer ${state.key}`);
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let code = "http_error", message = `${response.status} ${response.statusText}`;
    try { ({ code, message } = (await response.json()).error); } catch { /* not JSON */ }
    if (response.status === 401) $("key-form").hidden = false;
    throw new ApiError(response.status, code, message);
  }
  return response;
}

// Read "event:/data:/id:" blocks from a streamed response body (EventSource cannot POST).
async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;  // keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data += (data ? "\n" : "") + text;
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

function say(role, text, action) {
  const item = document.createElement("li");
  item.className = role;
  item.textContent = text;
  if (action) {
    const tag = document.createElement("span");
    tag.className = "action";
    tag.textContent = action;
    item.prepend(tag);
  }
  $("log").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function setBusy(busy, status = "") {
  state.busy = busy;
  $("status").textContent = status;
  for (const id of ["send", "message", "undo", "redo", "yes", "no"]) $(id).disabled = busy || !state.session;
  for (const id of ["undo", "redo"]) $(id).disabled ||= state.pending;
  if (!busy) $("progress").hidden = $("cancel").hidden = true;
}

async function blobUrl(path) {
  return URL.createObjectURL(await (await api(path)).blob());
}

// A cheap rendering of the proposed edit, shown beside yes and no; not a revision.
async function showPreview(url) {
  $("preview").src = await blobUrl(url);
  $("preview").dataset.url = url;
  $("preview-box").hidden = false;
}

// A picture of the unfinished edit (every few denoising steps): the current image sharpens in place.
async function showStep(data) {
  const current = $("current");
  current.src = await blobUrl(data.image_url);
  current.dataset.step = data.step;
  current.classList.add("sharpening");
  $("caption").textContent = `${data.tool}: step ${data.step} of ${data.total}`;
}

async function imageUrl(revision) {
  if (!state.images.has(revision.id)) {
    const blob = await (await api(revision.image_url)).blob();
    state.images.set(revision.id, URL.createObjectURL(blob));
  }
  return state.images.get(revision.id);
}

function pathTo(head) {
  const byId = new Map(state.revisions.map((r) => [r.id, r]));
  const path = [];
  for (let r = byId.get(head); r; r = byId.get(r.parent)) path.unshift(r.id);
  return path;
}

async function render() {
  const head = state.revisions.find((r) => r.id === state.head);
  if (!head) return;
  const current = $("current");
  current.src = await imageUrl(head);
  current.classList.remove("sharpening");
  delete current.dataset.step;
  current.dataset.revision = head.id;
  current.alt = head.instruction || "the original image";
  current.hidden = false;
  $("caption").textContent = captionOf(head);
  const onPath = new Set(pathTo(state.head));
  const strip = $("strip");
  strip.replaceChildren();
  for (const [index, revision] of state.revisions.entries()) {
    const item = document.createElement("li");
    item.dataset.revision = revision.id;
    item.classList.toggle("on-path", onPath.has(revision.id));
    item.classList.toggle("head", revision.id === state.head);
    const thumb = document.createElement("img");
    thumb.alt = revision.instruction || "original";
    thumb.title = revision.instruction ? `${revision.instruction}\n${revision.tool} ${JSON.stringify(revision.params)}` : "original";
    thumb.src = await imageUrl(revision);
    thumb.addEventListener("click", () => {
      current.src = thumb.src;
      $("caption").textContent = revision.id === state.head ? captionOf(revision) : `Viewing: ${thumb.title}`;
      for (const other of strip.children) other.classList.toggle("viewing", other === item && revision.id !== state.head);
    });
    item.append(thumb, document.createTextNode(index === 0 ? "original" : `#${index}`));
    strip.append(item);
  }
}

function captionOf(revision) {
  return revision.instruction ? `${revision.instruction} (${revision.tool})` : "The original image";
}

// pending: the proposal awaiting yes or no (its preview, if any, is served under the session), or null.
async function showConfirmation(pending) {
  state.pending = Boolean(pending);
  $("confirm").hidden = !pending;
  if (!pending || !pending.preview) $("preview-box").hidden = true;
  setBusy(state.busy, $("status").textContent);
  const url = pending && pending.preview && `/v1/sessions/${state.session}/previews/${pending.preview.image}`;
  if (url && $("preview").dataset.url !== url) await showPreview(url);
}

// After a refused or broken turn, show what the server holds (a confirmation may still be pending).
async function refresh() {
  try {
    const session = await (await api(`/v1/sessions/${state.session}`)).json();
    state.revisions = session.revisions;
    state.head = session.head;
    await showConfirmation(session.confirmation);
    await render();
  } catch { /* the error already shown says enough */ }
}

async function runTurn(path, body) {
  setBusy(true, "thinking…");
  const bubble = say("assistant", "");
  bubble.classList.add("waiting");
  let streamed = "", failed = false;
  try {
    const response = await api(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    for await (const { event, data } of serverSentEvents(response)) {
      if (event === "step") $("status").textContent = `${data.node}…`;
      else if (event === "progress") {
        const bar = $("progress");
        bar.hidden = $("cancel").hidden = false;
        bar.max = data.total; bar.value = data.step;
        $("status").textContent = `${data.tool} ${data.step}/${data.total}`;
        if (data.image_url) await showStep(data);
      } else if (event === "preview") await showPreview(data.image_url);
      else if (event === "token") {
        streamed += data.text;
        bubble.textContent = streamed;
        bubble.classList.remove("waiting");
        bubble.scrollIntoView({ block: "end" });
      } else if (event === "revision") state.revisions.push(data);
      else if (event === "reply") {
        bubble.textContent = data.text;
        bubble.className = data.error ? "error" : "assistant";  // a failed edit or model call changed nothing
        bubble.prepend(Object.assign(document.createElement("span"), { className: "action", textContent: data.action }));
        state.head = data.head;
        await showConfirmation(data.action === "confirm" ? data.confirmation : null);
        await render();
      } else if (event === "error") { bubble.className = "error"; bubble.textContent = data.message; failed = true; }
    }
  } catch (error) {
    bubble.className = "error";
    bubble.textContent = error.message;
    failed = true;
    // Refused before it started (too long, busy, rate limited): give the words back to edit or resend.
    if (error instanceof ApiError && body.text && !$("message").value) $("message").value = body.text;
  } finally {
    setBusy(false);
    bubble.scrollIntoView({ block: "end" });  // its final text may be longer than the first
  }
  if (failed) await refresh();
}

async function control(name) {
  setBusy(true, `${name}…`);
  say("user", name);
  try {
    const reply = await (await api(`/v1/sessions/${state.session}/${name}`, { method: "POST" })).json();
    say("assistant", reply.text, reply.action);
    state.revisions = (await (await api(`/v1/sessions/${state.session}/revisions`)).json()).revisions;
    state.head = reply.head;
    await render();
  } catch (error) {
    say("error", error.message);
  } finally {
    setBusy(false);
  }
}

async function open(session) {
  state.session = session.id;
  state.revisions = session.revisions;
  state.head = session.head;
  sessionStorage.setItem("dialogpaint.session", session.id);
  $("log").replaceChildren();
  for (const turn of session.history) say(turn.role, turn.text);
  await showConfirmation(session.confirmation);
  await render();
  setBusy(false);
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return say("error", "Choose an image first.");
  const form = new FormData();
  form.append("image", file);
  setBusy(true, "uploading…");
  try {
    await open(await (await api("/v1/sessions", { method: "POST", body: form })).json());
    say("assistant", "Image loaded. What would you like to change?");
  } catch (error) {
    say("error", error.message);
    setBusy(false);
  }
});

$("message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text || state.busy || !state.session) return;
  $("message").value = "";
  say("user", text);
  runTurn(`/v1/sessions/${state.session}/messages`, { text });
});
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("message-form").requestSubmit(); }
});
$("undo").addEventListener("click", () => control("undo"));
$("cancel").addEventListener("click", async () => {
  $("cancel").hidden = true;
  $("status").textContent = "cancelling…";
  try { await api(`/v1/sessions/${state.session}/cancel`, { method: "POST" }); }
  catch (error) { say("error", error.message); }
});
$("redo").addEventListener("click", () => control("redo"));
for (const [id, approve] of [["yes", true], ["no", false]]) {
  $(id).addEventListener("click", () => {
    say("user", approve ? "yes" : "no");
    showConfirmation(null);
    runTurn(`/v1/sessions/${state.session}/confirmation`, { approve });
  });
}
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("key").value.trim();
  sessionStorage.setItem("dialogpaint.key", state.key);
  $("key-form").hidden = true;
  resume();
});

async function resume() {
  const id = sessionStorage.getItem("dialogpaint.session");
  if (!id) return setBusy(false);
  try {
    await open(await (await api(`/v1/sessions/${id}`)).json());
  } catch (error) {
    if (error.status === 404) sessionStorage.removeItem("dialogpaint.session");
    setBusy(false);
  }
}

function showReadiness(tools) {
  // Tools that cannot run here are never offered; say which, why, and what would enable them.
  const missing = Object.entries(tools || {}).filter(([, t]) => !t.ready);
  const note = $("tools-note");
  note.hidden = missing.length === 0;
  note.textContent = missing.map(([name, t]) =>
    `${name} is not available here${t.reason ? `: ${t.reason}` : ""}${t.enable ? `; to enable: ${t.enable}` : ""}.`,
  ).join(" ");
}

fetch("/healthz").then((r) => r.json()).then((health) => {
  $("key-form").hidden = !(health.auth === "bearer" && !state.key);
  showReadiness(health.tools);
}).finally(resume);
