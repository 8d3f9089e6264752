/**
 * The deputy's tablet (`/tablet`): sign-in, device enrollment, registration, signed votes with a
 * receipt, the speakers' queue and conflict declarations, live over the session's WebSocket — for a
 * whole sitting day on one sign-in.
 *
 * What the tablet says about a ballot comes from two sources only, so its lines can never disagree:
 * the session's log (the member's last `ballot.cast`, the roll call at the close) and the client's
 * own queue of commands not yet acknowledged («надсилається…» while the link is up, «не доставлено —
 * повторюємо» while it is down, «зараховано» only after the server's acknowledgement).
 *
 * The page's session is `?session=<id>`, else the open one, else the newest. An enrollment link is
 * `/tablet#enroll=<token>`.
 */

import { amendmentArticles, amendmentsTitle, changeOf, renderChangeForm } from "./amendments.js";
import { Auth } from "./auth.js";
import { reportBeside } from "./dialog.js";
import { errorText } from "./messages.js";
import { keepReceipt, keptReceipt, receiptQr, rememberSignature, saveReceiptFile } from "./receipts.js";
import {
  ballotSeqOf,
  choiceOf,
  clock,
  openVote,
  rememberOwnBallot,
  secondsUntil,
  shownVote,
  signedCountOf,
} from "./session-state.js";
import {
  followOpening,
  followSession,
  pickSession,
  savedLanguage,
  showConnection,
  wireSignIn,
} from "./signed-in-page.js";
import { STRINGS, format } from "./tablet-strings.js";
import { amendmentOutcome, committeeName, conclusionsBlock, kindLine, registrationLine, rollCallLine } from "./ukrainian.js";
import { keyFromLog } from "./secret-log.js";
import { commissionPanel } from "./tablet-commission.js";
import { enroll, nonceFor, signBallot } from "./webauthn.js";

const $ = (id) => document.getElementById(id);

const auth = new Auth();
const view = {
  lang: savedLanguage(),
  council: null,
  sessionId: null,
  state: null,
  client: null,
  everOpen: false,
  /** The ballot this tablet is signing or sending: {vote, choice, stage: "signing" | "sending", id?}. */
  pending: null,
  /** The last refusal of this member's ballot: {vote, text}. */
  refusal: null,
  drafts: {}, // registry number → SHA-256 of the draft's PDF, to open the document
  documents: {}, // registry number → the draft's document id
  /** The current item's draft as its document tells it (text and amendments), or null. */
  draft: null,
  draftFor: null, // the registry number `draft` was last read for
  /** Receipts being fetched or refused, by the ballot's seq: {state: "fetching" | error key, tries}. */
  receipts: {},
  /** A secret vote's election key as this tablet computed it from the log, by vote. */
  keys: {},
};

const s = () => STRINGS[view.lang];
const t = (key, params) => format(s(), key, params);
const member = () => auth.me?.member ?? null;
const me = () => view.council?.deputies.find((d) => d.id === member()) ?? null;
const deputyName = (id) => view.council?.deputies.find((d) => d.id === id)?.name ?? id;
/** A choice as this deputy says it: «Утримався» / «Утрималася» by the recorded gender, «Утримуюся» if none. */
const choiceLabel = (choice) =>
  choice === "abstain" ? t({ female: "abstain_female", male: "abstain" }[me()?.gender] ?? "abstain_none") : t(choice);

const commission = commissionPanel({
  view,
  t,
  member,
  send: (command) => view.client.send(command),
  explain: (error) => errorText(view.lang, error),
});

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
    "propose-amendment-title": "proposeAmendment",
    "am-reason-label": "amReason",
    "am-send": "amSend",
    "receipt-save": "receiptSave",
    "receipt-show-qr": "receiptShowQr",
    "receipt-check": "receiptCheck",
  };
  for (const [id, key] of Object.entries(texts)) $(id).textContent = t(key);
  renderChoices();
  renderConnection(view.client?.status ?? "connecting");
  render();
}

