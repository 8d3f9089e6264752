/**
 * Correct Ukrainian (and English) for the screens, word for word as portal_bridge/ukrainian.py writes
 * the minutes and the portal: numbers agree with nouns by CLDR's plural rules (`Intl.PluralRules`:
 * 1 депутат, 2–4 депутати, 5+ депутатів, 21 депутат), dates in words, roll-call lines agreeing with
 * the member's recorded grammatical gender (both forms when it is not recorded — never guessed), and
 * the one composition every screen states. `tests/test_one_count.py` holds the screens to the same
 * sentences as the minutes.
 *
 * @module ukrainian
 */

const RULES = { uk: new Intl.PluralRules("uk"), en: new Intl.PluralRules("en") };

const LAW = {
  uk: "Закону України «Про місцеве самоврядування в Україні»",
  en: "of the Law of Ukraine “On Local Self-Government in Ukraine”",
};

/**
 * The form of a noun that agrees with `n`.
 *
 * @param {"uk" | "en"} lang
 * @param {number} n
 * @param {{one: string, few?: string, many?: string, other: string}} forms
 */
export function plural(lang, n, forms) {
  return forms[RULES[lang].select(n)] ?? forms.other;
}

/** `n` and its noun in agreement. */
export function count(lang, n, forms) {
  return `${n} ${plural(lang, n, forms)}`;
}

const MEMBER = {
  uk: { one: "член", few: "члени", many: "членів", other: "члена" },
  en: { one: "committee member", other: "committee members" },
};

const DEPUTY = {
  uk: { one: "депутат", few: "депутати", many: "депутатів", other: "депутата" },
  en: { one: "deputy", other: "deputies" },
};

/** «34 депутати», «20 депутатів», "1 deputy". */
export function deputies(lang, n) {
  return count(lang, n, DEPUTY[lang]);
}

/**
 * Who is registered against the statutory composition, as every screen and the minutes say it.
 *
 * @param {"uk" | "en"} lang
 * @param {{statutory: number, quorum: number, registered_deputies: number, mayor_taking_part: boolean}} c
 */
export function registrationLine(lang, c) {
  if (c.committee) {
    // a standing committee counts its own members against its composition (art. 47)
    return lang === "en"
      ? `${count(lang, c.registered_deputies, MEMBER.en)} of ${c.statutory} registered; a quorum needs ${c.quorum} (art. 47 ${LAW.en})`
      : `Зареєстровано ${count(lang, c.registered_deputies, MEMBER.uk)} комісії з ${c.statutory}; для кворуму потрібно ${c.quorum} (ст. 47 ${LAW.uk})`;
  }
  if (lang === "en") {
    const mayor = c.mayor_taking_part ? " and the mayor" : "";
    return `${deputies(lang, c.registered_deputies)} of ${c.statutory} registered${mayor}; a quorum needs ${c.quorum} (art. 46 ${LAW.en})`;
  }
  const mayor = c.mayor_taking_part ? " і міський голова" : "";
  return `Зареєстровано ${deputies(lang, c.registered_deputies)} з ${c.statutory}${mayor}; для кворуму потрібно ${c.quorum} (ст. 46 ${LAW.uk})`;
}

/**
 * The composition votes are counted from and how it was reached (art. 59 part 2), in one sentence.
 *
 * @param {"uk" | "en"} lang
 * @param {{statutory: number, mayor_taking_part: boolean, total: number}} c
 */
export function compositionLine(lang, c) {
  if (c.committee) {
    return lang === "en"
      ? `The composition votes are counted from is the committee's ${count(lang, c.statutory, MEMBER.en)} (art. 47 ${LAW.en}).`
      : `Склад комісії для підрахунку голосів — ${count(lang, c.statutory, MEMBER.uk)} (ст. 47 ${LAW.uk}).`;
  }
  const statutory = deputies(lang, c.statutory);
  if (lang === "en") {
    return c.mayor_taking_part
      ? `The composition votes are counted from is ${c.total}: ${statutory} by law and the mayor, who takes part in the sitting (art. 59 part 2 ${LAW.en}).`
      : `The composition votes are counted from is ${statutory} by law; the mayor takes no part in the sitting (art. 59 part 2 ${LAW.en}).`;
  }
  return c.mayor_taking_part
    ? `Склад ради для підрахунку голосів — ${c.total}: ${statutory} за законом і міський голова, який бере участь у засіданні (ч. 2 ст. 59 ${LAW.uk}).`
    : `Склад ради для підрахунку голосів — ${statutory} за законом; міський голова в засіданні участі не бере (ч. 2 ст. 59 ${LAW.uk}).`;
}

