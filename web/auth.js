/**
 * Sign-in for the pages: the access token lives in memory only; the refresh token is the server's
 * HttpOnly cookie, so a reloaded page signs back in with `resume()` and nothing secret is in storage.
 *
 * @module auth
 */

const MARGIN_MS = 30_000; // refresh this long before the access token expires

export class Auth extends EventTarget {
  #token = null;
  #expires = 0;
  me = null;

  /** Sign in with a username and password; resolves with `me` ({username, role, member}). */
  async login(username, password) {
    const response = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    await this.#take(response);
    return this.#whoami();
  }

  /** Sign back in from the refresh cookie; resolves with `me`, or null when there is no sign-in. */
  async resume() {
    const response = await fetch("/api/v1/auth/refresh", { method: "POST" });
    if (response.status === 401 || response.status === 400) return null;
    await this.#take(response);
    return this.#whoami();
  }

  /** A valid access token, refreshed when it is about to expire. */
  async token() {
    if (this.#token && Date.now() < this.#expires - MARGIN_MS) return this.#token;
    const response = await fetch("/api/v1/auth/refresh", { method: "POST" });
    await this.#take(response);
    return this.#token;
  }

  /** Headers for an authenticated request. */
  async headers() {
    return { Authorization: `Bearer ${await this.token()}` };
  }

  async logout() {
    await fetch("/api/v1/auth/logout", { method: "POST" });
    this.#token = null;
    this.me = null;
  }

  async #take(response) {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw Object.assign(new Error(body.message ?? response.statusText), { error: body.error ?? "http_error" });
    }
    this.#token = body.access_token;
    this.#expires = Date.now() + body.expires_in * 1000;
  }

  async #whoami() {
    const response = await fetch("/api/v1/me", { headers: await this.headers() });
    this.me = await response.json();
    return this.me;
  }
}
