/**
 * The tablet of a counting commission member (issue 20): making the commission's key, then decrypting a
 * secret vote's product so it can be counted. The member starts the key once («Створити мою частку
 * ключа»); the tablet then deals and checks the shares as the other members' steps arrive, and keeps the
 * member's secret in this browser only (localStorage) — it never leaves the device unencrypted. After a
 * secret vote closes, the member decrypts its product («Розшифрувати підсумок»). The cryptography is
 * secret-ballot.js, loaded only here and when a secret ballot is cast.
 *
 * @module tablet-commission
 */

const load = () => import("./secret-ballot.js");

/**
 * The commission panel of the tablet.
 *
 * @param {{view: object, t: (key: string, params?: object) => string, member: () => string | null,
 *          send: (command: object) => Promise<object>, explain: (error: Error) => string}} page
 */
export function commissionPanel(page) {
  const { view, t, member } = page;
  const $ = (id) => document.getElementById(id);
  let busy = false;
  /** The last step that failed here (shown until one succeeds), with the step to try again. */
  let failure = null;

  const contextOf = (c) => `${view.council.id}/${view.sessionId}/commission/${c.attempt}`;
  const storageKey = (c) => `kvorum-commission:${view.council.id}:${view.sessionId}:${c.attempt}:${member()}`;

  /** Every published step of the current commission, from the sitting's log (read in pages). */
  async function published(c) {
    const steps = { committed: {}, dealt: {} };
    let after = 0;
    for (;;) {
      const page = await (await fetch(`/api/v1/sessions/${encodeURIComponent(view.sessionId)}/events?after=${after}&limit=5000`)).json();
      for (const event of page.events) {
        if (event.type === "commission.elected") Object.assign(steps, { committed: {}, dealt: {} });
        if (event.type === "commission.committed") steps.committed[event.payload.index] = event.payload.published;
        if (event.type === "commission.dealt") steps.dealt[event.payload.index] = event.payload.published;
      }
      if (!page.events.length || page.events.at(-1).seq >= page.head) break;
      after = page.events.at(-1).seq;
    }
    return steps;
  }

  async function run(step) {
    if (busy || failure) return;
    busy = true;
    try {
      await step();
    } catch (error) {
      failure = { message: page.explain(error), step };
    } finally {
      busy = false;
      render(view.state);
    }
  }

  function retry() {
    const step = failure?.step;
    failure = null;
    if (step) run(step);
  }

  /** The first step, on the member's word: commitments and transport key, the secret kept here. */
  async function start(c, index) {
    const sb = await load();
    const { secret, published: mine } = sb.commit(contextOf(c), index, c.threshold);
    localStorage.setItem(storageKey(c), sb.saveSecret(secret));
    await page.send({ type: "commission.commit", published: mine });
  }

  /** Once every member committed: the shares for the others. */
  async function dealShares(c) {
    const sb = await load();
    const secret = sb.loadSecret(localStorage.getItem(storageKey(c)));
    const { committed } = await published(c);
    const commitments = Object.values(committed).map((p) => sb.checkCommitment(contextOf(c), p, c.threshold));
    await page.send({ type: "commission.deal", published: sb.deal(contextOf(c), secret, commitments) });
  }

  /** Once every member dealt: check what was dealt here and prove the share, or name a dealer who cheated. */
  async function confirm(c) {
    const sb = await load();
    const secret = sb.loadSecret(localStorage.getItem(storageKey(c)));
    const { committed, dealt } = await published(c);
    const commitments = Object.values(committed).map((p) => sb.checkCommitment(contextOf(c), p, c.threshold));
    const bad = sb.receive(contextOf(c), secret, commitments, dealt);
    if (bad.length) {
      await page.send({ type: "commission.complain", published: sb.complain(contextOf(c), secret, bad[0], dealt) });
      return;
    }
    localStorage.setItem(storageKey(c), sb.saveSecret(secret));
    await page.send({ type: "commission.ready", published: sb.ready(contextOf(c), secret) });
  }

  /** The member's partial decryption of the secret vote's product. */
  async function decrypt(c, vote) {
    const sb = await load();
    const secret = sb.loadSecret(localStorage.getItem(storageKey(c)));
    const context = `${view.council.id}/${view.sessionId}/${vote.id}`;
    await page.send({ type: "decryption.share", vote: vote.id, decryption: sb.partialDecryption(secret, vote.product, context) });
  }

  function render(state) {
    const c = state?.commission;
    const index = c ? c.members.indexOf(member()) + 1 : 0;
    $("commission").hidden = !index;
    if (!index) return;
    const n = c.members.length;
    const kept = localStorage.getItem(storageKey(c)) !== null;
    const act = $("commission-act");
    let text = t("commissionYou", { threshold: c.threshold, n });
    let button = null;
    let state_ = c.stage;
    const tallying = state.votes.find((v) => v.secret && v.status === "open" && v.product && v.key === c.key);
    if (c.stage === "failed") {
      text = t("commissionFailed");
    } else if (c.stage !== "keyed" && !c.committed.includes(index)) {
      button = ["commissionStart", () => run(() => start(c, index))];
    } else if (!kept && c.stage !== "keyed") {
      [text, state_] = [t("commissionLost"), "error"];
    } else if (c.stage === "committing") {
      text = t("commissionWaiting", { done: c.committed.length, n });
    } else if (c.stage === "dealing") {
      text = t("commissionExchanging");
      if (!c.dealt.includes(index)) run(() => dealShares(c));
    } else if (c.stage === "confirming") {
      text = t("commissionChecking", { done: c.ready.length, n });
      if (!c.ready.includes(index)) run(() => confirm(c));
    } else if (tallying && !kept) {
      [text, state_] = [t("commissionLost"), "error"];
    } else if (tallying && !tallying.decrypted_by.includes(index)) {
      text = t("decryptWaiting", { needed: c.threshold, done: tallying.decrypted_by.length });
      button = ["decryptButton", () => run(() => decrypt(c, tallying))];
      state_ = "decrypt";
    } else if (tallying) {
      text = t("decryptDone", { needed: c.threshold, done: tallying.decrypted_by.length });
    } else {
      text = t("commissionKeyed");
    }
    if (failure) {
      [text, state_] = [t("commissionError", { message: failure.message }), "error"];
      button = ["commissionRetry", retry];
    }
    $("commission-status").textContent = text;
    $("commission-status").dataset.state = state_;
    $("commission-title").textContent = t("commissionTitle");
    act.hidden = !button;
    if (button) {
      act.textContent = t(button[0]);
      act.onclick = button[1];
      act.disabled = busy;
    }
  }

  return { render };
}
