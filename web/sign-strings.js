/**
 * The mayor's signing page (`/sign`), in Ukrainian and English: every text it shows, and a sentence
 * for every refusal the server or the device can give (never the API's own text).
 *
 * @module sign-strings
 */

export const STRINGS = {
  uk: {
    lang: "uk",
    title: "Kvorum — підписання рішень",
    heading: "Підписання рішень",
    otherLang: "English",
    otherLangName: "Switch to English",
    signInTitle: "Вхід міського голови",
    username: "Ім'я користувача",
    password: "Пароль",
    signIn: "Увійти",
    signOut: "Вийти",
    awaiting: "Рішення, що очікують підпису",
    none: "Немає прийнятих рішень, що очікують підпису.",
    deviceNote:
      "Підпис ставиться на пристрої, зареєстрованому для вас у раді: після натискання «Підписати» підтвердьте його відбитком пальця або PIN-кодом.",
    decision: "Рішення № {number}: {title}",
    draft: "Проєкт {number} · доповідач: {rapporteur}",
    text: "Текст рішення",
    files: "Файли",
    digest: "Дайджест рішення (SHA-256 тексту, файлів і номера)",
    sign: "Підписати",
    signing: "Підтвердьте підпис на пристрої відбитком пальця або PIN-кодом…",
    sending: "Підпис надіслано, чекаємо підтвердження ради…",
    signed: "✓ Рішення підписано {when}. Підпис перевірено.",
    signedUnchecked: "Рішення підписано {when}, але підпис не вдалося перевірити. Зверніться до секретаря.",
    openDecision: "Сторінка рішення",
    loadFailed: "Не вдалося завантажити рішення. Перевірте зв'язок і оновіть сторінку.",
    notMayor: "Підписувати рішення може лише міський голова. Ви увійшли як {username}.",
    noDevice:
      "Для вас не зареєстровано жодного пристрою. Попросіть секретаря створити посилання для реєстрації пристрою і відкрийте його на своєму пристрої.",
    digestMismatch:
      "Текст на сторінці не відповідає дайджесту, який обчислив сервер. Не підписуйте; повідомте секретаря.",
    signedOut: "Ви вийшли з системи. Увійдіть знову, щоб підписувати рішення.",
    errors: {
      forbidden: "Підписувати рішення може лише міський голова.",
      not_adopted: "Це рішення не прийнято, тож підписувати нічого.",
      already_signed: "Це рішення вже підписано.",
      document_not_found: "Такого рішення немає. Оновіть сторінку.",
      council_not_found: "Раду ще не створено.",
      unknown_credential: "Цей пристрій не зареєстровано в раді. Попросіть секретаря зареєструвати його.",
      credential_not_yours: "Цей пристрій зареєстровано не на міського голову, тож підписати ним не можна.",
      credential_revoked:
        "Цей пристрій відкликано, тож підписати ним не можна. Попросіть секретаря зареєструвати новий пристрій.",
      credential_mismatch: "Пристрій повернув пошкоджений підпис. Спробуйте ще раз.",
      assertion_invalid: "Пристрій повернув пошкоджений підпис. Спробуйте ще раз.",
      challenge_mismatch: "Підпис зроблено не над цим рішенням. Оновіть сторінку і спробуйте ще раз.",
      origin_mismatch: "Підпис зроблено не на сторінці ради. Відкрийте цю сторінку з адреси ради.",
      rp_id_mismatch: "Підпис зроблено не для цієї ради. Відкрийте цю сторінку з адреси ради.",
      user_not_verified: "Пристрій не підтвердив вашу особу відбитком пальця або PIN-кодом. Спробуйте ще раз.",
      signature_invalid: "Підпис не перевіряється ключем пристрою. Спробуйте ще раз або зверніться до секретаря.",
      invalid_request: "Сторінка надіслала неправильний запит. Оновіть сторінку.",
      malformed_json: "Сторінка надіслала неправильний запит. Оновіть сторінку.",
      NotAllowedError:
        "Підпис скасовано або час на підтвердження минув. Натисніть «Підписати», щоб спробувати ще раз.",
      SecurityError: "Браузер не дозволяє підписувати на цій адресі. Відкрийте сторінку з адреси ради.",
      offline: "Немає зв'язку з сервером. Перевірте мережу і спробуйте ще раз.",
      signed_out: "Ви вийшли з системи. Увійдіть знову, щоб підписати.",
      default: "Не вдалося підписати. Спробуйте ще раз або зверніться до секретаря.",
    },
  },
  en: {
    lang: "en",
    title: "Kvorum — signing decisions",
    heading: "Signing decisions",
    otherLang: "Українська",
    otherLangName: "Перейти на українську",
    signInTitle: "Mayor's sign-in",
    username: "Username",
    password: "Password",
    signIn: "Sign in",
    signOut: "Sign out",
    awaiting: "Decisions awaiting your signature",
    none: "No adopted decision awaits a signature.",
    deviceNote:
      "You sign on the device enrolled for you with the council: after «Sign», confirm with your fingerprint or PIN.",
    decision: "Decision No. {number}: {title}",
    draft: "Draft {number} · rapporteur: {rapporteur}",
    text: "Text of the decision",
    files: "Files",
    digest: "Digest of the decision (SHA-256 of its text, files and number)",
    sign: "Sign",
    signing: "Confirm the signature on the device with your fingerprint or PIN…",
    sending: "Signature sent, waiting for the council to confirm it…",
    signed: "✓ Decision signed {when}. The signature is verified.",
    signedUnchecked: "Decision signed {when}, but the signature could not be verified. Contact the secretary.",
    openDecision: "The decision's page",
    loadFailed: "The decisions could not be loaded. Check the connection and reload the page.",
    notMayor: "Only the mayor signs decisions. You are signed in as {username}.",
    noDevice:
      "No device is enrolled for you. Ask the secretary for an enrollment link and open it on your device.",
    digestMismatch:
      "The text on this page does not match the digest the server computed. Do not sign; tell the secretary.",
    signedOut: "You were signed out. Sign in again to sign decisions.",
    errors: {
      forbidden: "Only the mayor signs decisions.",
      not_adopted: "This decision was not adopted, so there is nothing to sign.",
      already_signed: "This decision is already signed.",
      document_not_found: "There is no such decision. Reload the page.",
      council_not_found: "The council has not been created yet.",
      unknown_credential: "This device is not enrolled with the council. Ask the secretary to enroll it.",
      credential_not_yours: "This device is enrolled for someone other than the mayor, so it cannot sign.",
      credential_revoked: "This device was revoked, so it cannot sign. Ask the secretary to enroll a new one.",
      credential_mismatch: "The device returned a damaged signature. Please try again.",
      assertion_invalid: "The device returned a damaged signature. Please try again.",
      challenge_mismatch: "The signature is not over this decision. Reload the page and try again.",
      origin_mismatch: "The signature was not made on the council's page. Open this page at the council's address.",
      rp_id_mismatch: "The signature was not made for this council. Open this page at the council's address.",
      user_not_verified: "The device did not verify you by fingerprint or PIN. Please try again.",
      signature_invalid: "The signature does not verify with the device's key. Try again or contact the secretary.",
      invalid_request: "The page sent a wrong request. Reload the page.",
      malformed_json: "The page sent a wrong request. Reload the page.",
      NotAllowedError: "The signature was cancelled or timed out. Press «Sign» to try again.",
      SecurityError: "The browser does not allow signing at this address. Open the page at the council's address.",
      offline: "The server cannot be reached. Check the network and try again.",
      signed_out: "You were signed out. Sign in again to sign.",
      default: "The decision could not be signed. Try again or contact the secretary.",
    },
  },
};

/** `text` with each `{name}` replaced by `params[name]`. */
export function format(text, params = {}) {
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}

const MONTHS = {
  uk: ["січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня", "листопада", "грудня"],
  en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
};

/** A moment in words, in Kyiv time: «2 грудня 2026 р., 14:05» / "2 December 2026, 14:05". */
export function when(lang, iso) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Kyiv",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  const month = MONTHS[lang][Number(parts.month) - 1];
  const date = lang === "uk" ? `${Number(parts.day)} ${month} ${parts.year} р.` : `${Number(parts.day)} ${month} ${parts.year}`;
  return `${date}, ${parts.hour}:${parts.minute}`;
}
