/*! embed.js: the comments widget. One script tag per thread:
 *   <div id="comments"></div>
 *   <script src="https://comments.example.org/embed.js" data-article="my-article" async></script>
 * Options (data-* on the script tag): article (default: the canonical URL), target (element id,
 * default "comments"), api (default: this script's origin), lang (en, de, es, fr, ru, zh;
 * default: the page's lang, then the browser's), theme (light, dark, auto), sort (oldest,
 * newest, top), max-depth (levels of reply indentation, default 3).
 * Links with data-count="<article>" get "N comments" without loading any thread.
 * Vanilla JavaScript, no dependencies. Everything renders inside a Shadow DOM, so the page's CSS
 * and ours never meet; theme it with the --comments-* custom properties listed in CSS below.
 * What a reader needs only once they act (posting, editing, reporting) is embed-form.js, and
 * languages other than English are embed-<lang>.js: ES modules beside this file, imported on
 * demand, so they define no globals either.
 * User text only ever reaches the page as text nodes and checked attributes, never as HTML. */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const opt = script.dataset;
  const API = (opt.api || new URL(script.src).origin).replace(/\/+$/, "");
  // The service writes the pinned names of the parts here when it serves this file
  // (service/web/assets.py), so a pinned embed.js always loads the parts it was built with.
  const PARTS = {};
  const part = (name) =>
    import(new URL(`embed-${PARTS[name] || name}.js`, script.src).href).then((m) => m.default);
  const HONEYPOT = "contact_phone"; // service/core/validation.py HONEYPOT_FIELD
  const FIELDS = ["comment", "name", "email", "website"];
  const PENDING_KEY = "comments.pending";
  const AUTHOR_KEY = "comments.author";
  const COMMENTER_KEY = "comments.commenter";
  const READER_KEY = "comments.reader"; // votes: another key, so votes say nothing of trust
  const VOTED_KEY = "comments.voted";
  const EDITS_KEY = "comments.edits"; // edit tokens of this browser's comments, until they expire
  const PENDING_DAYS = 30;

  // Every string the widget shows, in English; {x} are placeholders. Other languages: one
  // embed-<lang>.js each, with the same keys (plural forms as key_<Intl.PluralRules category>).
  const EN = {
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
    pending: "Your comment is awaiting moderation.",
    unavailable: "The comment service could not be reached. Please try again; your text is kept.",
    leave_empty: "Leave this field empty",
    more: "Load more comments",
    more_one: "Show {n} more reply",
    more_other: "Show {n} more replies",
    vote: "Vote up ({n})",
    edit: "Edit",
    delete: "Delete",
    confirm_delete: "Really delete?",
    edited: "edited",
    thread_closed: "Comments on this article are closed.",
    featured: "Featured",
    staff: "Staff",
    report: "Report",
  };
  // The reader's language: the script tag's, else the page's, else the browser's; English when
  // none of them is one we have. English is built in; the others load as embed-<lang>.js.
  const LANGS = ["en", "de", "es", "fr", "ru", "zh"];
  const LANG =
    [opt.lang, document.documentElement.lang, navigator.language]
      .map((tag) => (tag || "").toLowerCase().split("-")[0])
      .find((tag) => LANGS.includes(tag)) || "en";
  let strings = EN;
  const catalogue =
    LANG === "en"
      ? Promise.resolve()
      : part(LANG).then(
          (table) => {
            strings = table;
          },
          () => {}, // not loaded: English words, in the reader's own number and date formats
        );
  const t = (key, vars = {}) =>
    (strings[key] || EN[key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);
  // Plural forms by the language's rules (Russian has one, few and many): key_<category>,
  // else key_other.
  const plural = new Intl.PluralRules(LANG);
  const pl = (key, n) => {
    const exact = `${key}_${plural.select(n)}`;
    return t(strings[exact] || EN[exact] ? exact : `${key}_other`, { n });
  };
  const countText = (n) => pl("count", n);
  // Asking the service in the reader's language: it translates its own messages by it.
  const api = (path, init = {}) =>
    fetch(API + path, { ...init, headers: { "Accept-Language": LANG, ...init.headers } });
  const PAGE = 20; // top-level comments (or replies) a page brings; the server caps it at 50

  // Same limits and rules as service/core/validation.py; the server stays the authority.
  const LIMITS = { comment: 10000, name: 100, email: 254, website: 200 };
  const isHttpUrl = (value) => {
    try {
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) && !!url.hostname && !/\s/.test(value);
    } catch {
      return false;
    }
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
  const dates = new Intl.DateTimeFormat(LANG, { dateStyle: "long", timeStyle: "short" });
  const exact = (iso) => dates.format(new Date(iso));

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
    .bar { position: sticky; top: 0; min-height: 1.5em }
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

  // What the parts need of this file (embed-form.js, embed-live.js).
  const shared = () => ({
    ...{ API, FIELDS, HONEYPOT, AUTHOR_KEY, COMMENTER_KEY, READER_KEY, EDITS_KEY, PENDING_KEY },
    ...{
      EN,
      t,
      pl,
      h,
      api,
      store,
      isHttpUrl,
      ownKey,
      randomKey,
      paragraphs,
      content,
      countText,
      flat,
    },
    ...{ pendingAll, pendingSave, editsAll, forget, showVotes, sort: opt.sort },
  });
  // The reader's own actions, loaded once (embed-form.js): on their first focus or click, or
  // earlier when the page is idle.
  let formPart;
  const actions = () => {
    formPart ||= part("form")
      .then((make) => make(shared()))
      .catch((error) => {
        formPart = null; // offline for a moment: the next focus or click tries again
        throw error;
      });
    return formPart;
  };
  // The vote button's count, and whether this browser voted for the comment.
  const showVotes = (button, n, done) => {
    button.textContent = `▲ ${n}`;
    button.setAttribute("aria-label", t("vote", { n }));
    if (done != null) button.setAttribute("aria-pressed", done);
  };
  // The thread's first page, in the order the site asked for.
  const FIRST = `sort=${["newest", "top"].includes(opt.sort) ? opt.sort : "oldest"}`;
  // One page of a thread; throws the error body (or null) if the answer is not a page.
  const getPage = async (article, query) => {
    const thread = encodeURIComponent(article);
    const res = await api(`/api/v1/comments?article=${thread}&limit=${PAGE}&${query}`);
    const data = await res.json().catch(() => null);
    if (!res.ok || !data) throw data;
    return data;
  };
  // A page's comments, top level and first replies, in one list.
  const flat = (data) => data.comments.flatMap((c) => [c, ...(c.replies || [])]);

  class Thread {
    constructor(host, article) {
      this.article = article;
      this.maxDepth = Number(opt.maxDepth) || 3;
      this.limits = { ...LIMITS };
      this.parent = null;
      this.src = new Map(); // comment id to the query of the page it came with
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
      // The line where "N new comments" appears, its space kept from the start (embed-live.js).
      // A live region, so screen readers hear the announcement too.
      this.bar = h("button", { type: "button", class: "link fresh", "aria-hidden": "true" });
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
          h("div", { class: "bar", role: "status" }, this.bar),
          this.loadStatus,
          this.list,
          this.home,
        ),
      );
    }

    shown(id) {
      return this.root.getElementById(`c-${id}`);
    }

    // One page of the thread; each comment remembers the query it came with, so a live
    // change fetches that page again.
    async page(query) {
      const data = await getPage(this.article, query);
      for (const c of flat(data)) this.src.set(c.id, query);
      return data;
    }

    async load(first) {
      let data;
      try {
        data = await first;
      } catch (error) {
        const code = error?.error?.code;
        return this.failed(code === "origin_not_allowed" ? code : "load_failed");
      }
      for (const c of flat(data)) this.src.set(c.id, FIRST);
      this.liveFrom = data.live; // the stream resumes here: nothing between is missed
      this.more(this.list, data, 1);
      if (data.closed) this.closeThread();
      this.heading.textContent = countText(data.count);
      this.loadStatus.textContent = data.count ? "" : t("empty");
      this.showPending();
      // Then what the reader needs next: live updates at once, their own actions when idle.
      part("live").then(
        (make) => make(shared())(this),
        () => {},
      );
      (window.requestIdleCallback || setTimeout)(() => actions().catch(() => {}));
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
        this.shown(c.id)?.remove(); // shown as pending, published since
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
                const next = await this.page(`cursor=${encodeURIComponent(data.next_cursor)}`);
                item.remove();
                this.more(list, next, depth, left && left - next.comments.length);
              } catch {
                e.target.disabled = false;
              }
            },
          },
          left ? pl("more", left) : t("more"),
        ),
      );
      list.append(item);
    }

    // One up-vote a comment from this browser; the service keeps only a keyed hash of its key.
    voteButton(c) {
      const button = h("button", {
        type: "button",
        class: "vote",
        onclick: async () => {
          if (button.getAttribute("aria-pressed") === "true") return;
          button.disabled = true;
          try {
            const res = await api(`/api/v1/comments/${c.id}/vote`, {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ reader: ownKey(READER_KEY) }),
            });
            if (res.ok) {
              showVotes(button, (await res.json()).votes.up, true);
              store.set(VOTED_KEY, [c.id, ...store.get(VOTED_KEY, [])].slice(0, 500));
            }
          } catch {}
          button.disabled = false;
        },
      });
      showVotes(button, c.votes?.up || 0, store.get(VOTED_KEY, []).includes(c.id));
      return button;
    }

    // The reader's own actions run in embed-form.js, loaded on the first one if not yet.
    act(f) {
      return actions().then(f, () => this.say(t("unavailable"), true));
    }

    // "Report" opens a reason and, for illegal content, the statement the service requires.
    reportButton(c) {
      const button = h(
        "button",
        { type: "button", class: "rep", onclick: () => this.act((x) => x.report(c, button)) },
        t("report"),
      );
      return button;
    }

    // Edit and Delete on this browser's own comments while their edit token lasts.
    ownButtons(c, item) {
      const mine = editsAll().find((e) => e.id === c.id);
      if (!mine) return [];
      const act = (key, onclick) => h("button", { type: "button", class: "act", onclick }, t(key));
      const edit = act("edit", () => this.act((x) => x.edit(this, c, mine, item())));
      const del = act("delete", () => {
        if (!del.dataset.sure) {
          del.dataset.sure = 1;
          del.textContent = t("confirm_delete"); // asks once more
          return;
        }
        this.act((x) => x.remove(c, mine, item()));
      });
      return [edit, del];
    }

    failed(key) {
      this.loadStatus.textContent = t(key);
      this.loadStatus.classList.add("bad");
      if (key === "origin_not_allowed") this.form.remove();
    }

    // The line above a comment's text: its author, when, whether edited, and its badges.
    meta(c) {
      const name =
        c.website && isHttpUrl(c.website)
          ? h("a", { class: "author", href: c.website, rel: "nofollow ugc noopener" }, c.name)
          : h("span", { class: "author" }, c.name);
      return h(
        "div",
        { class: "meta" },
        name,
        " · ",
        h("time", { datetime: c.created_at, title: exact(c.created_at) }, ago(c.created_at)),
        c.edited ? ` · ${t("edited")}` : null,
        ...badges(c),
      );
    }

    render(c, depth, own = false) {
      const mine = this.ownButtons(c, () => li);
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
        this.meta(c),
        h("div", { class: "text" }, ...content(c)),
        own ? h("p", { class: "notice" }, t("pending")) : null,
        own ? null : this.voteButton(c),
        replyButton,
        ...mine,
        own ? null : this.reportButton(c),
      );
      const kind = `c${own ? " pending" : ""}${mine.length ? " mine" : ""}`;
      const li = h("li", { class: kind, id: `c-${c.id}`, "data-depth": depth }, body);
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
        const res = await api(`/api/v1/comment-status?${query}`);
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
          onsubmit: (e) => {
            e.preventDefault();
            this.act((x) => x.submit(this));
          },
          // The token and its proof of work, solved while the reader types.
          onfocusin: () => this.act((x) => x.token(this)),
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
    api(`/api/v1/counts?${query}`)
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
    const host = document.getElementById(opt.target || "comments");
    if (!host || host.shadowRoot) return catalogue.then(showCounts); // no thread here, or shown
    const canonical = document.querySelector('link[rel="canonical"]');
    const article = opt.article || canonical?.href || location.origin + location.pathname;
    // The first page and the reader's language load at once.
    const first = getPage(article, FIRST);
    first.catch(() => {}); // the thread's to handle, once the words to say it are here
    catalogue.then(() => {
      showCounts();
      new Thread(host, article).load(first);
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
