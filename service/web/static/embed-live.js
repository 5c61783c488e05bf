/*! embed-live.js: the comments widget's live updates, imported by embed.js once the thread is
 * on the page. New comments are announced ("N new comments") and inserted only when the reader
 * clicks, so nothing moves under their eyes (embed.js reserves the announcement's line); edits,
 * votes and removals show where the comment stands. Events come from GET /api/v1/stream
 * (service/web/routes/stream.py); without EventSource, or once it gave up, the first page is
 * re-fetched every POLL_MS instead. An ES module: no globals; `x` is what embed.js shares. */

const POLL_MS = 30000;
// Live readers all hear a change at once: their re-fetches spread over this long.
const JITTER_MS = 2000;
const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * JITTER_MS));

export default (x) => (th) => {
  const { flat, content } = x;
  const fresh = new Set();
  const known = new Set();
  const bar = th.bar;
  const announce = (ids, count) => {
    for (const id of ids) if (!th.shown(id) && !known.has(id)) fresh.add(id);
    if (count != null) th.heading.textContent = x.countText(count);
    bar.textContent = fresh.size ? x.pl("new", fresh.size) : "";
    bar.toggleAttribute("aria-hidden", !fresh.size);
  };
  const newest = () => th.page("sort=newest");
  bar.onclick = async () => {
    let first;
    try {
      for (const c of flat(await newest()).reverse()) {
        if (!fresh.has(c.id) || th.shown(c.id)) continue;
        const parent = c.parent_id && th.shown(c.parent_id);
        if (c.parent_id && !parent) continue; // its parent is on a page not shown
        const depth = parent ? Number(parent.dataset.depth) + 1 : 1;
        const li = th.render({ ...c, replies: [], replies_cursor: null }, depth);
        let list = parent ? parent.querySelector(":scope > ol") : th.list;
        if (!list) {
          list = th.replies(depth - 1);
          parent.append(list);
        }
        const more = list.querySelector(":scope > .more");
        if (!parent && x.sort === "newest") list.prepend(li);
        else list.insertBefore(li, more);
        first ||= li.firstChild;
      }
    } catch {}
    // The button hides now: focus goes to what it brought (a keyboard reader reads on there).
    first?.setAttribute("tabindex", -1);
    first?.focus();
    for (const id of fresh) known.add(id);
    fresh.clear();
    announce([]);
    th.loadStatus.textContent = "";
  };

  // A comment shown before, as the service sends it now: its line, text and votes in place.
  const refresh = (c) => {
    const li = th.shown(c.id);
    const article = li?.querySelector(":scope > article");
    if (!article || li.classList.contains("pending")) return;
    article.querySelector(".meta").replaceWith(th.meta(c));
    // Absent while its author edits it: their save shows their text.
    article.querySelector(".text")?.replaceChildren(...content(c));
    const vote = article.querySelector(".vote");
    if (vote) x.showVotes(vote, c.votes?.up || 0);
  };

  // A shown comment's text changed: its page again, and the comment updated where it stands.
  const update = async (id) => {
    const query = th.src.get(id);
    if (query == null) return;
    await jitter();
    const found = flat(await th.page(query).catch(() => ({ comments: [] })));
    const c = found.find((f) => f.id === id);
    if (c) refresh(c);
  };

  // The service cannot say what changed: the pages shown are fetched again, their comments
  // updated where they stand, new ones announced (not inserted), and shown ones that no page
  // brought back are asked after and taken away if they are no longer published.
  const refetch = async () => {
    await jitter();
    const back = new Set();
    let count;
    for (const query of new Set(th.src.values())) {
      let data;
      try {
        data = await th.page(query);
      } catch {
        continue; // a cursor too old: that page stays as it is
      }
      count = data.count;
      for (const c of flat(data)) {
        back.add(c.id);
        if (th.shown(c.id)) refresh(c);
      }
    }
    announce([...back], count);
    const missing = [...th.src.keys()].filter((id) => !back.has(id) && th.shown(id));
    for (let i = 0; i < missing.length; i += 50) {
      const ids = missing.slice(i, i + 50);
      try {
        const res = await x.api(`/api/v1/comment-status?${ids.map((id) => `id=${id}`).join("&")}`);
        const { statuses } = await res.json();
        for (const id of ids) if (statuses[id] !== "approved") th.shown(id)?.remove();
      } catch {}
    }
  };

  const poll = async () => {
    if (th.polling) return;
    th.polling = true;
    const first = await newest().catch(() => ({ comments: [] }));
    for (const c of flat(first)) known.add(c.id); // what was there before: not "new"
    setInterval(async () => {
      try {
        const data = await newest();
        announce(
          flat(data).map((c) => c.id),
          data.count,
        );
        for (const c of flat(data)) if (th.shown(c.id)) refresh(c); // edits and votes, too
      } catch {}
    }, POLL_MS);
  };
  if (!window.EventSource) return poll();
  // From where the first page was read: what changed while it travelled and this module
  // loaded is replayed (a reconnect sends Last-Event-ID, which takes over).
  const from = th.liveFrom ? `&last_event_id=${encodeURIComponent(th.liveFrom)}` : "";
  const es = new EventSource(
    `${x.API}/api/v1/stream?article=${encodeURIComponent(th.article)}${from}`,
  );
  const on = (kind, f) =>
    es.addEventListener(kind, (e) => {
      try {
        f(JSON.parse(e.data));
      } catch {}
    });
  on("published", (d) => {
    const li = th.shown(d.id);
    if (li?.classList.contains("pending")) {
      // One's own comment, published while shown as awaiting moderation.
      li.classList.remove("pending");
      li.querySelector(":scope > article > .notice")?.remove();
      x.pendingSave(x.pendingAll().filter((p) => p.id !== d.id));
    }
    announce([d.id], d.count);
  });
  on("edited", (d) => update(d.id));
  on("removed", (d) => {
    fresh.delete(d.id);
    const li = th.shown(d.id);
    // The reader's own, edited (or being edited): it waits for the moderators again, and
    // stays in view for its author.
    if (li && !li.matches(".pending, .mine")) li.remove();
    announce([], d.count);
  });
  on("voted", (d) => {
    const button = th.shown(d.id)?.querySelector(":scope > article .vote");
    if (button) x.showVotes(button, d.up);
    announce([], d.count);
  });
  on("changed", refetch); // a moderator's pick, an import: the thread as a whole
  on("refetch", refetch);
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) poll(); // it stopped retrying
  };
};
