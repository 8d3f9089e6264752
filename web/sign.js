/**
 * The mayor's signing page (`/sign`): the mayor signs in, sees the adopted decisions awaiting a
 * signature with their text, files and digest, taps «Підписати» and confirms on the enrolled device
 * (WebAuthn, user verification required). The device signs what this page shows: the page computes
 * the decision's digest from the text and files it displays and refuses to sign if the server's
 * differs; the challenge commits to the council, the document, its decision number and that digest
 * (docs/ledger.md, "Signed decisions"; voting/decision.py).
 */

import { Auth } from "./auth.js";
import { canonicalBytes } from "./jcs.js";
import { errorText } from "./messages.js";
import { STRINGS, format, when } from "./sign-strings.js";
import { wireLanguageAndSignIn } from "./signed-in-page.js";
import { fromBase64url, toBase64url } from "./webauthn.js";

const LANG_KEY = "kvorum.lang";
const CHALLENGE_DOMAIN = new TextEncoder().encode("kvorum-decision-v1");
const $ = (id) => document.getElementById(id);
// Refusals that say this device may not sign at all: the council's list of devices is read again.
const DEVICE_REFUSALS = new Set(["unknown_credential", "credential_not_yours", "credential_revoked"]);

const auth = new Auth();
const view = {
  lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "uk",
  council: null,
  canSign: false, // the mayor has a live device enrolled
  decisions: [], // {document, localDigest, state: "ready"|"signing"|"sending"|"signed"|"refused"|"mismatch", error, signature}
  pageMessage: null, // [key, params]
};
const t = (key, params) => format(STRINGS[view.lang][key] ?? key, params);

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The decision's digest as voting/decision.py `document_digest` computes it, from what this page shows. */
async function digestOf(doc) {
  const body = {
    document: doc.id,
    number: doc.number,
    decision_number: doc.decision_number,
    title: doc.title,
    text: doc.text,
    attachments: doc.attachments.map((a) => a.sha256),
    session: doc.session,
    vote: doc.vote,
  };
  return hex(await sha256(canonicalBytes(body)));
}

/** SHA-256("kvorum-decision-v1" ‖ 0x00 ‖ JCS({v, council, document, decision_number, digest})). */
async function decisionChallenge(council, doc, digest) {
  const bytes = canonicalBytes({ v: 1, council, document: doc.id, decision_number: doc.decision_number, digest });
  const data = new Uint8Array(CHALLENGE_DOMAIN.length + 1 + bytes.length);
  data.set(CHALLENGE_DOMAIN, 0);
  data.set(bytes, CHALLENGE_DOMAIN.length + 1);
  return sha256(data);
}

/** The mayor's member id, and the ids of the mayor's credentials that may sign. */
function mayorDevices(council) {
  const mayor = council.deputies.find((d) => d.mayor)?.id ?? null;
  const credentials = council.credentials.filter((c) => c.deputy === mayor && !c.revoked).map((c) => c.id);
  return { mayor, credentials };
}

/** An API error, or the network's, as `{error}` with the server's stable code. */
async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return Object.assign(new Error(`HTTP ${response.status}`), { error: body.error ?? "default" });
}

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * The sentence for an error: this page's own, said for signing (the server's code, a WebAuthn
 * DOMException's name, or offline), else the one every screen has for the code (messages.js).
 */
function sentence(error) {
  const errors = STRINGS[view.lang].errors;
  if (error?.name && errors[error.name]) return errors[error.name];
  if (error instanceof TypeError) return errors.offline; // fetch could not reach the server
  if (error?.error === "offline") return errors.offline;
  if (auth.lost) return errors.signed_out;
  return errors[error?.error] ?? errorText(view.lang, error);
}

/** Read the council again (a device revoked meanwhile): the buttons stay enabled only while one may sign. */
async function reloadDevices() {
  try {
    view.council = await getJSON("/api/v1/council");
  } catch {
    return; // the refusal beside the button already says what happened
  }
  view.canSign = mayorDevices(view.council).credentials.length > 0;
  if (!view.canSign) view.pageMessage = ["noDevice"];
}

async function sign(item) {
  if (item.state === "signing" || item.state === "sending") return;
  const doc = item.document;
  item.state = "signing";
  item.error = null;
  render();
  try {
    const { credentials } = mayorDevices(view.council);
    const challenge = await decisionChallenge(view.council.id, doc, item.localDigest);
    const assertion = await navigator.credentials.get({
      publicKey: {
        challenge,
        rpId: view.council.rp_id,
        allowCredentials: credentials.map((id) => ({ type: "public-key", id: fromBase64url(id) })),
        userVerification: "required",
        timeout: 120_000,
      },
    });
    item.state = "sending";
    render();
    const command = {
      id: crypto.randomUUID(),
      type: "document.sign",
      algorithm: "webauthn",
      assertion: {
        credential: toBase64url(assertion.rawId),
        authenticator_data: toBase64url(assertion.response.authenticatorData),
        client_data_json: toBase64url(assertion.response.clientDataJSON),
        signature: toBase64url(assertion.response.signature),
      },
    };
    const response = await fetch(`/api/v1/documents/${encodeURIComponent(doc.id)}/commands`, {
      method: "POST",
      headers: { ...(await auth.headers()), "Content-Type": "application/json" },
      body: JSON.stringify(command),
    });
    if (!response.ok) throw await failure(response);
    item.document = await getJSON(`/api/v1/documents/${encodeURIComponent(doc.id)}`);
    item.state = "signed";
  } catch (error) {
    item.state = "refused";
    item.error = error;
    if (DEVICE_REFUSALS.has(error?.error)) await reloadDevices();
  }
  render();
  if (item.state === "refused") item.element?.querySelector(".sign-button").focus();
}

