/**
 * The deputy's tablet (`/tablet`): sign-in, device enrollment, registration, signed votes with a
 * receipt, the speakers' queue and conflict declarations, live over the session's WebSocket.
 *
 * The page's session is `?session=<id>`, else the open one, else the newest. An enrollment link is
 * `/tablet#enroll=<token>`.
 */

import { Auth } from "./auth.js";
import { followSession, pickSession, savedLanguage, wireSignIn } from "./signed-in-page.js";
import { openVote } from "./session-state.js";
import { STRINGS, format } from "./tablet-strings.js";
import { enroll, signBallot } from "./webauthn.js";

const NOT_DELIVERED_MS = 5000; // an action unanswered this long is shown as not delivered
const $ = (id) => document.getElementById(id);

const auth = new Auth();
const view = {
  lang: savedLanguage(),
  council: null,
  sessionId: null,
  state: null,
  client: null,
  ballot: { vote: null, choice: null, state: "", text: "" }, // this deputy's ballot in the open vote
  busy: false,
  drafts: {}, // registry number → SHA-256 of the draft's PDF, to open the document
};

const s = () => STRINGS[view.lang];
const t = (key, params) => format(s(), key, params);
const errorText = (error) => s().errors[error.error ?? error.name] ?? error.message ?? String(error);
const member = () => auth.me?.member ?? null;
const deputyName = (id) => view.council?.deputies.find((d) => d.id === id)?.name ?? id;

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    ...options,
    headers: { ...(await auth.headers()), ...(options.headers ?? {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.message ?? response.statusText), { error: body.error });
  return body;
}

// ---- static texts and language --------------------------------------------------------------

function renderTexts() {
  document.documentElement.lang = s().lang;
  document.title = t("title");
  const texts = {
    lang: "otherLang",
    "sign-out": "signOut",
    "enroll-title": "enrollTitle",
    "enroll-text": "enrollText",
    "enroll-button": "enrollButton",
    "sign-in-title": "signInTitle",
    "username-label": "username",
    "password-label": "password",
    "sign-in-button": "signIn",
    "agenda-title": "agenda",
    "speakers-title": "speakers",
    "request-floor": "requestFloor",
    "conflict-title": "conflict",
    "conflict-reason-label": "conflictReason",
    "conflict-send": "conflictSend",
  };
  for (const [id, key] of Object.entries(texts)) $(id).textContent = t(key);
  for (const button of document.querySelectorAll(".choice")) button.textContent = t(button.dataset.choice);
  renderConnection(view.client?.status ?? "connecting");
  render();
}

function renderConnection(status) {
  $("connection").dataset.status = status;
  $("connection").textContent = t(`connection_${status}`);
}

// ---- the session as it stands ---------------------------------------------------------------

function render() {
  const state = view.state;
  if (!state || !view.council) return;
  $("council").textContent = view.council.name;
  $("session-title").textContent = state.title;
  $("presence-title").textContent = t(`session_${state.status}`);
  renderAgenda(state);
  renderPresence(state);
  renderVote(state);
  renderSpeakers(state);
  renderConflict(state);
}

function renderAgenda(state) {
  const list = $("agenda");
  list.replaceChildren(
    ...state.agenda.map((item) => {
      const li = document.createElement("li");
      li.dataset.status = item.status;
      li.append(`${item.number}. ${item.title}`);
      const status = document.createElement("span");
      status.className = "status";
      status.textContent = t(`item_${item.status}`);
      li.append(status);
      if (item.draft) {
        const file = view.drafts[item.draft];
        const draft = document.createElement(file ? "a" : "span");
        draft.className = "draft";
        draft.textContent = t("draft", { draft: item.draft });
        if (file) {
          draft.href = `/api/v1/files/${file}`;
          draft.target = "_blank";
          draft.rel = "noopener";
        }
        li.append(draft);
      }
      return li;
    }),
  );
}

