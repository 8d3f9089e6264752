/**
 * The chair's and secretary's console (`/console`): open the meeting and registration, watch the
 * quorum, step through the agenda, run votes and the speakers' queue, see conflict declarations;
 * the secretary also enrolls deputies' tablets (one-time links with a QR code) and revokes them.
 * Live over the session's WebSocket; the session is `?session=<id>`, else the open one, else the newest.
 */

import { Auth } from "./auth.js";
import { followSession, pickSession, savedLanguage, wireSignIn } from "./signed-in-page.js";
import { STRINGS, format } from "./console-strings.js";
import { openVote } from "./session-state.js";
import { documentsPanel } from "./console-documents.js";
import qrcode from "./vendor/qrcode-generator-2.0.4.mjs";

const NOT_DELIVERED_MS = 5000;
const STAFF = new Set(["chair", "secretary", "admin"]);
const $ = (id) => document.getElementById(id);

const auth = new Auth();
const view = { lang: savedLanguage(), council: null, sessionId: null, state: null, client: null };
const s = () => STRINGS[view.lang];
const t = (key, params) => format(s(), key, params);
const errorText = (error) => s().errors[error.error] ?? error.message ?? String(error);
const name = (id) => view.council?.deputies.find((d) => d.id === id)?.name ?? id;
const secondsTo = (time) => Math.max(0, Math.ceil((Date.parse(time) - Date.now()) / 1000));

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    ...options,
    headers: { "Content-Type": "application/json", ...(await auth.headers()), ...(options.headers ?? {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.message ?? response.statusText), { error: body.error });
  return body;
}

function say(text, state = "") {
  $("action-status").textContent = text;
  $("action-status").dataset.state = state;
}

/** A session command over the socket; "not delivered" if no answer in time (it stays queued). */
async function command(body) {
  say("");
  const late = setTimeout(() => say(t("notDelivered")), NOT_DELIVERED_MS);
  try {
    await view.client.send(body);
    say(t("done"), "done");
  } catch (error) {
    say(t("refused", { message: errorText(error) }));
  } finally {
    clearTimeout(late);
  }
}

// ---- rendering -------------------------------------------------------------------------------

function renderTexts() {
  document.documentElement.lang = s().lang;
  document.title = t("title");
  const texts = {
    lang: "otherLang", "sign-out": "signOut", "sign-in-title": "signInTitle", "username-label": "username",
    "password-label": "password", "sign-in-button": "signIn", "meeting-title": "meeting", "open-session": "openSession",
    "close-session": "closeSession", "registration-title": "registration", "open-registration": "openRegistration",
    "close-registration": "closeRegistration", "registered-title": "registeredList", "agenda-title": "agenda",
    "vote-title": "vote", "subject-label": "subject", "rule-label": "rule", "seconds-label": "seconds",
    "open-vote": "openVote", "close-vote": "closeVote", "cancel-label": "cancelReason", "cancel-vote": "cancelVote",
    "speakers-title": "speakers", "finish-speech": "finishSpeech", "grant-seconds-label": "grantSeconds",
    "conflicts-title": "conflicts", "devices-title": "devices", "deputy-label": "deputy", "make-link": "makeLink",
    "enrolled-title": "enrolledDevices", "signed-off": "signedOff", "item-number-label": "itemNumber",
    "item-title-label": "itemTitle", "item-draft-label": "itemDraft", "item-position-label": "itemPosition",
    "item-save": "save", "item-cancel": "cancelEdit", "documents-title": "documents", "override-label": "overrideLabel",
    "override-send": "overrideSend", "register-title": "registerDraft", "doc-number-label": "docNumber",
    "doc-id-label": "docId", "doc-title-label": "docTitle", "doc-initiator-label": "docInitiator",
    "doc-rapporteur-label": "docRapporteur", "doc-file-label": "docFile", "register-send": "register",
  };
  for (const [id, key] of Object.entries(texts)) $(id).textContent = t(key);
  $("link-qr").alt = t("qrAlt");
  if (!$("vote-form").subject.value) $("vote-form").subject.placeholder = t("subjectDefault");
  renderConnection(view.client?.status ?? "connecting");
  renderCouncil();
  view.documents?.render();
  render();
}

