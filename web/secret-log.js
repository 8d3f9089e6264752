/**
 * What a tablet reads from the sitting's public log before it encrypts or decrypts anything of a secret vote
 * (issue 20), so that it trusts the server's word for neither: the counting commission's published steps
 * (its members' commitments, from which the election key is computed here, not taken from the server), and a
 * secret vote's ballots (from which the product to decrypt is computed here).
 *
 * @module secret-log
 */

/** Every event of the sitting's log, read in pages. */
async function events(sessionId) {
  const all = [];
  let after = 0;
  for (;;) {
    const url = `/api/v1/sessions/${encodeURIComponent(sessionId)}/events?after=${after}&limit=5000`;
    const page = await (await fetch(url)).json();
    all.push(...page.events);
    if (!page.events.length || page.events.at(-1).seq >= page.head) return all;
    after = page.events.at(-1).seq;
  }
}

/** The latest commission's published steps: `{attempt, threshold, members, committed: {i: published}, dealt}`. */
export async function commissionSteps(sessionId) {
  return stepsIn(await events(sessionId));
}

function stepsIn(log) {
  let steps = null;
  for (const event of log) {
    const p = event.payload;
    if (event.type === "commission.elected") {
      steps = { attempt: p.attempt, threshold: p.threshold, members: p.members, committed: {}, dealt: {} };
    } else if (steps && event.type === "commission.committed") steps.committed[p.index] = p.published;
    else if (steps && event.type === "commission.dealt") steps.dealt[p.index] = p.published;
  }
  return steps;
}

/** The encrypted ballots a secret vote counts in `log`: each deputy's last `ballot.encrypted`, in the log's order. */
function ballotsIn(log, vote) {
  const last = new Map();
  for (const event of log) {
    if (event.type === "ballot.encrypted" && event.payload.vote === vote) last.set(event.payload.deputy, event.payload.encrypted);
  }
  return [...last.values()];
}

/**
 * The election key computed from the log: every member of the latest commission committed, each commitment's
 * proofs checked (`secret-ballot.js`), K = Σ C_i0; null when the log does not make one.
 */
export async function keyFromLog(sb, council, sessionId) {
  return keyIn(sb, council, sessionId, stepsIn(await events(sessionId)));
}

function keyIn(sb, council, sessionId, steps) {
  if (!steps || Object.keys(steps.committed).length !== steps.members.length) return null;
  const context = `${council}/${sessionId}/commission/${steps.attempt}`;
  const commitments = Object.values(steps.committed).map((p) => sb.checkCommitment(context, p, steps.threshold));
  return sb.electionKey(commitments);
}

/**
 * What a commission member's tablet checks before decrypting a secret vote's product: the vote's key is the
 * one the log's commitments make, and the product is the sum of the log's ballots (each deputy's last).
 * Null when both hold, else the refusal's code (messages.js).
 */
export async function checkBeforeDecrypting(sb, council, sessionId, vote) {
  const log = await events(sessionId); // read once: the key and the sum from the same log
  if (keyIn(sb, council, sessionId, stepsIn(log)) !== vote.key) return "secret_key_mismatch";
  const product = sb.productOf(ballotsIn(log, vote.id));
  const same = product.every((p, o) => p.a === vote.product?.[o]?.a && p.b === vote.product?.[o]?.b);
  return same && product.length === vote.product?.length ? null : "secret_product_mismatch";
}
