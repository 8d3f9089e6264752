/**
 * The operator's broadcast page (`/broadcast?session=<id>`): the video operator or the secretary
 * signs in, turns on the chamber camera and publishes it (WHIP); the page shows whether the
 * broadcast is on air and how many watch. OBS Studio can publish to the same address instead.
 */

import { Auth } from "./auth.js";
import { STRINGS } from "./broadcast-strings.js";
import { errorText } from "./messages.js";
import { format } from "./public-strings.js";
import { pickSession, savedLanguage, wireSignIn } from "./signed-in-page.js";
import { publish } from "./video.js";

const STAFF = new Set(["operator", "secretary", "admin"]);
const STATUS_MS = 3000;
const $ = (id) => document.getElementById(id);

const auth = new Auth();
const view = { lang: savedLanguage(), sessionId: null, status: null, publisher: null, stream: null, message: "" };
const t = (key, params) => format(STRINGS[view.lang], key, params);

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function renderTexts() {
  document.documentElement.lang = STRINGS[view.lang].lang;
  document.title = t("title");
  const button = $("lang");
  button.textContent = t("otherLang");
  button.setAttribute("aria-label", t("otherLangName"));
  const texts = {
    "sign-in-title": "signInTitle",
    "username-label": "username",
    "password-label": "password",
    "sign-in-button": "signIn",
    "sign-out": "signOut",
    "studio-title": "studio",
    start: "start",
    stop: "stop",
    "obs-title": "obs",
    "obs-help": "obsHelp",
    "make-key": "makeKey",
    "key-help": "keyHelp",
  };
  for (const [id, key] of Object.entries(texts)) setText($(id), t(key));
  render();
}

function render() {
  const status = view.status;
  const line = status ? t(`status_${status.status}`, { count: status.viewers.webrtc + status.viewers.hls }) : "";
  setText($("broadcast-status"), line);
  setText($("action-status"), view.message);
  $("start").disabled = Boolean(view.publisher) || status?.status === "live";
  $("stop").disabled = !view.publisher;
}

async function refresh() {
  if (!view.sessionId) return;
  try {
    const response = await fetch(`/api/v1/sessions/${encodeURIComponent(view.sessionId)}/broadcast`, {
      cache: "no-store",
    });
    if (response.ok) view.status = await response.json();
  } catch {
    return; // the network blinked: the next refresh tells
  }
  render();
}

async function start() {
  view.message = t("starting");
  render();
  try {
    view.stream ??= await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
  } catch (error) {
    view.message = t(error.name === "NotAllowedError" ? "noCameraAllowed" : "noCamera");
    render();
    return;
  }
  $("preview").srcObject = view.stream;
  try {
    view.publisher = await publish(view.stream, view.sessionId, () => auth.headers());
    view.message = "";
  } catch (error) {
    view.message = errorText(view.lang, error.code ? { error: error.code } : error);
  }
  await refresh();
}

async function stop() {
  const publisher = view.publisher;
  view.publisher = null;
  await publisher?.stop();
  for (const track of view.stream?.getTracks() ?? []) track.stop();
  view.stream = null;
  $("preview").srcObject = null;
  await refresh();
}

async function makeKey() {
  try {
    const response = await fetch(`/api/v1/sessions/${encodeURIComponent(view.sessionId)}/video/key`, {
      method: "POST",
      headers: await auth.headers(),
    });
    const body = await response.json();
    if (!response.ok) throw Object.assign(new Error(body.message), { error: body.error ?? "http_error" });
    $("key-help").hidden = false;
    setText($("stream-key"), body.key);
  } catch (error) {
    view.message = errorText(view.lang, error);
    render();
  }
}

async function showDesk() {
  if (!STAFF.has(auth.me?.role)) {
    view.message = t("notStaff");
    render();
    return;
  }
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  setText($("who"), auth.me.username);
  view.sessionId = await pickSession();
  if (!view.sessionId) {
    view.message = t("noSession");
    render();
    return;
  }
  const session = await fetch(`/api/v1/sessions/${encodeURIComponent(view.sessionId)}`).then((r) => r.json());
  setText($("session-title"), session.state.title);
  setText($("whip-url"), new URL(`/whip/${view.sessionId}`, location.href).href);
  $("desk").hidden = false;
  await refresh();
  setInterval(refresh, STATUS_MS);
}

async function main() {
  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("make-key").addEventListener("click", makeKey);
  wireSignIn({ view, auth, renderTexts, onSignedIn: showDesk });
  renderTexts();
  if (await auth.resume()) await showDesk();
  else $("sign-in").hidden = false;
}

main();