function renderConnection(status) {
  $("connection").dataset.status = status;
  $("connection").textContent = t(`connection_${status}`);
}

function renderCouncil() {
  const council = view.council;
  if (!council) return;
  $("council").textContent = council.name;
  $("signed-off").hidden = council.signed_ballots;
  $("rule").replaceChildren(...council.rules.map((rule) => new Option(t(`rule_${rule}`), rule)));
  const members = council.deputies;
  const chosen = $("deputy").value;
  $("deputy").replaceChildren(...members.map((d) => new Option(d.name, d.id)));
  if (chosen) $("deputy").value = chosen;
  const devices = council.credentials;
  $("devices").replaceChildren(
    ...(devices.length ? devices : [null]).map((device) => {
      const li = document.createElement("li");
      if (!device) {
        li.textContent = t("noDevices");
        return li;
      }
      li.append(`${name(device.deputy)} · ${device.id.slice(0, 10)}… `);
      if (device.revoked) li.append(`(${t("revoked")})`);
      else {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = t("revoke");
        button.addEventListener("click", () => revoke(device.id));
        li.append(button);
      }
      return li;
    }),
  );
}

function render() {
  const state = view.state;
  if (!state || !view.council) return;
  $("session-title").textContent = state.title;
  $("session-status").textContent = t(`session_${state.status}`);
  $("broadcast-status").textContent = t(`broadcast_${state.broadcast?.status ?? "off"}`);
  $("broadcast-link").textContent = t("broadcastPage");
  $("broadcast-link").href = `/broadcast?session=${encodeURIComponent(state.id)}`;
  $("open-session").disabled = state.status !== "scheduled";
  $("close-session").disabled = state.status !== "open" || Boolean(openVote(state));
  $("registration-status").textContent = t(state.registration_open ? "registrationOpen" : "registrationClosed");
  $("open-registration").disabled = state.status !== "open" || state.registration_open;
  $("close-registration").disabled = !state.registration_open;
  const mayor = view.council.deputies.find((d) => d.mayor)?.id;
  const count = state.registered.filter((m) => m !== mayor).length;
  const composition = view.council.composition;
  $("quorum").textContent = t(state.quorum ? "quorumYes" : "quorumNo", { count, composition, half: Math.floor(composition / 2) });
  $("registered").replaceChildren(...state.registered.map((m) => Object.assign(document.createElement("li"), { textContent: name(m) })));
  renderAgenda(state);
  renderVote(state);
  renderSpeakers(state);
  const conflicts = state.conflicts.map((c) => {
    const item = state.agenda.find((i) => i.id === c.item);
    return Object.assign(document.createElement("li"), {
      textContent: t("conflictLine", { name: name(c.deputy), number: item?.number ?? c.item, reason: c.reason }),
    });
  });
  $("conflicts").replaceChildren(...(conflicts.length ? conflicts : [Object.assign(document.createElement("li"), { textContent: t("noConflicts"), className: "empty" })]));
}

const editor = () => ["secretary", "admin"].includes(auth.me?.role);

/** A small button for an agenda row. */
function rowButton(text, onClick, disabled = false) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.disabled = disabled;
  button.addEventListener("click", onClick);
  return button;
}

function renderAgendaForm(state) {
  const editing = editor() && state.status === "scheduled";
  $("item-form").hidden = !editing;
  const target = state.agenda.find((i) => i.id === view.editing);
  if (!target) view.editing = null;
  $("item-form-title").textContent = target ? t("editItem", { number: target.number }) : t("addItem");
  $("item-cancel").hidden = !target;
  $("item-form").position.closest("label").hidden = Boolean(target);
}