function renderChoices() {
  for (const button of document.querySelectorAll(".choice")) button.textContent = choiceLabel(button.dataset.choice);
}

function renderConnection(status) {
  showConnection($("connection"), status, view);
  renderBallot(); // a ballot waiting for the link says so the moment the link goes
}

// ---- the session as it stands ---------------------------------------------------------------

function render() {
  const state = view.state;
  if (!state || !view.council) return;
  $("council").textContent = view.council.name;
  $("session-title").textContent = state.title;
  $("presence-title").textContent = t(`session_${state.status}`);
  renderChoices();
  renderAgenda(state);
  renderPresence(state);
  renderVote(state);
  renderAmendments(state);
  renderSpeakers(state);
  renderConflict(state);
  commission.render(state);
}

/** The amendments of the draft under consideration, beside the vote (the one put to it marked). */
function renderAmendments(state) {
  const item = state.agenda.find((i) => i.id === state.current_item);
  if ((item?.draft ?? null) !== view.draftFor) {
    view.draftFor = item?.draft ?? null; // taken up (or a snapshot): read its draft once, then show it
    loadDraft().then(render, () => {});
  }
  const draft = item?.draft && view.draft?.number === item.draft ? view.draft : null;
  // the committees' conclusions on the draft, beside the item, at the plenary (a committee's own sitting
  // is where they are made)
  const block = draft && !state.committee ? conclusionsBlock(view.lang, draft, view.council) : [];
  $("conclusions").hidden = !block.length;
  $("conclusions").replaceChildren(...block);
  $("amendments").hidden = !draft || (!draft.amendments.length && !draft.draft_text);
  if ($("amendments").hidden) return;
  $("amendments-title").textContent = amendmentsTitle(view.lang, draft.number);
  // a deputy may propose an amendment while the draft is not decided (the server says so otherwise)
  $("propose-amendment").hidden = !draft.draft_text || !["registered", "published_draft", "scheduled"].includes(draft.status);
  renderChangeForm(view.lang);
  $("amendment-list").replaceChildren(
    ...amendmentArticles({ lang: view.lang, draft, votes: state.votes, deputyName, committeeName: (id) => committeeName(view.council, id) }),
  );
}

/** An amendment in the deputy's own name, to the draft under consideration. */
async function proposeAmendment(form) {
  const data = new FormData(form);
  const body = { id: crypto.randomUUID(), type: "amendment.propose", reason: String(data.get("reason")), changes: [changeOf(data)] };
  try {
    await api(`/documents/${encodeURIComponent(view.draft.id)}/commands`, { method: "POST", body: JSON.stringify(body) });
    form.reset();
    reportBeside(form, t("amSent"), "done");
    await loadDraft();
    render();
  } catch (error) {
    reportBeside(form, errorText(view.lang, error), "error");
  }
}

/** Read the current item's draft (its text and amendments) again: an amendment may come during the debate. */
async function loadDraft() {
  const item = view.state?.agenda.find((i) => i.id === view.state.current_item);
  const id = item?.draft ? view.documents[item.draft] : null;
  if (!id) {
    view.draft = null;
    return;
  }
  const response = await fetch(`/api/v1/documents/${encodeURIComponent(id)}`);
  if (response.ok) view.draft = await response.json();
}

