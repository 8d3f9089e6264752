/**
 * What the signed-in pages (the tablet, the console, the broadcast page) share: which session to
 * follow, following it over the WebSocket into a view for a whole sitting day (the socket takes each
 * renewed access token in place), a connection indicator that tells the truth, the language switch,
 * the sign-in controls, and signing in again when the server has ended the sign-in — without
 * losing what the person was doing.
 *
 * @module signed-in-page
 */

import { confirmStep } from "./dialog.js";
import { SessionClient } from "./kvorum-client.js";
import { errorText } from "./messages.js";
import { applyEvent, fromSnapshot } from "./session-state.js";

const LANG_KEY = "kvorum.lang";

const TEXTS = {
  uk: {
    connection_open: "На зв'язку",
    connection_connecting: "Підключення…",
    connection_lost: "Немає зв'язку — відновлюємо…",
    lastMessage: "Останнє повідомлення від сервера: {time}",
    never: "ще не було",
    signInAgainTitle: "Увійдіть знову",
    signInAgainKept: "Те, що ви зробили, збережено на цьому пристрої й буде надіслано, щойно ви ввійдете.",
    username: "Ім'я користувача",
    password: "Пароль",
    signIn: "Увійти",
    otherUser: "Увійшов інший користувач: сторінку буде відкрито для нього.",
    signOutTitle: "Вийти?",
    signOutText: "Щоб знову працювати на цьому пристрої, доведеться ввійти з паролем.",
    signOutYes: "Вийти",
    signOutNo: "Залишитися",
  },
  en: {
    connection_open: "Connected",
    connection_connecting: "Connecting…",
    connection_lost: "No connection — reconnecting…",
    lastMessage: "Last message from the server: {time}",
    never: "none yet",
    signInAgainTitle: "Please sign in again",
    signInAgainKept: "What you did is kept on this device and will be sent as soon as you sign in.",
    username: "Username",
    password: "Password",
    signIn: "Sign in",
    otherUser: "Another user signed in: the page will open for them.",
    signOutTitle: "Sign out?",
    signOutText: "To work on this device again you will have to sign in with your password.",
    signOutYes: "Sign out",
    signOutNo: "Stay",
  },
};

/** The page's language as last chosen on this device (Ukrainian unless English was chosen). */
export function savedLanguage() {
  return localStorage.getItem(LANG_KEY) === "en" ? "en" : "uk";
}

/**
 * `?session=<id>`, else the open sitting, else the next scheduled one (the earliest date), else the
 * newest; null if there is none.
 */
export async function pickSession() {
  const wanted = new URLSearchParams(location.search).get("session");
  if (wanted) return wanted;
  return chooseSitting((await (await fetch("/api/v1/sessions")).json()).sessions);
}

/**
 * From `GET /api/v1/sessions` (newest first): the open sitting, else the next scheduled one from
 * today on, else the newest. `today` is this device's date as YYYY-MM-DD.
 */
export function chooseSitting(sessions, today = new Date().toLocaleDateString("sv-SE")) {
  // A sitting scheduled for a day already past (a typo, or one never held) is not "the next one".
  const scheduled = sessions.filter((x) => x.status === "scheduled" && x.date >= today);
  const next = scheduled.reduce((a, b) => (a && a.date <= b.date ? a : b), null);
  return (sessions.find((x) => x.status === "open") ?? next ?? sessions[0])?.id ?? null;
}

/**
 * A page that follows a sitting it was not told to (no `?session=`) moves to another one when that
 * one opens — a tablet switched on the day before still shows the sitting the chair opens. Checks
 * every `seconds`; calls `onMove(id)` once another sitting is open.
 */
export function followOpening(view, onMove, seconds = 15) {
  if (new URLSearchParams(location.search).get("session")) return;
  setInterval(async () => {
    if (view.state?.status === "open") return;
    try {
      const { sessions } = await (await fetch("/api/v1/sessions")).json();
      const open = sessions.find((x) => x.status === "open");
      if (open && open.id !== view.sessionId) onMove(open.id);
    } catch {
      // offline: the connection light says so; try again next time
    }
  }, seconds * 1000);
}

/**
 * Follow `view.sessionId` over the WebSocket: `view.state` starts from each snapshot and advances by
 * each checked event; `view.client` is the client. Each access token the page renews is handed to
 * the open socket, so a page open all day never stops.
 *
 * @param {object} view with `sessionId` and `council`
 * @param {import("./auth.js").Auth} auth
 * @param {{render: () => void, renderConnection: (status: string) => void, onEvent?: (event: object) => Promise<void>}} hooks
 */