function editItem(item) {
  view.editing = item.id;
  const form = $("item-form");
  form.number.value = item.number;
  form.title.value = item.title;
  form.draft.value = item.draft ?? "";
  render();
  form.title.focus();
}

function saveItem(form) {
  const data = new FormData(form);
  const fields = { number: String(data.get("number")), title: String(data.get("title")) };
  const draft = String(data.get("draft") ?? "").trim();
  if (view.editing) {
    command({ type: "item.update", item: view.editing, ...fields, draft: draft || null });
  } else {
    const position = Number(data.get("position")) || undefined;
    command({ type: "item.add", ...fields, draft: draft || null, ...(position ? { position } : {}) });
  }
  view.editing = null;
  form.reset();
}

function renderAgenda(state) {
  const busy = Boolean(openVote(state));
  renderAgendaForm(state);
  $("agenda").replaceChildren(
    ...state.agenda.map((item) => {
      const li = document.createElement("li");
      li.dataset.status = item.status;
      li.append(`${item.number}. ${item.title}`);
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [t(`item_${item.status}`), item.draft ? t("draft", { draft: item.draft }) : ""].filter(Boolean).join(" · ");
      li.append(meta);
      if (editor() && state.status === "scheduled") {
        li.append(
          rowButton(t("change"), () => editItem(item)),
          " ",
          rowButton(t("remove"), () => command({ type: "item.remove", item: item.id })),
        );
        return li;
      }
      const button = document.createElement("button");
      button.type = "button";
      if (item.status === "pending") {
        button.textContent = t("startItem");
        button.disabled = state.status !== "open" || state.current_item !== null;
        button.addEventListener("click", () => command({ type: "item.start", item: item.id }));
        li.append(button);
      } else if (item.status === "in_progress") {
        button.textContent = t("finishItem");
        button.disabled = busy;
        button.addEventListener("click", () => command({ type: "item.finish", item: item.id }));
        li.append(button);
      }
      return li;
    }),
  );
}

function renderVote(state) {
  const open = openVote(state);
  $("vote-form").hidden = Boolean(open);
  $("open-vote").disabled = !state.current_item || state.status !== "open";
  $("vote-hint").textContent = state.current_item ? "" : t("needItem");
  $("vote-live").hidden = !open;
  if (open) {
    $("vote-open").textContent = t("voteOpen", { subject: open.subject, seconds: secondsTo(open.closes_at) });
    $("voted").textContent = t("voted", { voted: open.voted, registered: state.registered.length });
  }
  const last = state.votes.at(-1);
  const result = $("vote-result");
  result.replaceChildren();
  if (last?.status === "closed" && last.tally) {
    result.append(
      Object.assign(document.createElement("h3"), { textContent: t("results", { subject: last.subject }) }),
      Object.assign(document.createElement("p"), { textContent: t("tally", last.tally) }),
      Object.assign(document.createElement("p"), { className: "big", textContent: t(`outcome_${last.tally.outcome}`, last.tally) }),
    );
  } else if (last?.status === "cancelled") {
    result.append(Object.assign(document.createElement("p"), { textContent: t("cancelled", { subject: last.subject, reason: last.reason }) }));
  }
}

function renderSpeakers(state) {
  const current = state.speakers.current;
  $("speaker").textContent = current ? t("speaking", { name: name(current.deputy), seconds: secondsTo(current.until) }) : "";
  $("finish-speech").hidden = !current;
  const queue = state.speakers.queue.map((m) => {
    const li = document.createElement("li");
    li.append(`${name(m)} `);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t("grant");
    button.disabled = Boolean(current);
    button.addEventListener("click", () => command({ type: "speaker.grant", deputy: m, seconds: Number($("grant-seconds").value) }));
    li.append(button);
    return li;
  });
  $("queue").replaceChildren(...(queue.length ? queue : [Object.assign(document.createElement("li"), { textContent: t("queueEmpty"), className: "empty" })]));
}