function renderPresence(state) {
  const me = member();
  const mayor = view.council.deputies.find((d) => d.mayor)?.id;
  const count = state.registered.filter((m) => m !== mayor).length;
  $("quorum").textContent = t(state.quorum ? "quorumYes" : "quorumNo", { count, composition: view.council.composition });
  const registered = state.registered.includes(me);
  $("register").hidden = registered || !state.registration_open || state.status !== "open";
  $("register").textContent = t("register");
  $("registered-note").hidden = !registered;
  $("registered-note").textContent = t("registered");
  const needsDevice = view.council.signed_ballots && myCredentials().length === 0;
  $("device-note").hidden = !needsDevice;
  $("device-note").textContent = t("noDevice");
}

function myCredentials() {
  return view.council.credentials.filter((c) => c.deputy === member() && !c.revoked).map((c) => c.id);
}

function renderVote(state) {
  const open = openVote(state);
  const last = state.votes.at(-1) ?? null;
  const shown = open ?? last;
  const item = shown ? state.agenda.find((i) => i.id === shown.item) : null;
  $("vote-title").textContent = shown ? t(open ? "voteTitle" : "results", { subject: shown.subject }) : t("noVote");
  $("vote-item").textContent = item ? t("voteItem", { number: item.number, title: item.title }) : "";
  $("choices").hidden = !open;
  if (view.ballot.vote !== shown?.id) view.ballot = { vote: shown?.id ?? null, choice: null, state: "", text: "" };
  for (const button of document.querySelectorAll(".choice")) {
    button.setAttribute("aria-pressed", String(button.dataset.choice === view.ballot.choice));
    button.disabled = view.busy || !state.registered.includes(member());
  }
  $("ballot-status").dataset.state = view.ballot.state;
  $("ballot-status").textContent = view.ballot.text;
  const closed = shown?.status === "closed" && shown.tally;
  $("results").hidden = !closed;
  if (closed) {
    $("tally").textContent = t("tally", shown.tally);
    $("outcome").textContent = t(`outcome_${shown.tally.outcome}`, shown.tally);
    const line = shown.roll_call?.[member()];
    $("my-line").textContent = line ? t("myLine", { line: t(`line_${line}`) }) : "";
  }
  renderCountdown();
}

function renderCountdown() {
  const open = view.state && openVote(view.state);
  $("countdown").textContent = open
    ? t("secondsLeft", { seconds: Math.max(0, Math.ceil((Date.parse(open.closes_at) - Date.now()) / 1000)) })
    : "";
}

function renderSpeakers(state) {
  const current = state.speakers.current;
  $("speaker").textContent = current
    ? current.deputy === member()
      ? t("youSpeak")
      : t("speaking", { name: deputyName(current.deputy) })
    : t("noSpeaker");
  const place = state.speakers.queue.indexOf(member()) + 1;
  $("queue-place").textContent = place ? t("queuePlace", { place }) : "";
  $("request-floor").hidden = place > 0 || current?.deputy === member() || !state.registered.includes(member());
}

function renderConflict(state) {
  const declared = state.conflicts.some((c) => c.deputy === member() && c.item === state.current_item);
  $("conflict-form").hidden = !state.current_item || declared;
  if (declared) $("conflict-status").textContent = t("conflictDeclared");
}

// ---- actions ---------------------------------------------------------------------------------

/** Send a command; show it as not delivered if no answer comes in time (it stays queued). */
async function deliver(command, onLate) {
  const late = setTimeout(onLate, NOT_DELIVERED_MS);
  try {
    return await view.client.send(command);
  } finally {
    clearTimeout(late);
  }
}

function setBallot(state, text, choice = view.ballot.choice) {
  view.ballot = { ...view.ballot, state, text, choice };
  render();
}

