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

import { canonicalBytes } from "./jcs.js";
import { checkBeforeDecrypting, commissionSteps } from "./secret-log.js";

const load = () => import("./secret-ballot.js");

/** A refusal of this tablet's own making, in the words of messages.js. */
const refusal = (code) => Object.assign(new Error(code), { error: code });

const sameJson = (a, b) => {
  const [x, y] = [canonicalBytes(a), canonicalBytes(b)];
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
};

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
    localStorage.setItem(`${storageKey(c)}:sent`, JSON.stringify(mine)); // to find it in the log as sent
    await page.send({ type: "commission.commit", published: mine });
  }

  /** Once every member committed: the shares for the others. */
  async function dealShares(c) {
    const sb = await load();
    const secret = sb.loadSecret(localStorage.getItem(storageKey(c)));
    const { committed } = await steps(c);
    if (!sameJson(committed[secret.index], JSON.parse(localStorage.getItem(`${storageKey(c)}:sent`)))) {
      throw refusal("commission_step_changed"); // the server must not stand in for this member
    }
    const commitments = Object.values(committed).map((p) => sb.checkCommitment(contextOf(c), p, c.threshold));
    await page.send({ type: "commission.deal", published: sb.deal(contextOf(c), secret, commitments) });
  }

  /** Once every member dealt: check what was dealt here and prove the share, or name a dealer who cheated. */
  async function confirm(c) {
    const sb = await load();
    const secret = sb.loadSecret(localStorage.getItem(storageKey(c)));
    const { committed, dealt } = await steps(c);
    const commitments = Object.values(committed).map((p) => sb.checkCommitment(contextOf(c), p, c.threshold));
    const bad = sb.receive(contextOf(c), secret, commitments, dealt);
    if (bad.length) {
      await page.send({ type: "commission.complain", published: sb.complain(contextOf(c), secret, bad[0], dealt) });
      return;
    }
    localStorage.setItem(storageKey(c), sb.saveSecret(secret));
    await page.send({ type: "commission.ready", published: sb.ready(contextOf(c), secret) });
  }

  /** The commission's steps from the log, of the attempt this tablet works on. */
  async function steps(c) {
    const found = await commissionSteps(view.sessionId);
    if (!found || found.attempt !== c.attempt) throw refusal("commission_step_changed");
    return found;
  }

  /**
   * The member's partial decryption of the secret vote's product — only of the product this tablet computes
   * itself from the ballots in the log, under the key it computes from the members' commitments: a server
   * showing one deputy's ballot as the sum would otherwise get it decrypted.
   */
  async function decrypt(c, vote) {
    const sb = await load();
    const secret = sb.loadSecret(localStorage.getItem(storageKey(c)));
    const refused = await checkBeforeDecrypting(sb, view.council.id, view.sessionId, vote);
    if (refused) throw refusal(refused);
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