function renderAgenda(state) {
  const list = $("agenda");
  list.replaceChildren(
    ...state.agenda.map((item) => {
      const li = document.createElement("li");
      li.dataset.status = item.status;
      li.append(t("itemLine", item));
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
  const open = state.status === "open";
  $("quorum").hidden = !open;
  $("quorum-verdict").hidden = !open;
  $("quorum").textContent = registrationLine(view.lang, state.composition);
  $("quorum").dataset.quorum = state.quorum ? "yes" : "no";
  $("quorum-verdict").textContent = t(state.quorum ? "quorumYes" : "quorumNo");
  const registered = state.registered.includes(member());
  // at a committee's sitting only its members register and vote; another deputy attends and may speak
  const committee = state.committee ? view.council.committees?.find((c) => c.id === state.committee) : null;
  const guest = committee !== null && committee !== undefined && !committee.members.includes(member());
  $("register").hidden = registered || guest || !state.registration_open || state.status !== "open";
  $("register").textContent = t("register");
  $("registered-note").hidden = !registered && !guest;
  $("registered-note").textContent = t(guest ? "committeeGuest" : "registered");
  const needsDevice = view.council.signed_ballots && myCredentials().length === 0;
  $("device-note").hidden = !needsDevice;
  $("device-note").textContent = t("noDevice");
}

function myCredentials() {
  return view.council.credentials.filter((c) => c.deputy === member() && !c.revoked).map((c) => c.id);
}

function renderVote(state) {
  const under = openVote(state);
  const open = under?.product ? null : under; // a secret vote being counted takes no more ballots
  const shown = shownVote(state); // never an earlier item's result under a new item
  const item = shown ? state.agenda.find((i) => i.id === shown.item) : null;
  const title = !shown
    ? t("noVote")
    : under?.product
      ? t("tallying", { subject: shown.subject })
      : open
      ? t("voteTitle", { subject: shown.subject })
      : shown.status === "cancelled"
        ? t("cancelled", { subject: shown.subject, reason: shown.reason ?? "" })
        : t("results", { subject: shown.subject });
  $("vote-title").textContent = title;
  $("vote-kind").textContent = shown ? kindLine(view.lang, shown, state.votes) : "";
  $("vote-kind").hidden = !$("vote-kind").textContent;
  $("vote-item").textContent = item
    ? t("voteItem", { number: item.number, title: item.title })
    : shown?.purpose === "agenda_add"
      ? t("voteProposal", shown.proposal)
      : "";
  $("choices").hidden = !open;
  const conflict = open ? conflictOn(state, open) : null;
  $("ballot-rule").hidden = !open;
  $("ballot-rule").textContent = conflict
    ? t(conflict === "barred" ? "conflictBarred" : "conflictVotes")
    : t(view.council.first_ballot_final ? "ruleFinal" : "ruleChangeable") +
      (open?.secret ? ` ${t("ruleSecret")}` : open?.sealed ? ` ${t("ruleSealed")}` : "");
  $("ballot-rule").dataset.conflict = conflict ?? "";
  const closed = shown?.status === "closed" && shown.tally;
  $("results").hidden = !closed;
  if (closed) {
    $("tally").textContent = t("tally", shown.tally);
    const words = amendmentOutcome(view.lang, shown); // an amendment vote decides on the amendment
    $("outcome").textContent = words
      ? `${words} (${t("needed", shown.tally)})`
      : t(`outcome_${shown.tally.outcome}`, shown.tally);
    const line = shown.roll_call?.[member()];
    $("my-line").textContent = line ? t("myLine", { line: rollCallLine(view.lang, line, me()?.gender) }) : "";
  }
  renderReceipt(closed ? shown : null);
  renderBallot();
  renderCountdown();
}

/**
 * The receipt of this deputy's ballot in the closed vote shown: kept on this device (fetched and checked
 * once the vote closed), being fetched, waiting for the witnesses' cosignatures, or refused by its check.
 */
function renderReceipt(vote) {
  const seq = vote ? ballotSeqOf(view.state, vote.id, member()) : null;
  $("receipt").hidden = !seq;
  if (!seq) return;
  const kept = keptReceipt(view.sessionId, seq);
  const trying = view.receipts[seq];
  if (!kept?.witnessed && !trying) fetchReceipt(vote, seq);
  let text = t("receiptFetching");
  if (kept) {
    const params = { seq, count: kept.cosigned.length, needed: kept.needed };
    text = t(!kept.needed ? "receiptKept" : kept.witnessed ? "receiptWitnessed" : "receiptPending", params);
  } else if (trying && trying.state !== "fetching") {
    text = t(trying.state);
  }
  $("receipt-line").textContent = text;
  $("receipt-line").dataset.state = kept ? (kept.witnessed ? "kept" : "pending") : (trying?.state ?? "fetching");
  $("receipt-actions").hidden = !kept;
  if (!kept) $("receipt-qr").hidden = true;
}

/** Fetch, check and keep the receipt; again a few seconds later while the witnesses have not all cosigned. */
async function fetchReceipt(vote, seq) {
  const tries = (view.receipts[seq]?.tries ?? 0) + 1;
  view.receipts[seq] = { state: "fetching", tries };
  let outcome;
  try {
    outcome = await keepReceipt({
      session: view.sessionId,
      seq,
      vote: vote.id,
      subject: vote.subject,
      deputy: member(),
      council: view.council,
    });
  } catch {
    outcome = { error: "receiptUnavailable" };
  }
  const again = outcome.error === "receiptUnavailable" || (!outcome.error && !outcome.witnessed);
  view.receipts[seq] = { state: outcome.error ?? "kept", tries };
  if (again && tries < 40) setTimeout(() => fetchReceipt(vote, seq), 3000);
  render();
}

function showReceiptQr() {
  const vote = shownVote(view.state);
  const kept = vote && keptReceipt(view.sessionId, ballotSeqOf(view.state, vote.id, member()));
  const qr = $("receipt-qr");
  qr.hidden = !qr.hidden || !kept;
  $("receipt-show-qr").setAttribute("aria-expanded", String(!qr.hidden));
  if (!qr.hidden) {
    qr.src = receiptQr(kept);
    qr.alt = t("receiptQrAlt");
  }
}

/** The member's ballot in the open vote: the log's choice, or the one on its way, and where it is. */
function renderBallot() {
  const state = view.state;
  if (!state || !view.council) return;
  const open = openVote(state);
  const pending = view.pending && open && view.pending.vote === open.id ? view.pending : null;
  const counted = open ? choiceOf(state, open.id, member()) : null;
  const shownChoice = pending?.choice ?? counted;
  const registered = state.registered.includes(member());
  const final = view.council.first_ballot_final && counted !== null;
  const barred = open !== null && conflictOn(state, open) === "barred";
  for (const button of document.querySelectorAll(".choice")) {
    const mine = button.dataset.choice === shownChoice;
    button.setAttribute("aria-pressed", String(mine));
    button.dataset.pending = String(mine && pending !== null);
    button.disabled = !registered || pending !== null || final || barred;
  }
  let stage = "";
  let text = "";
  if (!open) {
    // after the close the roll call speaks (renderVote); nothing else about the ballot
  } else if (pending?.stage === "encrypting") {
    [stage, text] = ["encrypting", t("encrypting")];
  } else if (pending?.stage === "signing") {
    [stage, text] = ["signing", t("signing")];
  } else if (pending) {
    const online = view.client?.status === "open";
    const choice = choiceLabel(pending.choice);
    [stage, text] = online ? ["sending", t("sending", { choice })] : ["retrying", t("retrying", { choice })];
  } else if (view.refusal?.vote === open.id) {
    [stage, text] = ["refused", view.refusal.text];
  } else if (counted) {
    const seq = ballotSeqOf(state, open.id, member());
    stage = "counted";
    const choice = choiceLabel(counted);
    text = seq ? t("counted", { choice, seq }) : t("countedNoEntry", { choice });
  } else if (open.voters.includes(member())) {
    // a sealed vote's ballot of this deputy cast on another device: counted, its choice unknown here
    [stage, text] = ["counted", t("countedElsewhere", { seq: ballotSeqOf(state, open.id, member()) ?? "" })];
  }
  $("ballot-status").dataset.state = stage;
  if ($("ballot-status").textContent !== text) $("ballot-status").textContent = text;
}

/**
 * Whether this deputy declared a conflict of interest on the vote's item, and what follows (art.
 * 59-1): "barred" — the deputy does not vote; "votes" — without the conflicted deputies the meeting
 * would have no quorum, so the deputy votes after the public declaration; null — no conflict.
 */
function conflictOn(state, vote) {
  const conflicted = new Set(state.conflicts.filter((c) => c.item === vote.item).map((c) => c.deputy));
  if (!conflicted.has(member())) return null;
  const mayor = view.council.deputies.find((d) => d.mayor)?.id;
  const left = state.registered.filter((m) => m !== mayor && !conflicted.has(m)).length;
  // the quorum of the body that sits: the council's (art. 46) or the committee's (art. 47), as the server counts it
  return left >= state.composition.quorum ? "barred" : "votes";
}

function renderCountdown() {
  const speech = view.state?.speakers.current;
  if (speech?.deputy === member()) $("speaker").textContent = t("youSpeak", { time: clock(secondsUntil(speech.until)) });
  const open = view.state && openVote(view.state);
  $("countdown").textContent = open && !open.product // a secret vote being counted has no time left to show
    ? t("secondsLeft", { seconds: secondsUntil(open.closes_at) })
    : "";
}

function renderSpeakers(state) {
  const current = state.speakers.current;
  $("speaker").textContent = current
    ? current.deputy === member()
      ? t("youSpeak", { time: clock(secondsUntil(current.until)) })
      : t("speaking", { name: deputyName(current.deputy) })
    : t("noSpeaker");
  const place = state.speakers.queue.indexOf(member()) + 1;
  $("queue-place").textContent = place ? t("queuePlace", { place }) : "";
  $("request-floor").hidden =
    place > 0 || current?.deputy === member() || !state.registered.includes(member()) || state.status !== "open";
}

function renderConflict(state) {
  const declared = state.conflicts.some((c) => c.deputy === member() && c.item === state.current_item);
  $("conflict-form").hidden = !state.current_item || declared;
  $("conflict-declared").hidden = !declared && Boolean(state.current_item);
  $("conflict-declared").textContent = t(declared ? "conflictDeclared" : "conflictNoItem");
}

// ---- actions ---------------------------------------------------------------------------------

async function cast(choice) {
  const vote = openVote(view.state);
  if (!vote || view.pending) return;
  view.refusal = null;
  const stage = vote.secret ? "encrypting" : view.council.signed_ballots ? "signing" : "sending";
  view.pending = { vote: vote.id, choice, stage };
  renderBallot();
  try {
    // a secret ballot leaves the tablet encrypted under the commission's key, with its proofs; the signature
    // then covers its digest in place of the choice (docs/ledger.md "Secret ballots")
    let said = { choice };
    let content = { choice };
    if (vote.secret) {
      const secret = await import("./secret-ballot.js");
      // the key comes from the commission's commitments in the log, not from the server's word for it
      view.keys[vote.id] ??= await keyFromLog(secret, view.council.id, view.sessionId);
      if (view.keys[vote.id] !== vote.key) throw Object.assign(new Error("key"), { error: "secret_key_mismatch" });
      const encrypted = secret.encryptBallot(vote.key, choice, `${view.council.id}/${view.sessionId}/${vote.id}`, member());
      said = { encrypted };
      content = { encrypted: await secret.encryptedDigest(encrypted) };
      view.pending = { ...view.pending, stage: view.council.signed_ballots ? "signing" : "sending" };
      renderBallot();
    }
    let signed = {};
    if (view.council.signed_ballots) {
      const index = signedCountOf(view.state, vote.id, member());
      const nonce = await nonceFor(vote.nonce_seed, member(), index); // public seed: works offline too
      const ballot = { council: view.council.id, session: view.sessionId, vote: vote.id, item: vote.item };
      signed = await signBallot(
        { ...ballot, deputy: member(), ...content, nonce },
        { rpId: view.council.rp_id, credentials: myCredentials() },
      );
      rememberSignature(view.sessionId, vote.id, signed.assertion.signature); // the receipt's ballot is this one
      view.pending = { ...view.pending, stage: "sending" };
      renderBallot();
    }
    // Resent after every reconnect until acknowledged; the server acts on an id only once.
    const ack = await view.client.send({ type: "ballot.cast", vote: vote.id, ...said, ...signed });
    if (vote.sealed || vote.secret) rememberOwnBallot(view.state, vote.id, member(), choice, ack.seq); // the log will not say
  } catch (error) {
    view.refusal = { vote: vote.id, text: t("refused", { message: errorText(view.lang, error) }) };
  } finally {
    view.pending = null;
    render();
  }
}

/** A simple member command; its outcome is shown beside the button that sent it. */
async function simple(command, control) {
  reportBeside(control, "");
  const late = setTimeout(() => reportBeside(control, t("actionRetrying"), "pending"), 1500);
  try {
    await view.client.send(command);
    reportBeside(control, "");
  } catch (error) {
    reportBeside(control, errorText(view.lang, error), "error");
  } finally {
    clearTimeout(late);
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
      $("enroll-status").textContent = t("enrollFailed", { message: errorText(view.lang, error) });
      $("enroll-button").disabled = false;
    }
  });
}

/** The PDFs of the registered drafts, by registry number (documents come from the decisions workflow);
 * and their documents' ids (`view.documents`). */
async function loadDrafts() {
  const { documents } = await (await fetch("/api/v1/documents")).json();
  view.documents = Object.fromEntries(documents.map((d) => [d.number, d.id]));
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
  if (!view.sessionId) {
    $("no-session").hidden = false;
    $("no-session").textContent = t("noSession");
    return;
  }
  $("chamber").hidden = false;
  if ($("enroll-button").hidden) $("enroll").hidden = true; // enrolled: the chamber is what matters now
  follow();
  followOpening(view, (id) => {
    view.client?.close();
    view.sessionId = id;
    view.state = null;
    follow();
  });
}

function follow() {
  followSession(view, auth, {
    render,
    renderConnection,
    onEvent: async (event) => {
      // a vote is when a newly enrolled or revoked device matters: refresh the council's credentials
      if (event.type === "vote.opened") view.council = await (await fetch("/api/v1/council")).json();
      // an item taken up or added may carry a draft registered since the page opened: its PDF link
      if (event.type === "item.started" || event.type === "item.added") {
        view.drafts = await loadDrafts().catch(() => view.drafts);
      }
      // the draft's amendments again at each vote: one may have been proposed during the debate
      if (event.type === "vote.opened") await loadDraft().catch(() => {});
    },
  });
}

function wire() {
  wireSignIn({ view, auth, renderTexts, onSignedIn: enterChamber });
  for (const button of document.querySelectorAll(".choice")) {
    button.addEventListener("click", () => cast(button.dataset.choice));
  }
  $("register").addEventListener("click", (event) => simple({ type: "presence.register" }, event.currentTarget));
  $("request-floor").addEventListener("click", (event) => simple({ type: "speaker.request" }, event.currentTarget));
  $("am-op").addEventListener("change", () => renderChangeForm(view.lang));
  $("receipt-save").addEventListener("click", () => {
    const vote = shownVote(view.state);
    const kept = vote && keptReceipt(view.sessionId, ballotSeqOf(view.state, vote.id, member()));
    if (kept) saveReceiptFile(kept);
  });
  $("receipt-show-qr").addEventListener("click", showReceiptQr);
  $("amendment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    proposeAmendment(event.target);
  });
  $("conflict-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = new FormData(event.target).get("reason");
    simple({ type: "conflict.declare", item: view.state.current_item, reason }, event.target);
  });
  setInterval(renderCountdown, 250);
  setInterval(() => view.client && renderConnection(view.client.status), 1000);
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
