/*! embed-form.js: what the comments widget needs only once a reader acts, loaded by embed.js on
 * the reader's first focus or click (or when the page is idle): posting a comment with its checks,
 * form token and proof of work, editing and deleting one's own comment, and the report dialog.
 * An ES module: it defines no globals, and embed.js hands it the helpers it shares (`x`). */

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
if (typeof document === "undefined") pow(self); // this file, started as a (module) Worker

// Solves a challenge off the main thread: in a Worker from this very file when the page shares
// its origin, else from a Blob (a page's CSP needs `worker-src blob:` for that). Where a CSP
// refuses both it solves here: WebCrypto works off the main thread even then, so the page
// stays responsive. Resolves to the `altcha` field's value, or null (no solution: the
// comment goes without one and is held).
const solvePow = (challenge) =>
  new Promise((resolve) => {
    const done = (solution) => resolve(solution && btoa(JSON.stringify({ challenge, solution })));
    const here = () => pow()(challenge).then(done, () => done(null));
    const source = import.meta.url;
    let worker;
    let blob;
    try {
      if (new URL(source).origin === location.origin) {
        worker = new Worker(source, { type: "module" });
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

// Same limits and rules as service/core/validation.py; the server stays the authority.
// Control characters (\p{Cc}: U+0000-001F, U+007F-009F) and bidi overrides; text may keep \t \n.
const BAD_IN_LINE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
const BAD_IN_TEXT = /(?![\t\n])[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

// The English words only these actions use (embed.js has the rest; other languages have all).
const WORDS = {
  posting: "Posting…",
  thanks: "Thank you. Your comment is awaiting moderation.",
  required: "{field} is required.",
  too_long: "{field} must be at most {n} characters.",
  invalid_email: "Enter a valid email address.",
  invalid_url: "{field} must be an http(s) URL with a host.",
  invalid_characters: "{field} contains control characters.",
  fix: "Please correct the marked fields.",
  rate_limited: "Too many comments. Please try again in {s} seconds; your text is kept.",
  parent_gone: "The comment you are replying to is no longer available.",
  save_edit: "Save",
  cancel_edit: "Cancel",
  edit_closed: "The time to edit or delete this comment has passed.",
  reason: "Reason",
  spam: "Spam",
  abuse: "Abuse or harassment",
  "off-topic": "Off topic",
  illegal: "Illegal content",
  statement: "Why is it illegal? (required for illegal content)",
  send_report: "Send report",
  reported: "Thank you. The moderators will look at it.",
};

export default (x) => {
  Object.assign(x.EN, WORDS);
  const { t, h, store, FIELDS, HONEYPOT } = x;
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
      } else if (field === "website" && !x.isHttpUrl(value)) {
        errors[field] = ["invalid_url"];
      }
    }
    return errors;
  };

  // The signed token proves when the form was shown, and brings the proof of work, solved
  // while the reader types: fetched on first focus, again once a comment has used them.
  // Resolves to the fields they add to a post.
  const token = (th) => {
    if (!th.tokenP || Date.now() > th.tokenUntil) {
      th.tokenUntil = Infinity;
      th.tokenP = x
        .api(`/api/v1/form-token?article=${encodeURIComponent(th.article)}`)
        .then((res) => (res.ok ? res.json() : Promise.reject(res)))
        .then((data) => {
          const ends = [Date.now() + data.expires_in * 1000];
          if (data.altcha) ends.push(data.altcha.parameters.expiresAt * 1000);
          th.tokenUntil = Math.min(...ends) - 60000;
          Object.assign(th.limits, data.limits);
          const work = data.altcha ? solvePow(data.altcha) : null;
          return { form_token: data.token, work };
        })
        .catch(() => {
          th.tokenP = null; // the post goes without one (the scorer weighs that); retry later
          return { form_token: null };
        });
    }
    return th.tokenP;
  };

  // errors: field name to [code, limit] (ours) or [code, limit, the server's message].
  const showErrors = (th, errors) => {
    for (const name of FIELDS) {
      const control = th.form.elements[name];
      const [code, n, message] = errors[name] || [];
      const text = code in WORDS ? t(code, { field: t(name), n }) : message;
      th.root.getElementById(`${name}-error`).textContent = code ? text : "";
      if (code) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    const first = FIELDS.find((name) => errors[name]);
    if (first) {
      th.say(t("fix"), true);
      th.form.elements[first].focus();
    }
    return !!first;
  };

  const submit = async (th) => {
    if (th.busy) return;
    const el = th.form.elements;
    const values = {};
    for (const name of FIELDS) values[name] = el[name].value.replace(/\r\n?/g, "\n").trim();
    const { form_token, work } = await token(th);
    if (showErrors(th, check(values, th.limits))) return;
    th.busy = th.button.disabled = true;
    th.say(t("posting"));
    const altcha = work ? await work : null; // long solved, unless the reader was very quick
    const body = JSON.stringify({
      ...values,
      website: values.website || null,
      article: th.article,
      parent_id: th.parent?.id || null,
      notify_replies: el.notify_replies.checked,
      form_token,
      // Only a solution claims the widget's proof of work: without one (no WebCrypto), the
      // comment goes as a reader's without JavaScript does.
      ...(altcha ? { altcha } : {}),
      commenter_key: x.ownKey(x.COMMENTER_KEY),
      [HONEYPOT]: el[HONEYPOT].value || null,
      article_url: location.href.split("#")[0],
      title: document.title.slice(0, 300) || null,
    });
    // One key per content: a retry after a lost answer can never post twice.
    if (body !== th.lastBody) [th.lastBody, th.idempotencyKey] = [body, x.randomKey()];
    let res, data;
    try {
      res = await x.api("/api/v1/comments", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": th.idempotencyKey },
        body,
      });
      data = await res.json().catch(() => ({}));
    } catch {
      res = null;
    } finally {
      th.busy = th.button.disabled = false;
    }
    if (res && res.status === 202) {
      th.tokenP = null; // both are used now: the next comment gets its own
      if (data.edit_token) {
        const until = Date.now() + data.edit_expires_in * 1000;
        store.set(x.EDITS_KEY, [...x.editsAll(), { id: data.id, token: data.edit_token, until }]);
      }
      return posted(th, data.id, values, el.save.checked);
    }
    const error = data?.error || {};
    if (res && res.status === 422 && error.fields) {
      const known = {};
      for (const [name, problem] of Object.entries(error.fields)) {
        if (FIELDS.includes(name)) known[name] = [problem.code, th.limits[name], problem.message];
      }
      if (showErrors(th, known)) return;
      return th.say(error.fields.parent_id ? t("parent_gone") : error.message, true);
    }
    if (res && res.status === 429) {
      return th.say(t("rate_limited", { s: res.headers.get("Retry-After") || 60 }), true);
    }
    // A refusal the widget has words for, else the service's own (in the reader's language).
    if (res && res.status === 403 && error.code) {
      return th.say(x.EN[error.code] ? t(error.code) : error.message || t("unavailable"), true);
    }
    th.say(t("unavailable"), true);
  };

  const posted = (th, id, values, save) => {
    if (save) {
      store.set(x.AUTHOR_KEY, { name: values.name, email: values.email, website: values.website });
    } else {
      store.remove(x.AUTHOR_KEY);
    }
    const mine = {
      id,
      api: x.API,
      article: th.article,
      parent_id: th.parent?.id || null,
      name: values.name,
      website: values.website || null,
      text: values.comment,
      created_at: new Date().toISOString(),
    };
    x.pendingSave([...x.pendingAll(), mine]);
    th.cancelReply();
    th.place(mine);
    const el = th.form.elements;
    el.comment.value = "";
    el.notify_replies.checked = false;
    if (!save) for (const key of ["name", "email", "website"]) el[key].value = "";
    th.lastBody = null;
    th.say(t("thanks"));
  };

  // "Report": a reason, and for illegal content the statement the service requires.
  const report = (c, button) => {
    const reason = h(
      "select",
      null,
      ...["spam", "abuse", "off-topic", "illegal"].map((r) => h("option", { value: r }, t(r))),
    );
    const statement = h("textarea", { rows: 3 });
    const note = h("p", { class: "err", role: "status" });
    const send = async () => {
      const body = { reader: x.ownKey(x.READER_KEY), reason: reason.value };
      if (statement.value.trim()) body.statement = statement.value;
      const res = await x
        .api(`/api/v1/comments/${c.id}/reports`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        })
        .catch(() => null);
      if (res?.status === 202) {
        // Focus was in the dialog: it moves to the answer, not to the top of the page.
        const done = h("p", { class: "notice", role: "status", tabindex: -1 }, t("reported"));
        box.replaceWith(done);
        done.focus();
      } else {
        const error = (await res?.json().catch(() => null))?.error;
        note.textContent = error?.fields?.statement?.message || t("unavailable");
      }
    };
    const box = h(
      "div",
      { class: "report", role: "group", "aria-label": t("report") },
      h("label", null, t("reason"), reason),
      h("label", null, t("statement"), statement),
      note,
      h("button", { type: "button", class: "act", onclick: send }, t("send_report")),
    );
    button.replaceWith(box);
    reason.focus();
  };

  // Edit and Delete on this browser's own comments while their edit token lasts.
  const call = (c, mine, method, body) =>
    x
      .api(`/api/v1/comments/${c.id}`, {
        method,
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${mine.token}` },
        body: body && JSON.stringify(body),
      })
      .catch(() => null);
  const closed = (li, c, res) => {
    if (res?.status !== 403) return false;
    x.forget(x.EDITS_KEY, c.id);
    for (const b of li.querySelectorAll(":scope > article .act")) b.remove();
    li.firstChild.append(h("p", { class: "notice" }, t("edit_closed")));
    return true;
  };
  const edit = (th, c, mine, li) => {
    const text = li.querySelector(":scope > article .text");
    const area = h("textarea", { "aria-label": t("comment"), rows: 4 });
    area.value = c.text;
    const act = (key, onclick) => h("button", { type: "button", class: "act", onclick }, t(key));
    const box = h(
      "div",
      null,
      area,
      act("save_edit", async () => {
        const res = await call(c, mine, "PATCH", { comment: area.value });
        if (closed(li, c, res) || res?.status !== 202) return;
        c.text = area.value;
        box.replaceWith(h("div", { class: "text" }, ...x.paragraphs(c.text)));
        // Scored again: awaiting moderation, here and after a reload, until published.
        li.classList.add("pending");
        li.firstChild.append(h("p", { class: "notice" }, t("pending")));
        const { id, parent_id, name, website, created_at } = c;
        x.forget(x.PENDING_KEY, id);
        x.pendingSave([
          ...x.pendingAll(),
          {
            id,
            parent_id,
            name,
            website,
            text: c.text,
            created_at,
            api: x.API,
            article: th.article,
          },
        ]);
      }),
      act("cancel_edit", () => box.replaceWith(text)),
    );
    text.replaceWith(box);
    area.focus();
  };
  const remove = async (c, mine, li) => {
    const res = await call(c, mine, "DELETE");
    if (closed(li, c, res) || ![204, 404].includes(res?.status)) return;
    x.forget(x.EDITS_KEY, c.id);
    x.forget(x.PENDING_KEY, c.id);
    li.remove();
  };

  return { token, submit, report, edit, remove };
};