function statusLine(item) {
  switch (item.state) {
    case "mismatch":
      return t("digestMismatch");
    case "signing":
      return t("signing");
    case "sending":
      return t("sending");
    case "refused":
      return sentence(item.error);
    case "signed": {
      const signature = item.document.signature;
      const key = signature?.check?.verified ? "signed" : "signedUnchecked";
      return t(key, { when: when(view.lang, signature.at) });
    }
    default:
      return "";
  }
}

function card(item) {
  const li = $("decision-template").content.firstElementChild.cloneNode(true);
  const doc = item.document;
  li.dataset.document = doc.id;
  li.querySelector(".sign-button").addEventListener("click", () => sign(item));
  const files = li.querySelector(".files");
  for (const file of doc.attachments) {
    const link = document.createElement("a");
    link.href = `/api/v1/files/${file.sha256}`;
    link.textContent = file.name;
    const entry = document.createElement("li");
    entry.append(link);
    files.append(entry);
  }
  li.querySelector(".files-block").hidden = doc.attachments.length === 0;
  item.element = li;
  return li;
}

function renderCard(item) {
  const li = item.element;
  const doc = item.document;
  li.dataset.state = item.state;
  setText(li.querySelector(".decision-title"), t("decision", { number: doc.decision_number, title: doc.title }));
  setText(li.querySelector(".meta"), t("draft", { number: doc.number, rapporteur: doc.rapporteur }));
  setText(li.querySelector(".text-label"), t("text"));
  setText(li.querySelector(".text"), doc.text);
  setText(li.querySelector(".files-label"), t("files"));
  setText(li.querySelector(".digest-label"), t("digest"));
  setText(li.querySelector(".digest"), item.localDigest);
  const button = li.querySelector(".sign-button");
  setText(button, t("sign"));
  button.hidden = item.state === "signed";
  button.disabled = item.state === "signing" || item.state === "sending" || item.state === "mismatch" || !view.canSign;
  const status = li.querySelector(".sign-status");
  setText(status, statusLine(item));
  let link = li.querySelector(".open-decision");
  if (item.state === "signed" && !link) {
    link = document.createElement("a");
    link.className = "open-decision";
    link.href = `/decisions/${encodeURIComponent(doc.id)}`;
    status.after(link);
  }
  if (link) setText(link, t("openDecision"));
}

function render() {
  const s = STRINGS[view.lang];
  setText($("page-status"), view.pageMessage ? t(...view.pageMessage) : "");
  $("none").hidden = view.decisions.length > 0 || !view.council;
  for (const item of view.decisions) renderCard(item);
  document.documentElement.lang = s.lang;
}

function renderTexts() {
  document.title = t("title");
  const button = $("lang");
  button.textContent = t("otherLang");
  button.setAttribute("aria-label", t("otherLangName"));
  const texts = {
    heading: "heading",
    "sign-in-title": "signInTitle",
    "username-label": "username",
    "password-label": "password",
    "sign-in-button": "signIn",
    "sign-out": "signOut",
    "awaiting-title": "awaiting",
    "device-note": "deviceNote",
    none: "none",
  };
  for (const [id, key] of Object.entries(texts)) setText($(id), t(key));
  render();
}

async function loadDecisions() {
  const { documents } = await getJSON("/api/v1/documents");
  const adopted = documents.filter((d) => d.status === "adopted");
  const items = [];
  for (const row of adopted) {
    const doc = await getJSON(`/api/v1/documents/${encodeURIComponent(row.id)}`);
    const localDigest = await digestOf(doc);
    items.push({ document: doc, localDigest, state: localDigest === doc.digest ? "ready" : "mismatch", error: null });
  }
  return items;
}

async function showDesk() {
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  setText($("who"), auth.me.username);
  try {
    view.council = await getJSON("/api/v1/council");
    setText($("council"), view.council.name);
    const member = view.council.deputies.find((d) => d.id === auth.me.member);
    if (member) setText($("who"), member.name);
    const { mayor, credentials } = mayorDevices(view.council);
    if (!mayor || auth.me.member !== mayor) {
      view.pageMessage = ["notMayor", { username: auth.me.username }];
      render();
      return;
    }
    view.canSign = credentials.length > 0;
    if (!view.canSign) view.pageMessage = ["noDevice"];
    view.decisions = await loadDecisions();
  } catch {
    view.pageMessage = ["loadFailed"];
    render();
    return;
  }
  const list = $("decisions");
  list.replaceChildren(...view.decisions.map(card));
  $("desk").hidden = false;
  render();
}

function showSignIn() {
  $("desk").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  setText($("who"), "");
}

async function main() {
  wireLanguageAndSignIn({ view, auth, renderTexts, onSignedIn: showDesk });
  $("sign-out").addEventListener("click", async () => {
    await auth.logout();
    location.reload();
  });
  auth.addEventListener("signed-out", () => {
    view.pageMessage = ["signedOut"];
    showSignIn();
    render();
  });
  renderTexts();
  if (await auth.resume()) await showDesk();
  else showSignIn();
}

main();
