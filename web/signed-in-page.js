/**
 * What the signed-in pages (the tablet and the console) share: which session to follow, following
 * it over the WebSocket into a view, the language switch, and the sign-in and sign-out controls.
 *
 * @module signed-in-page
 */

import { SessionClient } from "./kvorum-client.js";
import { applyEvent, fromSnapshot } from "./session-state.js";

const LANG_KEY = "kvorum.lang";

/** The page's language as last chosen on this device (Ukrainian unless English was chosen). */
export function savedLanguage() {
  return localStorage.getItem(LANG_KEY) === "en" ? "en" : "uk";
}

/** `?session=<id>`, else the open session, else a scheduled one, else the newest; null if none. */
export async function pickSession() {
  const wanted = new URLSearchParams(location.search).get("session");
  if (wanted) return wanted;
  const { sessions } = await (await fetch("/api/v1/sessions")).json();
  const chosen = sessions.find((x) => x.status === "open") ?? sessions.find((x) => x.status === "scheduled") ?? sessions[0];
  return chosen?.id ?? null;
}

/**
 * Follow `view.sessionId` over the WebSocket: `view.state` starts from each snapshot and advances by
 * each checked event; `view.client` is the client.
 *
 * @param {object} view with `sessionId` and `council`
 * @param {{token: () => Promise<string>}} auth
 * @param {{render: () => void, renderConnection: (status: string) => void, onEvent?: (event: object) => Promise<void>}} hooks
 */
export function followSession(view, auth, { render, renderConnection, onEvent }) {
  const client = new SessionClient({ session: view.sessionId, token: () => auth.token() });
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
  client.start();
  return client;
}

/**
 * Wire the controls every signed-in page has: `#lang`, `#sign-in-form` (with `#sign-in-status`)
 * and `#sign-out`.
 *
 * @param {{view: object, auth: object, renderTexts: () => void, onSignedIn: () => Promise<void>, signInFailed: (error: Error) => string}} page
 */
export function wireSignIn({ view, auth, renderTexts, onSignedIn, signInFailed }) {
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
      $("sign-in-status").textContent = signInFailed(error);
    }
  });
  $("sign-out").addEventListener("click", async () => {
    view.client?.close();
    await auth.logout();
    location.reload();
  });
}
