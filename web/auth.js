/**
 * Sign-in for the pages, for a whole sitting day: the access token lives in memory only and is
 * refreshed before it expires from the server's HttpOnly refresh cookie, so a page left open from
 * morning to evening keeps working without a reload; a reloaded page signs back in with `resume()`.
 *
 * Refreshes are serialised across this browser's tabs with the Web Locks API: the refresh cookie is
 * single-use, so two tabs spending it at once would look like a theft to the server. A refresh that
 * fails for the network is retried; one the server refuses (signed out elsewhere, password changed,
 * account disabled) ends the sign-in: `signed-out` is dispatched and the page offers to sign in again.
 *
 * Events (`CustomEvent`s): `token` (a fresh access token was taken; detail: seconds it lives),
 * `signed-out` (detail: `{error}` — the server's code, e.g. `sign_in_revoked`).
 *
 * @module auth
 */

const LOCK = "kvorum-auth-refresh";
const SIGNED_IN_COOKIE = "kvorum_signed_in";
const RETRY_MS = [1000, 2000, 5000, 10000];

/** Why no access token could be had: `offline` (retrying) or the server's code (signed out). */
export class AuthError extends Error {
  /** @param {string} error @param {string} message */
  constructor(error, message) {
    super(message);
    this.name = "AuthError";
    this.error = error;
  }
}

export class Auth extends EventTarget {
  #token = null;
  #expires = 0; // ms since the epoch, this browser's clock
  #lifetime = 0; // ms
  #refreshing = null;
  #timer = null;
  #lost = false;
  #attempt = 0;
  me = null;

  /** Whether the sign-in was lost (refused by the server) and the user must sign in again. */
  get lost() {
    return this.#lost;
  }

  /** Sign in with a username and password; resolves with `me` ({username, role, member}). */
  async login(username, password) {
    const response = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    await this.#take(response);
    this.#lost = false;
    return this.#whoami();
  }

  /**
   * Sign back in from the refresh cookie; resolves with `me`, or null when there is no sign-in.
   * While the server cannot be reached it keeps trying (a tablet switched on before the network).
   */
  async resume() {
    if (!document.cookie.split("; ").includes(`${SIGNED_IN_COOKIE}=1`)) return null; // nothing to resume
    for (;;) {
      try {
        await this.#refresh();
        return await this.#whoami();
      } catch (error) {
        if (!(error instanceof AuthError && error.error === "offline") && !(error instanceof TypeError)) return null;
        await new Promise((resolve) => setTimeout(resolve, this.#backoff()));
      }
    }
  }

  /**
   * A valid access token, refreshed when it is near its end (or now, with `fresh`: the server said
   * the one we hold has expired, so this browser's clock is behind). Rejects with
   * `AuthError("offline")` while the server cannot be reached, or with the server's code once the
   * sign-in is lost.
   */
  async token({ fresh = false } = {}) {
    if (!fresh && this.#token && Date.now() < this.#expires - this.#margin()) return this.#token;
    if (this.#lost) throw new AuthError("sign_in_revoked", "the sign-in has ended");
    await this.#refresh();
    return this.#token;
  }

  /** Headers for an authenticated request. */
  async headers() {
    return { Authorization: `Bearer ${await this.token()}` };
  }

  async logout() {
    clearTimeout(this.#timer);
    // With the access token, so that it stops working at once on every node, not when it expires.
    const headers = this.#token ? { Authorization: `Bearer ${this.#token}` } : {};
    await fetch("/api/v1/auth/logout", { method: "POST", headers }).catch(() => undefined);
    this.#token = null;
    this.me = null;
  }

  /** Refresh well before the end: a third of the lifetime, at most 30 s, before it. */
  #margin() {
    return Math.min(30_000, this.#lifetime / 3);
  }

  /** One refresh at a time in this tab, and (with Web Locks) in every tab of this browser. */
  #refresh() {
    this.#refreshing ??= this.#refreshLocked().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refreshLocked() {
    const run = () => this.#refreshOnce();
    if (navigator.locks?.request) return navigator.locks.request(LOCK, run);
    return run();
  }

  async #refreshOnce() {
    let response;
    try {
      response = await fetch("/api/v1/auth/refresh", { method: "POST" });
    } catch {
      this.#schedule(this.#backoff());
      throw new AuthError("offline", "the server cannot be reached");
    }
    if (response.status === 401 || response.status === 400) {
      const body = await response.json().catch(() => ({}));
      this.#signedOut(body.error ?? "sign_in_revoked");
      throw new AuthError(body.error ?? "sign_in_revoked", body.message ?? "the sign-in has ended");
    }
    if (!response.ok) {
      this.#schedule(this.#backoff());
      throw new AuthError("offline", `the server answered ${response.status}`);
    }
    this.#attempt = 0;
    await this.#take(response);
  }

  /** The next delay before trying again: 1, 2, 5, then every 10 seconds. */
  #backoff() {
    return RETRY_MS[Math.min(this.#attempt++, RETRY_MS.length - 1)];
  }

  #signedOut(error) {
    clearTimeout(this.#timer);
    this.#token = null;
    this.#lost = true;
    this.dispatchEvent(new CustomEvent("signed-out", { detail: { error } }));
  }

  /** Refresh on our own before the token runs out, so a tap never waits for it. */
  #schedule(delay) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#refresh().catch(() => undefined); // offline: rescheduled already; refused: `signed-out` told
    }, delay);
  }

  async #take(response) {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw Object.assign(new Error(body.message ?? response.statusText), { error: body.error ?? "http_error" });
    }
    this.#token = body.access_token;
    this.#lifetime = body.expires_in * 1000;
    this.#expires = Date.now() + this.#lifetime;
    this.#schedule(Math.max(1000, this.#lifetime - this.#margin()));
    this.dispatchEvent(new CustomEvent("token", { detail: body.expires_in }));
  }

  async #whoami() {
    const response = await fetch("/api/v1/me", { headers: await this.headers() });
    this.me = await response.json();
    return this.me;
  }
}