export function followSession(view, auth, { render, renderConnection, onEvent }) {
  const client = new SessionClient({ session: view.sessionId, token: (options) => auth.token(options) });
  view.client = client;
  client.addEventListener("status", ({ detail }) => renderConnection(detail));
  client.addEventListener("snapshot", ({ detail }) => {
    view.state = fromSnapshot(detail.state);
    render();
  });
  client.addEventListener("event", async ({ detail }) => {
    if (!view.state) return;
    applyEvent(view.state, detail, view.council);
    await onEvent?.(detail);
    render();
  });
  client.addEventListener("ack", () => render());
  if (!view.renewing) {
    view.renewing = true; // one listener for the page, whichever sitting it follows now
    auth.addEventListener("token", () => view.client?.reauthenticate());
  }
  client.start();
  return client;
}

/**
 * The connection indicator: "open" only while the server answers (pings every few seconds), with
 * the time of the last message in its title; after a loss it says so until the link is back.
 *
 * @param {HTMLElement} element
 * @param {string} status the client's status
 * @param {{lang: string, client: SessionClient | null, everOpen?: boolean}} view
 */
export function showConnection(element, status, view) {
  const texts = TEXTS[view.lang];
  if (status === "open") view.everOpen = true;
  const shown = status === "open" ? "open" : view.everOpen ? "lost" : "connecting";
  element.dataset.status = shown === "open" ? "open" : shown === "lost" ? "closed" : "connecting";
  element.textContent = texts[`connection_${shown}`];
  const last = view.client?.lastMessageAt;
  const time = last ? new Date(last).toLocaleTimeString(view.lang === "uk" ? "uk-UA" : "en-GB") : texts.never;
  element.title = texts.lastMessage.replace("{time}", time);
}

/**
 * Wire the language switch `#lang` and the form `#sign-in-form` (its outcome in `#sign-in-status`):
 * what every page with a sign-in has, the mayor's signing page too.
 *
 * @param {{view: object, auth: object, renderTexts: () => void, onSignedIn: () => Promise<void>}} page
 */
export function wireLanguageAndSignIn({ view, auth, renderTexts, onSignedIn }) {
  const $ = (id) => document.getElementById(id);
  $("lang").addEventListener("click", () => {
    view.lang = view.lang === "uk" ? "en" : "uk";
    localStorage.setItem(LANG_KEY, view.lang);
    renderTexts();
  });
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await auth.login(form.get("username"), form.get("password"));
      $("sign-in-status").textContent = "";
      await onSignedIn();
    } catch (error) {
      $("sign-in-status").textContent = errorText(view.lang, error);
    }
  });
}

/**
 * Wire the controls every signed-in page has: the language switch and the sign-in form
 * (`wireLanguageAndSignIn`) and `#sign-out`; and, when the server ends the sign-in mid-day, a dialog
 * to sign in again that keeps the page (and its unsent actions) as it is.
 *
 * @param {{view: object, auth: object, renderTexts: () => void, onSignedIn: () => Promise<void>}} page
 */
export function wireSignIn(page) {
  const { view, auth } = page;
  wireLanguageAndSignIn(page);
  document.getElementById("sign-out").addEventListener("click", async () => {
    const texts = TEXTS[view.lang];
    const sure = await confirmStep({
      title: texts.signOutTitle,
      text: texts.signOutText,
      confirm: texts.signOutYes,
      cancel: texts.signOutNo,
    });
    if (!sure) return;
    view.client?.close();
    await auth.logout();
    location.reload();
  });
  auth.addEventListener("signed-out", ({ detail }) => signInAgain(view, auth, detail.error));
}

/** The dialog that takes the person back in after the server ended the sign-in. */
function signInAgain(view, auth, error) {
  if (document.getElementById("sign-in-again")) return;
  const texts = TEXTS[view.lang];
  const before = auth.me?.username;
  const dialog = document.createElement("dialog");
  dialog.id = "sign-in-again";
  dialog.setAttribute("aria-labelledby", "sign-in-again-title");
  const form = document.createElement("form");
  form.innerHTML = `
    <h2 id="sign-in-again-title"></h2>
    <p class="why" role="alert"></p>
    <p class="kept"></p>
    <label><span class="user-label"></span> <input name="username" autocomplete="username" required></label>
    <label><span class="password-label"></span> <input name="password" type="password" autocomplete="current-password" required></label>
    <p class="status" role="alert"></p>
    <button type="submit" class="primary"></button>`;
  form.querySelector("h2").textContent = texts.signInAgainTitle;
  form.querySelector(".why").textContent = errorText(view.lang, { error });
  form.querySelector(".kept").textContent = texts.signInAgainKept;
  form.querySelector(".user-label").textContent = texts.username;
  form.querySelector(".password-label").textContent = texts.password;
  form.querySelector("button").textContent = texts.signIn;
  form.elements.username.value = before ?? "";
  dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works until signed in
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const me = await auth.login(form.elements.username.value, form.elements.password.value);
      if (before && me.username !== before) {
        form.querySelector(".status").textContent = texts.otherUser;
        setTimeout(() => location.reload(), 1500);
        return;
      }
      dialog.close();
      dialog.remove();
      await view.client?.reauthenticate({ resend: true });
    } catch (failure) {
      form.querySelector(".status").textContent = errorText(view.lang, failure);
    }
  });
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  form.elements.password.focus();
}