const LINES = {
  uk: {
    for: ["за", "за", "за"],
    against: ["проти", "проти", "проти"],
    abstain: ["утримався", "утрималася", "утримався(-лася)"],
    not_voted: ["не голосував", "не голосувала", "не голосував(-ла)"],
    absent: ["відсутній", "відсутня", "відсутній(-я)"],
    voted: ["голосував таємно", "голосувала таємно", "голосував(-ла) таємно"],
  },
  en: {
    for: ["for", "for", "for"],
    against: ["against", "against", "against"],
    abstain: ["abstained", "abstained", "abstained"],
    not_voted: ["did not vote", "did not vote", "did not vote"],
    absent: ["absent", "absent", "absent"],
    voted: ["voted by secret ballot", "voted by secret ballot", "voted by secret ballot"],
  },
};

/**
 * A member's roll-call line in words, agreeing with the member's recorded grammatical gender.
 *
 * @param {"uk" | "en"} lang
 * @param {"for" | "against" | "abstain" | "not_voted" | "absent" | "voted"} line
 * @param {"female" | "male" | null | undefined} gender
 */
export function rollCallLine(lang, line, gender) {
  const [male, female, both] = LINES[lang][line];
  return gender === "male" ? male : gender === "female" ? female : both;
}

/** A date in words: «2 грудня 2026 р.», "2 December 2026"; an unreadable one as given. */
export function longDate(lang, iso) {
  const day = new Date(`${String(iso).slice(0, 10)}T12:00:00Z`);
  if (Number.isNaN(day.getTime())) return String(iso);
  return day.toLocaleDateString(lang === "uk" ? "uk-UA" : "en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
}

const KINDS = {
  uk: {
    basis: "Голосується проєкт рішення за основу",
    whole: "Голосується проєкт рішення в цілому з урахуванням пропозицій",
    basis_and_whole: "Голосується проєкт рішення за основу та в цілому",
    procedural: "Процедурне питання",
    conclusion: "Голосується висновок комісії щодо проєкту рішення",
  },
  en: {
    basis: "The draft, as a basis",
    whole: "The draft as a whole, with the adopted proposals",
    basis_and_whole: "The draft as a basis and as a whole",
    procedural: "A procedural question",
    conclusion: "The committee's conclusion on the draft",
  },
};
const PURPOSES = {
  uk: {
    agenda_add: "включення питання до порядку денного",
    end_debate: "припинення обговорення",
    break: "перерва",
    revote: "переголосування",
    other: "інше процедурне питання",
  },
  en: {
    agenda_add: "adding an item to the agenda",
    end_debate: "ending the debate",
    break: "a break",
    revote: "a re-vote",
    other: "another procedural question",
  },
};

/** What an amendment vote or a committee's conclusion vote decided, in its own words («Поправку прийнято»,
 * «Висновок «підтримати» ухвалено»); null for any other vote (the page says «Рішення прийнято» as before). */
export function amendmentOutcome(lang, vote) {
  if (vote?.kind === "conclusion" && vote.tally) {
    // a committee's conclusion: what it recommends, adopted or not
    const what = RECOMMENDATIONS[lang][vote.recommendation] ?? vote.recommendation;
    const adopted = vote.tally.outcome === "adopted";
    if (lang === "uk") return `Висновок «${what}» ${adopted ? "ухвалено" : "не ухвалено"}`;
    return `The conclusion “${what}” ${adopted ? "adopted" : "not adopted"}`;
  }
  if (vote?.kind !== "amendment" || !vote.tally) return null;
  const adopted = vote.tally.outcome === "adopted";
  const many = (vote.amendments ?? []).length > 1;
  if (lang === "uk") return `${many ? "Поправки" : "Поправку"} ${adopted ? "прийнято" : "не прийнято"}`;
  return `${many ? "Amendments" : "Amendment"} ${adopted ? "adopted" : "not adopted"}`;
}

/** The number an amendment's id carries («a3» → 3): the draft's amendments are numbered from 1. */
export const amendmentNumber = (id) => Number(String(id).replace(/^a/, "")) || id;

/** «Голосується поправка 2 до проєкту рішення»; several put jointly: «Голосуються разом поправки 1 і 3 …». */
export function amendmentLine(lang, ids) {
  const numbers = ids.map(amendmentNumber);
  const listed = numbers.length > 1
    ? `${numbers.slice(0, -1).join(", ")} ${lang === "uk" ? "і" : "and"} ${numbers.at(-1)}`
    : String(numbers[0] ?? "");
  if (lang === "uk") {
    return numbers.length > 1
      ? `Голосуються разом поправки ${listed} до проєкту рішення`
      : `Голосується поправка ${listed} до проєкту рішення`;
  }
  return numbers.length > 1 ? `Amendments ${listed} to the draft, jointly` : `Amendment ${listed} to the draft`;
}

/** What a vote is on, in words («Голосується проєкт рішення за основу»; «Процедурне питання:
 * переголосування голосування 2»); "" for a vote opened without a kind. `votes`: the sitting's votes, to
 * number the one a re-vote repeats as the minutes do. */
const RECOMMENDATIONS = {
  uk: { support: "підтримати", reject: "відхилити", rework: "повернути на доопрацювання" },
  en: { support: "support it", reject: "reject it", rework: "send it back to be reworked" },
};

/**
 * What the standing committees the draft was sent to concluded, a line each (the lead committee first;
 * a committee's later conclusion stands): «Постійна комісія з питань бюджету (головна): рекомендує
 * підтримати.», «…: висновок «відхилити» не ухвалено.», «…: висновку ще немає.».
 *
 * @param {"uk" | "en"} lang
 * @param {{committees?: Record<string, boolean>, conclusions?: {committee: string, recommendation: string, adopted: boolean}[]}} draft
 * @param {{committees?: {id: string, name: string}[]}} council
 */
export function conclusionsTitle(lang, number) {
  return lang === "uk" ? `Висновки постійних комісій щодо проєкту ${number}` : `The standing committees' conclusions on draft ${number}`;
}

/** The conclusions' caption and list, as a tablet's or a console's element shows them (empty: none assigned). */
export function conclusionsBlock(lang, draft, council) {
  const lines = conclusionLines(lang, draft, council);
  if (!lines.length) return [];
  const title = Object.assign(document.createElement("p"), { className: "conclusions-title", textContent: `${conclusionsTitle(lang, draft.number)}:` });
  const list = document.createElement("ul");
  list.replaceChildren(...lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
  return [title, list];
}

/** A standing committee's name from the council's record (its id when the council does not list it). */
export const committeeName = (council, id) => council?.committees?.find((c) => c.id === id)?.name ?? id;

export function conclusionLines(lang, draft, council) {
  const assigned = Object.entries(draft?.committees ?? {}).sort(([, a], [, b]) => Number(b) - Number(a));
  return assigned.map(([id, lead]) => {
    const name = committeeName(council, id);
    const who = lead ? `${name} (${lang === "uk" ? "головна" : "lead"})` : name;
    const last = (draft.conclusions ?? []).filter((c) => c.committee === id).at(-1);
    const what = last && (RECOMMENDATIONS[lang][last.recommendation] ?? last.recommendation);
    const proposed = proposedAmendments(lang, last?.amendments ?? []);
    if (lang === "en") {
      if (!last) return `${who}: no conclusion yet.`;
      return last.adopted ? `${who}: recommends to ${what}${proposed}.` : `${who}: the conclusion “${what}” was not adopted.`;
    }
    if (!last) return `${who}: висновку ще немає.`;
    return last.adopted ? `${who}: рекомендує ${what}${proposed}.` : `${who}: висновок «${what}» не ухвалено.`;
  });
}

/** The amendments a conclusion proposes, after what it recommends: «; пропонує поправки 2 і 3» ("" for none),
 * as portal_bridge/ukrainian.py says it. An amendment's id is "a" and its number. */
export function proposedAmendments(lang, ids) {
  const numbers = ids.map((id) => id.replace(/^a/, ""));
  if (!numbers.length) return "";
  const listed = numbers.length > 1 ? `${numbers.slice(0, -1).join(", ")} ${lang === "uk" ? "і" : "and"} ${numbers.at(-1)}` : numbers[0];
  if (lang === "en") return `; proposes amendment${numbers.length > 1 ? "s" : ""} ${listed}`;
  return `; пропонує ${numbers.length > 1 ? "поправки" : "поправку"} ${listed}`;
}

export function kindLine(lang, vote, votes = []) {
  if (!vote?.kind) return "";
  if (vote.kind === "amendment") return amendmentLine(lang, vote.amendments ?? []);
  if (vote.kind === "conclusion") {
    const what = RECOMMENDATIONS[lang][vote.recommendation] ?? vote.recommendation;
    return `${KINDS[lang].conclusion}: ${what}${proposedAmendments(lang, vote.amendments ?? [])}`;
  }
  const words = KINDS[lang][vote.kind] ?? vote.kind;
  // a secret ballot says so wherever the vote is named (the display, the tablets, the console)
  if (vote.secret) return `${words} (${lang === "uk" ? "таємне голосування" : "secret ballot"})`;
  if (vote.kind !== "procedural" || !vote.purpose) return words;
  const purpose = PURPOSES[lang][vote.purpose] ?? vote.purpose;
  const repeated = votes.findIndex((v) => v.id === vote.revote) + 1;
  const which = repeated ? (lang === "uk" ? ` голосування ${repeated}` : ` of vote ${repeated}`) : "";
  return `${words}: ${purpose}${which}`;
}