async function cast(choice) {
  const vote = openVote(view.state);
  if (!vote || view.busy) return;
  view.busy = true;
  const previous = view.ballot.choice;
  try {
    let signed = {};
    if (view.council.signed_ballots) {
      setBallot("signing", t("signing"), previous);
      const { nonce } = await api(`/sessions/${view.sessionId}/votes/${vote.id}/nonce`);
      const ballot = { council: view.council.id, session: view.sessionId, vote: vote.id, item: vote.item };
      signed = await signBallot(
        { ...ballot, deputy: member(), choice, nonce },
        { rpId: view.council.rp_id, credentials: myCredentials() },
      );
    }
    setBallot("sending", t("sending"), previous);
    const ack = await deliver({ type: "ballot.cast", vote: vote.id, choice, ...signed }, () =>
      setBallot("failed", t("notDelivered"), previous),
    );
    setBallot("counted", t("countedNoReceipt", { choice: t(choice) }), choice);
    try {
      const receipt = await api(`/sessions/${view.sessionId}/ledger/receipt?seq=${ack.seq}`);
      setBallot("counted", t("counted", { choice: t(choice), leaf: receipt.index }), choice);
    } catch {
      // the ballot counts; the receipt can be fetched again later
    }
  } catch (error) {
    const offline = error instanceof TypeError; // fetch: the network is down
    setBallot(offline ? "failed" : "refused", offline ? t("notDelivered") : t("refused", { message: errorText(error) }), previous);
  } finally {
    view.busy = false;
    render();
  }
}

async function simple(command, statusId) {
  try {
    $(statusId).textContent = "";
    await deliver(command, () => ($(statusId).textContent = t("actionNotDelivered")));
    $(statusId).textContent = "";
  } catch (error) {
    $(statusId).textContent = t("refused", { message: errorText(error) });
  }
}

// ---- start -----------------------------------------------------------------------------------

async function startEnrollment(token) {
  $("enroll").hidden = false;
  $("enroll-button").addEventListener("click", async () => {
    $("enroll-button").disabled = true;
    $("enroll-status").textContent = t("enrolling");
    try {
      await enroll(token);
      $("enroll-status").textContent = t("enrolled");
      $("enroll-button").hidden = true;
      history.replaceState(null, "", location.pathname + location.search);
      if (view.council) view.council = await (await fetch("/api/v1/council")).json();
      render();
    } catch (error) {
      $("enroll-status").textContent = t("enrollFailed", { message: errorText(error) });
      $("enroll-button").disabled = false;
    }
  });
}

/** The PDFs of the registered drafts, by registry number (documents come from the decisions workflow). */
async function loadDrafts() {
  const { documents } = await (await fetch("/api/v1/documents")).json();
  const entries = await Promise.all(
    documents.map(async (d) => [d.number, (await (await fetch(`/api/v1/documents/${d.id}`)).json()).attachments?.[0]?.sha256]),
  );
  return Object.fromEntries(entries.filter(([, sha]) => sha));
}

async function enterChamber() {
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  view.council = await (await fetch("/api/v1/council")).json();
  view.drafts = await loadDrafts().catch(() => ({}));
  $("who").textContent = auth.me.member ? deputyName(auth.me.member) : auth.me.username;
  view.sessionId = await pickSession();
  if (!view.sessionId) return;
  $("chamber").hidden = false;
  followSession(view, auth, {
    render,
    renderConnection,
    onEvent: async (event) => {
      // a vote is when a newly enrolled or revoked device matters: refresh the council's credentials
      if (event.type === "vote.opened") view.council = await (await fetch("/api/v1/council")).json();
    },
  });
}

function wire() {
  wireSignIn({
    view,
    auth,
    renderTexts,
    onSignedIn: enterChamber,
    signInFailed: (error) => t("signInFailed", { message: errorText(error) }),
  });
  for (const button of document.querySelectorAll(".choice")) {
    button.addEventListener("click", () => cast(button.dataset.choice));
  }
  $("register").addEventListener("click", () => simple({ type: "presence.register" }, "presence-status"));
  $("request-floor").addEventListener("click", () => simple({ type: "speaker.request" }, "speaker-status"));
  $("conflict-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = new FormData(event.target).get("reason");
    simple({ type: "conflict.declare", item: view.state.current_item, reason }, "conflict-status");
  });
  setInterval(renderCountdown, 250);
}

async function main() {
  wire();
  renderTexts();
  const token = new URLSearchParams(location.hash.slice(1)).get("enroll");
  if (token) startEnrollment(token);
  if (await auth.resume()) await enterChamber();
  else $("sign-in").hidden = false;
}

main();