function tick() {
  const state = view.state;
  if (!state) return;
  const open = openVote(state);
  if (open) $("vote-open").textContent = t("voteOpen", { subject: open.subject, seconds: secondsTo(open.closes_at) });
  const current = state.speakers.current;
  if (current) $("speaker").textContent = t("speaking", { name: name(current.deputy), seconds: secondsTo(current.until) });
}

// ---- secretary: devices ----------------------------------------------------------------------

async function reloadCouncil() {
  view.council = await (await fetch("/api/v1/council")).json();
  renderCouncil();
}

async function makeLink(deputy) {
  try {
    const link = await api("/enrollments", { method: "POST", body: JSON.stringify({ deputy }) });
    const url = `${location.origin}${link.url}`;
    const qr = qrcode(0, "M");
    qr.addData(url);
    qr.make();
    $("link-qr").src = qr.createDataURL(6, 2);
    $("link-url").href = url;
    $("link-url").textContent = url;
    $("link-text").textContent = t("linkReady", { name: name(deputy), expires: new Date(link.expires_at).toLocaleString(s().lang) });
    $("link").hidden = false;
    say(t("done"), "done");
  } catch (error) {
    say(t("refused", { message: errorText(error) }));
  }
}

async function revoke(credential) {
  try {
    const body = { id: `revoke-${credential.slice(0, 40)}`, type: "credential.revoke", credential, reason: t("revokeReason") };
    await api("/council/commands", { method: "POST", body: JSON.stringify(body) });
    await reloadCouncil();
    say(t("done"), "done");
  } catch (error) {
    say(t("refused", { message: errorText(error) }));
  }
}

// ---- start -------------------------------------------------------------------------------------

async function enterDesk() {
  if (!STAFF.has(auth.me.role)) {
    $("sign-in").hidden = false;
    $("sign-in-status").textContent = t("notStaff");
    return;
  }
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  $("who").textContent = auth.me.username;
  $("devices-panel").hidden = auth.me.role === "chair";
  $("documents-panel").hidden = auth.me.role === "chair";
  if (auth.me.role !== "chair") {
    view.documents = documentsPanel({ api, t, say, errorText, view });
    await view.documents.reload();
  }
  await reloadCouncil();
  view.sessionId = await pickSession();
  if (!view.sessionId) return;
  $("desk").hidden = false;
  followSession(view, auth, { render, renderConnection });
}

function wire() {
  wireSignIn({
    view,
    auth,
    renderTexts,
    onSignedIn: enterDesk,
    signInFailed: (error) => t("signInFailed", { message: errorText(error) }),
  });
  $("open-session").addEventListener("click", () => command({ type: "session.open" }));
  $("close-session").addEventListener("click", () => command({ type: "session.close" }));
  $("open-registration").addEventListener("click", () => command({ type: "registration.open" }));
  $("close-registration").addEventListener("click", () => command({ type: "registration.close" }));
  $("vote-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const subject = String(form.get("subject") || t("subjectDefault"));
    command({ type: "vote.open", item: view.state.current_item, subject, rule: form.get("rule"), seconds: Number(form.get("seconds")) });
  });
  $("close-vote").addEventListener("click", () => command({ type: "vote.close", vote: openVote(view.state).id }));
  $("cancel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = new FormData(event.target).get("reason");
    command({ type: "vote.cancel", vote: openVote(view.state).id, reason });
  });
  $("finish-speech").addEventListener("click", () => command({ type: "speaker.finish" }));
  $("item-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveItem(event.target);
  });
  $("item-cancel").addEventListener("click", () => {
    view.editing = null;
    $("item-form").reset();
    render();
  });
  $("link-form").addEventListener("submit", (event) => {
    event.preventDefault();
    makeLink($("deputy").value);
  });
  setInterval(tick, 250);
}

async function main() {
  wire();
  renderTexts();
  if (await auth.resume()) await enterDesk();
  else $("sign-in").hidden = false;
}

main();
