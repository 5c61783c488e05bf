/*! embed.js: the comments widget. One script tag per thread:
 *   <div id="comments"></div>
 *   <script src="https://comments.example.org/embed.js" data-article="my-article" async></script>
 * Options (data-* on the script tag): article (default: the canonical URL), target (element id,
 * default "comments"), api (default: this script's origin), lang (en, de), theme (light, dark,
 * auto), sort (oldest, newest, top), max-depth (levels of reply indentation, default 3).
 * Links with data-count="<article>" get "N comments" without loading any thread.
 * Vanilla JavaScript, no dependencies. Everything renders inside a Shadow DOM, so the page's CSS
 * and ours never meet; theme it with the --comments-* custom properties listed in CSS below.
 * User text only ever reaches the page as text nodes and checked attributes, never as HTML. */
(() => {
  "use strict";
  // The proof of work (ALTCHA v2, PBKDF2-SHA-256 over the challenge's nonce and a counter,
  // until the derived key starts with its prefix). Self-contained: it also runs as a Worker's
  // whole source, from this file or from a Blob made of its text.
  function pow(scope) {
    const bytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (b) => Number.parseInt(b, 16));
    const solve = async ({ parameters: p }) => {
      const [nonce, salt, prefix] = [bytes(p.nonce), bytes(p.salt), bytes(p.keyPrefix)];
      const started = Date.now();
      const attempt = async (counter) => {
        const password = new Uint8Array(nonce.length + 4);
        password.set(nonce);
        new DataView(password.buffer).setUint32(nonce.length, counter);
        const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
        const params = { name: "PBKDF2", hash: "SHA-256", salt, iterations: p.cost };
        const bits = new Uint8Array(await crypto.subtle.deriveBits(params, key, p.keyLength * 8));
        if (prefix.some((b, i) => bits[i] !== b)) return null;
        const derivedKey = Array.from(bits, (b) => b.toString(16).padStart(2, "0")).join("");
        return { counter, derivedKey, time: Date.now() - started };
      };
      // A few attempts at once keep WebCrypto's threads busy between round trips.
      for (let n = 0; Date.now() - started < 60000; n += 4) {
        const found = (await Promise.all([0, 1, 2, 3].map((i) => attempt(n + i)))).find(Boolean);
        if (found) return found;
      }
      return null;
    };
    if (scope) {
      scope.onmessage = (e) =>
        solve(e.data).then(
          (solution) => scope.postMessage(solution),
          () => scope.postMessage(null), // no WebCrypto (a page not served over https)
        );
    }
    return solve;
  }
  if (typeof document === "undefined") return pow(self); // this file, started as a Worker
  const script = document.currentScript;
  if (!script) return;
  const opt = script.dataset;
  const API = (opt.api || new URL(script.src).origin).replace(/\/+$/, "");
  const HONEYPOT = "contact_phone"; // service/core/validation.py HONEYPOT_FIELD
  const FIELDS = ["comment", "name", "email", "website"];
  const PENDING_KEY = "comments.pending";
  const AUTHOR_KEY = "comments.author";
  const COMMENTER_KEY = "comments.commenter";
  const READER_KEY = "comments.reader"; // votes: another key, so votes say nothing of trust
  const VOTED_KEY = "comments.voted";
  const EDITS_KEY = "comments.edits"; // edit tokens of this browser's comments, until they expire
  const PENDING_DAYS = 30;

  // Every string the widget shows; {x} are placeholders. Add a language by adding a table.
  const STRINGS = {
    en: {
      count_one: "{n} comment",
      count_other: "{n} comments",
      new_one: "{n} new comment",
      new_other: "{n} new comments",
      empty: "No comments yet.",
      loading: "Loading comments…",
      load_failed: "Comments could not be loaded. Please try again later.",
      origin_not_allowed: "This site is not allowed to show comments from this service.",
      reply: "Reply",
      reply_to: "Reply to {name}",
      cancel: "Cancel reply",
      title: "Leave a Reply",
      comment: "Comment",
      name: "Name",
      email: "Email",
      website: "Website",
      promise: "Your email address will not be published. Required fields are marked *",
      your_data: "Your comments and data",
      save: "Save my name, email, and website in this browser for the next time I comment.",
      notify: "Notify me of replies by email",
      post: "Post Comment",
      posting: "Posting…",
      pending: "Your comment is awaiting moderation.",
      thanks: "Thank you. Your comment is awaiting moderation.",
      required: "{field} is required.",
      too_long: "{field} must be at most {n} characters.",
      invalid_email: "Enter a valid email address.",
      invalid_url: "{field} must be an http(s) URL with a host.",
      invalid_characters: "{field} contains control characters.",
      fix: "Please correct the marked fields.",
      rate_limited: "Too many comments. Please try again in {s} seconds; your text is kept.",
      unavailable: "The comment service could not be reached. Please try again; your text is kept.",
      parent_gone: "The comment you are replying to is no longer available.",
      leave_empty: "Leave this field empty",
      more: "Load more comments",
      more_one: "Show {n} more reply",
      more_other: "Show {n} more replies",
      vote: "Vote up ({n})",
      edit: "Edit",
      save_edit: "Save",
      cancel_edit: "Cancel",
      delete: "Delete",
      confirm_delete: "Really delete?",
      edited: "edited",
      edit_closed: "The time to edit or delete this comment has passed.",
      thread_closed: "Comments on this article are closed.",
      featured: "Featured",
      staff: "Staff",
      report: "Report",
      reason: "Reason",
      spam: "Spam",
      abuse: "Abuse or harassment",
      "off-topic": "Off topic",
      illegal: "Illegal content",
      statement: "Why is it illegal? (required for illegal content)",
      send_report: "Send report",
      reported: "Thank you. The moderators will look at it.",
    },
    de: {
      count_one: "{n} Kommentar",
      count_other: "{n} Kommentare",
      new_one: "{n} neuer Kommentar",
      new_other: "{n} neue Kommentare",
      empty: "Noch keine Kommentare.",
      loading: "Kommentare werden geladen …",
      load_failed: "Die Kommentare konnten nicht geladen werden. Bitte versuche es später erneut.",
      origin_not_allowed: "Diese Website darf keine Kommentare dieses Dienstes anzeigen.",
      reply: "Antworten",
      reply_to: "Antwort an {name}",
      cancel: "Antwort abbrechen",
      title: "Schreibe einen Kommentar",
      comment: "Kommentar",
      name: "Name",
      email: "E-Mail",
      website: "Website",
      promise:
        "Deine E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * markiert",
      your_data: "Deine Kommentare und Daten",
      save:
        "Meinen Namen, meine E-Mail-Adresse und meine Website in diesem Browser für die nächste" +
        " Kommentierung speichern.",
      notify: "Benachrichtige mich über Antworten per E-Mail",
      post: "Kommentar abschicken",
      posting: "Wird gesendet …",
      pending: "Dein Kommentar wartet auf Freischaltung.",
      thanks: "Danke. Dein Kommentar wartet auf Freischaltung.",
      required: "{field} ist erforderlich.",
      too_long: "{field} darf höchstens {n} Zeichen lang sein.",
      invalid_email: "Bitte gib eine gültige E-Mail-Adresse ein.",
      invalid_url: "{field} muss eine http(s)-Adresse mit Host sein.",
      invalid_characters: "{field} enthält Steuerzeichen.",
      fix: "Bitte korrigiere die markierten Felder.",
      rate_limited:
        "Zu viele Kommentare. Bitte versuche es in {s} Sekunden erneut; dein Text bleibt erhalten.",
      unavailable:
        "Der Kommentardienst ist nicht erreichbar. Bitte versuche es erneut; dein Text bleibt" +
        " erhalten.",
      parent_gone: "Der Kommentar, auf den du antwortest, ist nicht mehr verfügbar.",
      leave_empty: "Dieses Feld leer lassen",
      more: "Weitere Kommentare laden",
      more_one: "{n} weitere Antwort anzeigen",
      more_other: "{n} weitere Antworten anzeigen",
      vote: "Positiv bewerten ({n})",
      edit: "Bearbeiten",
      save_edit: "Speichern",
      cancel_edit: "Abbrechen",
      delete: "Löschen",
      confirm_delete: "Wirklich löschen?",
      edited: "bearbeitet",
      edit_closed: "Die Zeit zum Bearbeiten oder Löschen ist abgelaufen.",
      thread_closed: "Die Kommentare zu diesem Artikel sind geschlossen.",
      featured: "Empfohlen",
      staff: "Redaktion",
      report: "Melden",
      reason: "Grund",
      spam: "Spam",
      abuse: "Beleidigung oder Belästigung",
      "off-topic": "Nicht zum Thema",
      illegal: "Rechtswidriger Inhalt",
      statement: "Warum ist er rechtswidrig? (für rechtswidrige Inhalte erforderlich)",
      send_report: "Meldung senden",
      reported: "Danke. Die Moderation sieht sich das an.",
    },
  };
  const wanted = (opt.lang || document.documentElement.lang || navigator.language || "en")
    .toLowerCase()
    .split("-")[0];
  const LANG = STRINGS[wanted] ? wanted : "en";
  const t = (key, vars = {}) =>
    (STRINGS[LANG][key] || STRINGS.en[key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);
  const plural = new Intl.PluralRules(LANG);
  const countText = (n) => t(plural.select(n) === "one" ? "count_one" : "count_other", { n });
  const moreText = (n) => t(plural.select(n) === "one" ? "more_one" : "more_other", { n });
  const PAGE = 20; // top-level comments (or replies) a page brings; the server caps it at 50
  const POLL_MS = 30000; // the first page's re-fetch when live events are unavailable

  // Same limits and rules as service/core/validation.py; the server stays the authority.
  const LIMITS = { comment: 10000, name: 100, email: 254, website: 200 };
  // Control characters (\p{Cc}: U+0000-001F, U+007F-009F) and bidi overrides; text may keep \t \n.
  const BAD_IN_LINE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
  const BAD_IN_TEXT = /(?![\t\n])[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
  const isHttpUrl = (value) => {
    try {
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) && !!url.hostname && !/\s/.test(value);
    } catch {
      return false;
    }
  };
  const check = (values, limits) => {
    const errors = {};
    for (const field of FIELDS) {
      const value = values[field];
      if (!value) {
        if (field !== "website") errors[field] = ["required"];
      } else if ([...value].length > limits[field]) {
        errors[field] = ["too_long", limits[field]];
      } else if ((field === "comment" ? BAD_IN_TEXT : BAD_IN_LINE).test(value)) {
        errors[field] = ["invalid_characters"];
      } else if (field === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@.]+$/.test(value)) {
        errors[field] = ["invalid_email"];
      } else if (field === "website" && !isHttpUrl(value)) {
        errors[field] = ["invalid_url"];
      }
    }
    return errors;
  };

  // localStorage may be absent or full (private modes); the widget works without it.
  const store = {
    get(key, fallback) {
      try {
        return JSON.parse(localStorage.getItem(key)) ?? fallback;
      } catch {
        return fallback;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(key, JSON.stringify(value));
      } catch {}
    },
    remove(key) {
      try {
        localStorage.removeItem(key);
      } catch {}
    },
  };

  // Elements from data: strings become text nodes, never markup.
  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : value);
    }
    el.append(...kids.filter((kid) => kid != null));
    return el;
  };
  // Solves a challenge off the main thread: in a Worker from this very file when the page shares
  // its origin, else from a Blob (a page's CSP needs `worker-src blob:` for that). Where a CSP
  // refuses both it solves here: WebCrypto works off the main thread even then, so the page
  // stays responsive. Resolves to the `altcha` field's value, or null (no solution: the
  // comment goes without one and is held).
  const solvePow = (challenge) =>
    new Promise((resolve) => {
      const done = (solution) => resolve(solution && btoa(JSON.stringify({ challenge, solution })));
      const here = () => pow()(challenge).then(done, () => done(null));
      let worker;
      let blob;
      try {
        if (new URL(script.src).origin === location.origin) {
          worker = new Worker(script.src);
        } else {
          blob = URL.createObjectURL(new Blob([`(${pow})(self)`], { type: "text/javascript" }));
          worker = new Worker(blob);
        }
      } catch {
        return here();
      }
      const end = (then) => (e) => {
        worker.terminate();
        if (blob) URL.revokeObjectURL(blob);
        then(e);
      };
      worker.onmessage = end((e) => done(e.data));
      worker.onerror = end(here);
      worker.postMessage(challenge);
    });

  const randomKey = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");

  // This browser's random keys. COMMENTER_KEY proves a returning commenter (never the
  // address): the service trusts a commenter only from browsers one of their comments was
  // approved from. READER_KEY makes one vote per comment; the service stores neither key.
  const ownKey = (name) => {
    let key = store.get(name, null);
    if (typeof key !== "string" || !/^[0-9a-f]{32}$/.test(key)) {
      key = randomKey();
      store.set(name, key);
    }
    return key;
  };

  // Plain text to paragraphs, line breaks and links to http(s) URLs.
  const URL_RE = /\bhttps?:\/\/[^\s<>"']+/g;
  const linkify = (line) => {
    const out = [];
    let last = 0;
    for (const match of line.matchAll(URL_RE)) {
      const url = match[0].replace(/[.,;:!?)\]]+$/, "");
      out.push(
        line.slice(last, match.index),
        h("a", { href: url, rel: "nofollow ugc noopener" }, url),
      );
      last = match.index + url.length;
    }
    out.push(line.slice(last));
    return out;
  };
  const paragraphs = (text) =>
    text
      .split(/\n\s*\n/)
      .filter((p) => p.trim())
      .map((p) =>
        h(
          "p",
          null,
          ...p.split("\n").flatMap((line, i) => (i ? [h("br"), ...linkify(line)] : linkify(line))),
        ),
      );

  // The service's HTML (cleaned there), parsed inert and rebuilt through the same allow-list
  // again: a second defence.
  const TAGS = "P BR EM STRONG A BLOCKQUOTE UL OL LI CODE PRE".split(" ");
  const ATTRS = { A: ["href"], OL: ["start"] };
  const adopt = (node) => {
    if (node.nodeType === 3) return [node.data];
    if (!TAGS.includes(node.nodeName)) return [];
    const kids = [...node.childNodes].flatMap(adopt);
    const attrs = {};
    for (const name of ATTRS[node.nodeName] || []) attrs[name] = node.getAttribute(name);
    if (node.nodeName === "A") {
      if (!isHttpUrl(attrs.href)) return kids;
      attrs.rel = "nofollow ugc noopener";
    }
    return [h(node.nodeName, attrs, ...kids)];
  };
  const content = (c) => {
    if (!c.html) return paragraphs(c.text); // awaiting moderation: the text as typed
    const tpl = h("template");
    tpl.innerHTML = c.html;
    return [...tpl.content.childNodes].flatMap(adopt);
  };

  const relative = new Intl.RelativeTimeFormat(LANG, { numeric: "auto" });
  const UNITS = [
    ["year", 31536e3],
    ["month", 2592e3],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const ago = (iso) => {
    const seconds = (Date.parse(iso) - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
    }
    return relative.format(0, "second");
  };
  const exact = (iso) =>
    new Date(iso).toLocaleString(LANG, { dateStyle: "long", timeStyle: "short" });

  // The dark palette, used by data-theme="dark" and by "auto" when the reader's system is dark.
  const DARK = `
    --bg: var(--comments-bg,#16181d); --fg: var(--comments-fg,#e8eaed);
    --mut: var(--comments-muted,#b4b8bf); --acc: var(--comments-accent,#8ab4f8);
    --on-acc: var(--comments-on-accent,#10131a); --line: var(--comments-border,#8a8f98);
    --err: var(--comments-error,#ff8a80); --pend: var(--comments-pending-bg,#3a3320);`;
  // Marks beside a comment's name: a moderators' pick, a reply by the staff.
  const badges = (c) =>
    [c.featured && "featured", c.staff && "staff"]
      .filter(Boolean)
      .map((k) => h("span", { class: "badge" }, t(k)));

  const CSS = `
    :host { all: initial; display: block }
    .root {
      --bg: var(--comments-bg,#fff); --fg: var(--comments-fg,#1d1d1f);
      --mut: var(--comments-muted,#595959); --acc: var(--comments-accent,#0a58ca);
      --on-acc: var(--comments-on-accent,#fff); --line: var(--comments-border,#767676);
      --err: var(--comments-error,#b3261e); --pend: var(--comments-pending-bg,#fff4d6);
      font: var(--comments-font,16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);
      color: var(--fg); background: var(--bg); padding: .1px 0;
    }
    .dark {${DARK}
    }
    @media (prefers-color-scheme: dark) {
      .auto {${DARK}
      }
    }
    h2 { font-size: 1.3em; margin: .6em 0 }
    h3 {
      font-size: 1.1em; margin: 1em 0 .3em; display: flex; gap: 1em; flex-wrap: wrap;
      align-items: baseline;
    }
    ol { list-style: none; margin: 0; padding: 0 }
    .c { margin: 1em 0 }
    .fresh { position: sticky; top: 0; min-height: 1.5em; background: var(--bg) }
    .fresh[aria-hidden] { visibility: hidden }
    .replies {
      margin-left: var(--comments-indent,1.25em); padding-left: .75em;
      border-left: 2px solid var(--line);
    }
    .flat { margin-left: 0; padding-left: 0; border: 0 }
    .meta { font-size: .9em; color: var(--mut) }
    .author { font-weight: 600; color: var(--fg) }
    a { color: var(--acc) }
    .text p { margin: .4em 0; overflow-wrap: anywhere }
    .pending > .own { background: var(--pend); padding: .4em .75em; border-radius: 4px }
    .notice { font-style: italic; margin: .2em 0 }
    .closed .reply { display: none }
    .badge { margin-left: .5em; padding: 0 .4em; border: 1px solid var(--acc); border-radius: 3px; color: var(--acc); font-size: .85em }
    button { font: inherit; cursor: pointer }
    .link, .vote, .act, .rep {
      background: none; border: 0; padding: 0; color: var(--acc); text-decoration: underline;
      font-size: .9em;
    }
    .vote, .act, .rep { text-decoration: none; margin-right: 1em }
    .report { border-left: 2px solid var(--line); padding-left: .75em }
    .vote[aria-pressed=true] { font-weight: 600 }
    .submit {
      background: var(--acc); color: var(--on-acc); border: 0; border-radius: 4px;
      padding: .55em 1.2em; font-weight: 600;
    }
    .submit[disabled] { cursor: progress }
    label { display: block; font-weight: 600; margin-top: .8em }
    .check { margin: .6em 0 }
    .check label { display: inline; font-weight: 400; margin-left: .4em }
    input:not([type=checkbox]), textarea {
      display: block; box-sizing: border-box; width: 100%; padding: .5em;
      font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line);
      border-radius: 3px;
    }
    [aria-invalid=true] { border: 2px solid var(--err) }
    .err, .bad { color: var(--err); font-weight: 600 }
    .err { font-size: .9em; margin: .2em 0 }
    .err:empty, .status:empty { display: none }
    .note { color: var(--mut); font-size: .9em }
    .hp { position: absolute; left: -9999px; width: 1px; height: 1px; overflow: hidden }
    :focus-visible { outline: 3px solid var(--acc); outline-offset: 2px }
  `;

  const pendingAll = () =>
    store
      .get(PENDING_KEY, [])
      .filter((p) => Date.now() - Date.parse(p.created_at) < PENDING_DAYS * 864e5);
  const pendingSave = (list) =>
    list.length ? store.set(PENDING_KEY, list) : store.remove(PENDING_KEY);
  const editsAll = () => store.get(EDITS_KEY, []).filter((e) => e.until > Date.now());
  const forget = (key, id) =>
    store.set(
      key,
      store.get(key, []).filter((e) => e.id !== id),
    );

  // The service's "Your comments and data" page: a reader asks there for the link to
  // download or erase their comments (GET /privacy).
  const dataLink = () =>
    h("a", { href: `${API}/privacy`, target: "_blank", rel: "noopener" }, t("your_data"));

  class Thread {
    constructor(host, article) {
      this.article = article;
      this.maxDepth = Number(opt.maxDepth) || 3;
      this.limits = { ...LIMITS };
      this.parent = null;
      const theme = ["light", "dark", "auto"].includes(opt.theme) ? opt.theme : "light";
      const shadow = host.attachShadow({ mode: "open" });
      if (
        shadow.adoptedStyleSheets &&
        window.CSSStyleSheet &&
        "replaceSync" in CSSStyleSheet.prototype
      ) {
        const sheet = new CSSStyleSheet(); // not subject to the page's style-src CSP
        sheet.replaceSync(CSS);
        shadow.adoptedStyleSheets = [sheet];
      } else {
        shadow.append(h("style", null, CSS));
      }
      this.root = shadow;
      this.heading = h("h2", { class: "count" });
      this.loadStatus = h(
        "p",
        { class: "status", role: "status", "aria-live": "polite" },
        t("loading"),
      );
      this.list = h("ol", { class: "list" });
      this.form = this.buildForm();
      this.home = h("div", null, this.form);
      shadow.append(
        h(
          "div",
          { class: `root ${theme}`, lang: LANG },
          this.heading,
          this.loadStatus,
          this.list,
          this.home,
        ),
      );
      this.load();
    }

    page(query) {
      return fetch(
        `${API}/api/v1/comments?article=${encodeURIComponent(this.article)}&limit=${PAGE}&${query}`,
      );
    }

    async load() {
      let res, data;
      try {
        res = await this.page(`sort=${["newest", "top"].includes(opt.sort) ? opt.sort : "oldest"}`);
        data = await res.json();
      } catch {
        return this.failed("load_failed");
      }
      if (!res.ok) {
        return this.failed(
          data?.error?.code === "origin_not_allowed" ? "origin_not_allowed" : "load_failed",
        );
      }
      this.more(this.list, data, 1);
      if (data.closed) this.closeThread();
      this.heading.textContent = countText(data.count);
      this.loadStatus.textContent = data.count ? "" : t("empty");
      this.showPending();
      this.live();
    }

    // Live updates: new comments are announced ("N new comments") and inserted only when the
    // reader clicks, so nothing moves under their eyes (the announcement's line is reserved).
    // Events come from GET /api/v1/stream; without EventSource, or once it gave up, the first
    // page is re-fetched every POLL_MS instead.
    live() {
      const fresh = new Set();
      const known = new Set();
      const shown = (id) => this.root.getElementById(`c-${id}`);
      const bar = h("button", { type: "button", class: "link fresh", "aria-hidden": "true" });
      this.heading.after(bar);
      const announce = (ids, count) => {
        for (const id of ids) if (!shown(id) && !known.has(id)) fresh.add(id);
        if (count != null) this.heading.textContent = countText(count);
        bar.textContent = fresh.size
          ? t(plural.select(fresh.size) === "one" ? "new_one" : "new_other", { n: fresh.size })
          : "";
        bar.toggleAttribute("aria-hidden", !fresh.size);
      };
      const newest = async () => {
        const res = await this.page("sort=newest");
        if (!res.ok) throw res;
        const data = await res.json();
        const all = data.comments.flatMap((c) => [c, ...(c.replies || [])]);
        return { all, count: data.count };
      };
      bar.onclick = async () => {
        try {
          const { all } = await newest();
          for (const c of all.reverse()) {
            if (!fresh.has(c.id) || shown(c.id)) continue;
            const parent = c.parent_id && shown(c.parent_id);
            if (c.parent_id && !parent) continue; // its parent is on a page not shown
            const depth = parent ? Number(parent.dataset.depth) + 1 : 1;
            const li = this.render({ ...c, replies: [], replies_cursor: null }, depth);
            let list = parent ? parent.querySelector(":scope > ol") : this.list;
            if (!list) {
              list = this.replies(depth - 1);
              parent.append(list);
            }
            const more = list.querySelector(":scope > .more");
            if (!parent && opt.sort === "newest") list.prepend(li);
            else list.insertBefore(li, more);
          }
        } catch {}
        for (const id of fresh) known.add(id);
        fresh.clear();
        announce([]);
        this.loadStatus.textContent = "";
      };
      const poll = async () => {
        if (this.polling) return;
        this.polling = true;
        const first = await newest().catch(() => ({ all: [] }));
        for (const c of first.all) known.add(c.id); // what was there before: not "new"
        setInterval(async () => {
          try {
            const { all, count } = await newest();
            announce(
              all.map((c) => c.id),
              count,
            );
          } catch {}
        }, POLL_MS);
      };
      if (!window.EventSource) return poll();
      const es = new EventSource(
        `${API}/api/v1/stream?article=${encodeURIComponent(this.article)}`,
      );
      const on = (kind, f) =>
        es.addEventListener(kind, (e) => {
          try {
            f(JSON.parse(e.data));
          } catch {}
        });
      on("published", (d) => announce([d.id], d.count));
      on("removed", (d) => {
        fresh.delete(d.id);
        announce([], d.count);
      });
      on("voted", (d) => announce([], d.count));
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) poll(); // it stopped retrying
      };
    }

    // A thread the site closed: read-only, a notice instead of the form, no reply buttons.
    closeThread() {
      this.form.remove();
      this.home.replaceChildren(h("p", { class: "notice", role: "note" }, t("thread_closed")));
      this.root.querySelector(".root").classList.add("closed");
    }

    // Appends a page of comments at `depth` to `list`, then a button for the next page, if any:
    // "Load more comments" at the top level, "Show N more replies" (`left`) under a comment.
    more(list, data, depth, left) {
      for (const c of data.comments) {
        this.root.getElementById(`c-${c.id}`)?.remove(); // shown as pending, published since
        list.append(this.render(c, depth));
      }
      if (!data.next_cursor) return;
      const item = h(
        "li",
        { class: "more" },
        h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                const res = await this.page(`cursor=${encodeURIComponent(data.next_cursor)}`);
                if (!res.ok) throw res;
                const next = await res.json();
                item.remove();
                this.more(list, next, depth, left && left - next.comments.length);
              } catch {
                e.target.disabled = false;
              }
            },
          },
          left ? moreText(left) : t("more"),
        ),
      );
      list.append(item);
    }

    // One up-vote a comment from this browser; the service keeps only a keyed hash of its key.
    voteButton(c) {
      const show = (n, done) => {
        button.textContent = `▲ ${n}`;
        button.setAttribute("aria-label", t("vote", { n }));
        button.setAttribute("aria-pressed", done);
      };
      const button = h("button", {
        type: "button",
        class: "vote",
        onclick: async () => {
          if (button.getAttribute("aria-pressed") === "true") return;
          button.disabled = true;
          try {
            const res = await fetch(`${API}/api/v1/comments/${c.id}/vote`, {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ reader: ownKey(READER_KEY) }),
            });
            if (res.ok) {
              show((await res.json()).votes.up, true);
              store.set(VOTED_KEY, [c.id, ...store.get(VOTED_KEY, [])].slice(0, 500));
            }
          } catch {}
          button.disabled = false;
        },
      });
      show(c.votes?.up || 0, store.get(VOTED_KEY, []).includes(c.id));
      return button;
    }

    // "Report": a reason, and for illegal content the statement the service requires.
    reportButton(c) {
      const button = h(
        "button",
        {
          type: "button",
          class: "rep",
          onclick: () => {
            const reason = h(
              "select",
              { "aria-label": t("reason") },
              ...["spam", "abuse", "off-topic", "illegal"].map((r) =>
                h("option", { value: r }, t(r)),
              ),
            );
            const statement = h("textarea", { "aria-label": t("statement"), rows: 3 });
            const note = h("p", { class: "err", role: "status" });
            const box = h(
              "div",
              { class: "report" },
              h("label", null, t("reason"), reason),
              h("label", null, t("statement"), statement),
              note,
              h(
                "button",
                {
                  type: "button",
                  class: "act",
                  onclick: async () => {
                    const body = { reader: ownKey(READER_KEY), reason: reason.value };
                    if (statement.value.trim()) body.statement = statement.value;
                    const res = await fetch(`${API}/api/v1/comments/${c.id}/reports`, {
                      method: "POST",
                      headers: { "Content-Type": "application/json" },
                      body: JSON.stringify(body),
                    }).catch(() => null);
                    if (res?.status === 202) {
                      box.replaceWith(h("p", { class: "notice" }, t("reported")));
                    } else {
                      const error = (await res?.json().catch(() => null))?.error;
                      note.textContent = error?.fields?.statement?.message || t("unavailable");
                    }
                  },
                },
                t("send_report"),
              ),
            );
            button.replaceWith(box);
            reason.focus();
          },
        },
        t("report"),
      );
      return button;
    }

    // Edit and Delete on this browser's own comments while their edit token lasts.
    ownButtons(c, item) {
      const mine = editsAll().find((e) => e.id === c.id);
      if (!mine) return [];
      const call = (method, body) =>
        fetch(`${API}/api/v1/comments/${c.id}`, {
          method,
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${mine.token}` },
          body: body && JSON.stringify(body),
        }).catch(() => null);
      const done = (li, res, key) => {
        if (res?.status !== 403) return false;
        forget(EDITS_KEY, c.id);
        for (const b of li.querySelectorAll(":scope > article .act")) b.remove();
        li.firstChild.append(h("p", { class: "notice" }, t(key)));
        return true;
      };
      const act = (key, onclick) => h("button", { type: "button", class: "act", onclick }, t(key));
      const edit = act("edit", () => {
        const li = item();
        const text = li.querySelector(":scope > article .text");
        const area = h("textarea", { "aria-label": t("comment"), rows: 4 });
        area.value = c.text;
        const box = h(
          "div",
          null,
          area,
          act("save_edit", async () => {
            const res = await call("PATCH", { comment: area.value });
            if (done(li, res, "edit_closed") || res?.status !== 202) return;
            c.text = area.value;
            box.replaceWith(h("div", { class: "text" }, ...paragraphs(c.text)));
            // Scored again: awaiting moderation, here and after a reload, until published.
            li.classList.add("pending");
            li.firstChild.append(h("p", { class: "notice" }, t("pending")));
            const { id, parent_id, name, website, text, created_at } = c;
            forget(PENDING_KEY, id);
            pendingSave([
              ...pendingAll(),
              { id, parent_id, name, website, text, created_at, api: API, article: this.article },
            ]);
          }),
          act("cancel_edit", () => box.replaceWith(text)),
        );
        text.replaceWith(box);
        area.focus();
      });
      const del = act("delete", async () => {
        if (!del.dataset.sure) {
          del.dataset.sure = 1;
          del.textContent = t("confirm_delete");
          return;
        }
        const li = item();
        const res = await call("DELETE");
        if (done(li, res, "edit_closed") || ![204, 404].includes(res?.status)) return;
        forget(EDITS_KEY, c.id);
        forget(PENDING_KEY, c.id);
        li.remove();
      });
      return [edit, del];
    }

    failed(key) {
      this.loadStatus.textContent = t(key);
      this.loadStatus.classList.add("bad");
      if (key === "origin_not_allowed") this.form.remove();
    }

    render(c, depth, own = false) {
      const name =
        c.website && isHttpUrl(c.website)
          ? h("a", { class: "author", href: c.website, rel: "nofollow ugc noopener" }, c.name)
          : h("span", { class: "author" }, c.name);
      const replyButton = own
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "link reply",
              onclick: () => this.replyTo(c, li, replyButton),
            },
            t("reply"),
          );
      const body = h(
        "article",
        { class: "own", "aria-label": c.name },
        h(
          "div",
          { class: "meta" },
          name,
          " · ",
          h("time", { datetime: c.created_at, title: exact(c.created_at) }, ago(c.created_at)),
          c.edited ? ` · ${t("edited")}` : null,
          ...badges(c),
        ),
        h("div", { class: "text" }, ...content(c)),
        own ? h("p", { class: "notice" }, t("pending")) : null,
        own ? null : this.voteButton(c),
        replyButton,
        ...this.ownButtons(c, () => li),
        own ? null : this.reportButton(c),
      );
      const li = h(
        "li",
        { class: own ? "c pending" : "c", id: `c-${c.id}`, "data-depth": depth },
        body,
      );
      if (c.replies?.length || c.replies_cursor) {
        const list = this.replies(depth);
        const page = { comments: c.replies || [], next_cursor: c.replies_cursor };
        this.more(list, page, depth + 1, c.reply_count - page.comments.length);
        li.append(list);
      }
      return li;
    }

    replies(depth, items = []) {
      const list = h("ol", { class: depth >= this.maxDepth ? "replies flat" : "replies" });
      list.append(...items.map((r) => this.render(r, depth + 1)));
      return list;
    }

    // The reader's own comments that await moderation, kept in this browser across reloads.
    place(c) {
      const parent = c.parent_id && this.root.getElementById(`c-${c.parent_id}`);
      const depth = parent ? Number(parent.dataset.depth) + 1 : 1;
      const li = this.render(c, depth, true);
      if (!parent) return this.list.append(li);
      let list = parent.querySelector(":scope > ol");
      if (!list) {
        list = this.replies(depth - 1);
        parent.append(list);
      }
      list.append(li);
    }

    async showPending() {
      const all = pendingAll();
      const shown = (p) => p.api === API && p.article === this.article;
      const mine = all.filter((p) => shown(p) && !this.root.getElementById(`c-${p.id}`));
      // Published ones are in the thread now; the rest are shown as awaiting moderation.
      const kept = all.filter((p) => !shown(p) || mine.includes(p));
      pendingSave(kept);
      for (const p of mine) this.place(p);
      if (!mine.length) return;
      try {
        const query = mine.map((p) => `id=${encodeURIComponent(p.id)}`).join("&");
        const res = await fetch(`${API}/api/v1/comment-status?${query}`);
        if (!res.ok) return;
        const { statuses } = await res.json();
        // Published ones not on the pages shown yet come with their page, like everyone's.
        const gone = new Set(mine.filter((p) => statuses[p.id] !== "pending").map((p) => p.id));
        for (const id of gone) this.root.getElementById(`c-${id}`)?.remove();
        pendingSave(pendingAll().filter((p) => !gone.has(p.id)));
      } catch {}
    }

    buildForm() {
      const field = (name, control) => {
        const star = name === "website" ? "" : " *";
        control.setAttribute("aria-describedby", `${name}-error`);
        return h(
          "div",
          null,
          h("label", { for: name }, t(name) + star),
          control,
          h("p", { class: "err", id: `${name}-error` }),
        );
      };
      const input = (name, type, autocomplete) =>
        h("input", {
          id: name,
          name,
          type,
          autocomplete,
          required: name !== "website",
          maxlength: LIMITS[name],
        });
      this.title = h("span", { id: "reply-title" }, t("title"));
      this.cancel = h(
        "button",
        { type: "button", class: "link", hidden: true, onclick: () => this.cancelReply() },
        t("cancel"),
      );
      this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
      this.button = h("button", { type: "submit", class: "submit" }, t("post"));
      const author = store.get(AUTHOR_KEY, null);
      const form = h(
        "form",
        {
          novalidate: true,
          "aria-labelledby": "reply-title",
          onsubmit: (e) => this.submit(e),
          onfocusin: () => this.token(),
        },
        h("h3", null, this.title, this.cancel),
        h("p", { class: "note" }, t("promise"), " ", dataLink()),
        field(
          "comment",
          h("textarea", { id: "comment", name: "comment", rows: 6, required: true }),
        ),
        field("name", input("name", "text", "name")),
        field("email", input("email", "email", "email")),
        field("website", input("website", "url", "url")),
        // Bots fill every field; people never see this one and screen readers skip it.
        h(
          "div",
          { class: "hp", "aria-hidden": "true" },
          h(
            "label",
            null,
            t("leave_empty"),
            h("input", { name: HONEYPOT, tabindex: -1, autocomplete: "off" }),
          ),
        ),
        h(
          "p",
          { class: "check" },
          h("input", { type: "checkbox", id: "save", checked: !!author }),
          h("label", { for: "save" }, t("save")),
        ),
        h(
          "p",
          { class: "check" },
          h("input", { type: "checkbox", id: "notify", name: "notify_replies" }),
          h("label", { for: "notify" }, t("notify")),
        ),
        this.status,
        this.button,
      );
      if (author) {
        for (const key of ["name", "email", "website"]) {
          form.elements[key].value = author[key] || "";
        }
      }
      return form;
    }

    // The signed token proves when the form was shown, and brings the proof of work, solved
    // while the reader types: fetched on first focus, again once a comment has used them.
    // Resolves to the fields they add to a post.
    token() {
      if (!this.tokenP || Date.now() > this.tokenUntil) {
        this.tokenUntil = Infinity;
        this.tokenP = fetch(`${API}/api/v1/form-token?article=${encodeURIComponent(this.article)}`)
          .then((res) => (res.ok ? res.json() : Promise.reject(res)))
          .then((data) => {
            const ends = [Date.now() + data.expires_in * 1000];
            if (data.altcha) ends.push(data.altcha.parameters.expiresAt * 1000);
            this.tokenUntil = Math.min(...ends) - 60000;
            Object.assign(this.limits, data.limits);
            const work = data.altcha ? solvePow(data.altcha) : null;
            return { form_token: data.token, work };
          })
          .catch(() => {
            this.tokenP = null; // the post goes without one (the scorer weighs that); retry later
            return { form_token: null };
          });
      }
      return this.tokenP;
    }

    replyTo(c, li, opener) {
      this.parent = c;
      this.opener = opener;
      li.querySelector(":scope > article").after(this.form);
      this.title.textContent = t("reply_to", { name: c.name });
      this.cancel.hidden = false;
      this.form.elements.comment.focus();
    }

    cancelReply() {
      const opener = this.opener;
      this.parent = this.opener = null;
      this.home.append(this.form);
      this.title.textContent = t("title");
      this.cancel.hidden = true;
      opener?.focus();
    }

    say(text, bad = false) {
      this.status.textContent = text;
      this.status.classList.toggle("bad", bad);
    }

    // errors: field name to [code, limit] (ours) or [code, limit, the server's message].
    showErrors(errors) {
      for (const name of FIELDS) {
        const control = this.form.elements[name];
        const [code, n, message] = errors[name] || [];
        const text = STRINGS.en[code] ? t(code, { field: t(name), n }) : message;
        this.root.getElementById(`${name}-error`).textContent = code ? text : "";
        if (code) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
      const first = FIELDS.find((name) => errors[name]);
      if (first) {
        this.say(t("fix"), true);
        this.form.elements[first].focus();
      }
      return !!first;
    }

    async submit(event) {
      event.preventDefault();
      if (this.busy) return;
      const el = this.form.elements;
      const values = {};
      for (const name of FIELDS) values[name] = el[name].value.replace(/\r\n?/g, "\n").trim();
      const { form_token, work } = await this.token();
      if (this.showErrors(check(values, this.limits))) return;
      this.busy = this.button.disabled = true;
      this.say(t("posting"));
      const altcha = work ? await work : null; // long solved, unless the reader was very quick
      const body = JSON.stringify({
        ...values,
        website: values.website || null,
        article: this.article,
        parent_id: this.parent?.id || null,
        notify_replies: el.notify_replies.checked,
        form_token,
        // Only a solution claims the widget's proof of work: without one (no WebCrypto), the
        // comment goes as a reader's without JavaScript does.
        ...(altcha ? { altcha } : {}),
        commenter_key: ownKey(COMMENTER_KEY),
        [HONEYPOT]: el[HONEYPOT].value || null,
        article_url: location.href.split("#")[0],
        title: document.title.slice(0, 300) || null,
      });
      // One key per content: a retry after a lost answer can never post twice.
      if (body !== this.lastBody) [this.lastBody, this.idempotencyKey] = [body, randomKey()];
      let res, data;
      try {
        res = await fetch(`${API}/api/v1/comments`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": this.idempotencyKey },
          body,
        });
        data = await res.json().catch(() => ({}));
      } catch {
        res = null;
      } finally {
        this.busy = this.button.disabled = false;
      }
      if (res && res.status === 202) {
        this.tokenP = null; // both are used now: the next comment gets its own
        if (data.edit_token) {
          const until = Date.now() + data.edit_expires_in * 1000;
          store.set(EDITS_KEY, [...editsAll(), { id: data.id, token: data.edit_token, until }]);
        }
        return this.posted(data.id, values, el.save.checked);
      }
      const error = data?.error || {};
      if (res && res.status === 422 && error.fields) {
        const known = {};
        for (const [name, problem] of Object.entries(error.fields)) {
          if (FIELDS.includes(name)) {
            known[name] = [problem.code, this.limits[name], problem.message];
          }
        }
        if (this.showErrors(known)) return;
        return this.say(error.fields.parent_id ? t("parent_gone") : error.message, true);
      }
      if (res && res.status === 429) {
        return this.say(t("rate_limited", { s: res.headers.get("Retry-After") || 60 }), true);
      }
      if (res && res.status === 403 && error.code) return this.say(t(error.code), true);
      this.say(t("unavailable"), true);
    }

    posted(id, values, save) {
      if (save) {
        store.set(AUTHOR_KEY, { name: values.name, email: values.email, website: values.website });
      } else {
        store.remove(AUTHOR_KEY);
      }
      const mine = {
        id,
        api: API,
        article: this.article,
        parent_id: this.parent?.id || null,
        name: values.name,
        website: values.website || null,
        text: values.comment,
        created_at: new Date().toISOString(),
      };
      pendingSave([...pendingAll(), mine]);
      this.cancelReply();
      this.place(mine);
      const el = this.form.elements;
      el.comment.value = "";
      el.notify_replies.checked = false;
      if (!save) for (const key of ["name", "email", "website"]) el[key].value = "";
      this.lastBody = null;
      this.say(t("thanks"));
    }
  }

  // "N comments" on links with data-count, for every such link on the page, in one request.
  const showCounts = () => {
    const links = [...document.querySelectorAll("a[data-count]:not([data-count-shown])")];
    if (!links.length) return;
    const articles = links.map((a) => {
      a.setAttribute("data-count-shown", "");
      return a.dataset.count || a.href.split("#")[0];
    });
    const query = [...new Set(articles)]
      .slice(0, 100)
      .map((a) => `article=${encodeURIComponent(a)}`)
      .join("&");
    fetch(`${API}/api/v1/counts?${query}`)
      .then((res) => (res.ok ? res.json() : null))
      .then((data) => {
        if (!data) return;
        for (const [i, a] of links.entries()) {
          const count = data.counts[articles[i]];
          if (count != null) a.textContent = countText(count);
        }
      })
      .catch(() => {});
  };

  const start = () => {
    showCounts();
    const host = document.getElementById(opt.target || "comments");
    if (!host || host.shadowRoot) return; // nothing to show here, or already shown
    const canonical = document.querySelector('link[rel="canonical"]');
    new Thread(host, opt.article || canonical?.href || location.origin + location.pathname);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
