// app.js: the BirdWatch page. A Sente 1.21+ client (sente-protocol.md §2,
// §3.4, §4, §5.2, §6.2: v2 envelope, Transit JSON) and the BirdWatch UI
// (birdwatch.md §3, §4, §8, §9). Plain DOM, no dependencies beyond
// transit.js.
"use strict";

(() => {
  const kw = Transit.kw;
  const K = {
    handshake: kw("chsk/handshake"), wsPing: kw("chsk/ws-ping"), wsPong: kw("chsk/ws-pong"),
    timeout: kw("chsk/timeout"), dummyCb: kw("chsk/dummy-cb-200"), ajax: kw("ajax"),
    percolate: kw("cmd/percolate"), query: kw("cmd/query"), missing: kw("cmd/missing"),
    searchTweet: kw("search/tweet"), tweetNew: kw("tweet/new"), prevChunk: kw("tweet/prev-chunk"), missingTweet: kw("tweet/missing-tweet"),
    usersCount: kw("stats/users-count"), totalCount: kw("stats/total-tweet-count"),
  };

  // ---------------------------------------------------------------- Sente

  function randomId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // SenteClient is a channel socket of type :auto (WebSocket, Ajax when the
  // WebSocket never opens) or :ajax. Handlers: onState({open, transport,
  // retryIn}), onHandshake(uid, first), onEvent(id, data).
  class SenteClient {
    constructor({ path, csrfToken, type, onState, onHandshake, onEvent }) {
      this.path = path;
      this.csrfToken = csrfToken;
      this.type = type; // "auto" or "ajax"
      this.onState = onState;
      this.onHandshake = onHandshake;
      this.onEvent = onEvent;
      this.clientId = randomId();
      this.transport = type === "ajax" ? "ajax" : "ws";
      this.open = false;
      this.uid = null;
      this.handshakes = 0;
      this.retries = 0;
      this.callbacks = new Map(); // cb-uuid -> {fn, timer}
      this.ws = null;
      this.wsEverOpened = false;
      this.lastActivity = 0;
      this.kaliveTimer = null;
      this.retryTimer = null;
      this.pollAbort = null;
      this.generation = 0; // bumps on each (re)connect; stale sockets are ignored
    }

    connect() {
      this.generation++;
      if (this.transport === "ws") this.connectWS(); else this.pollLoop(this.generation);
    }

    setOpen(open, extra = {}) {
      this.open = open;
      this.onState({ open, transport: this.transport, ...extra });
    }

    // reconnect with backoff: the first retry at once, then uniformly in
    // [2^n, 2^(n+1)) × 500 ms like Sente 1.21, capped at 30 s here.
    scheduleReconnect() {
      clearTimeout(this.retryTimer);
      const n = this.retries++;
      const ms = n === 0 ? 0 : Math.min(30000, (2 ** n + Math.random() * 2 ** n) * 500);
      this.setOpen(false, { retryIn: ms });
      this.retryTimer = setTimeout(() => this.connect(), ms);
    }

    handleHandshake(data) {
      const [uid] = data;
      this.uid = uid;
      this.retries = 0;
      this.handshakes++;
      this.setOpen(true);
      this.onHandshake(uid, this.handshakes === 1);
    }

    deliver(ev) {
      if (!Array.isArray(ev) || !(ev[0] instanceof Transit.Keyword)) return;
      this.onEvent(ev[0], ev[1]);
    }

    newCallback(fn, timeoutMs) {
      const id = randomId().replace(/-/g, "").slice(0, 12);
      const timer = setTimeout(() => {
        this.callbacks.delete(id);
        fn(K.timeout);
      }, timeoutMs);
      this.callbacks.set(id, { fn, timer });
      return id;
    }

    runCallback(id, reply) {
      const cb = this.callbacks.get(id);
      if (!cb) return;
      this.callbacks.delete(id);
      clearTimeout(cb.timer);
      cb.fn(reply);
    }

    // send an event; cb (optional) gets the reply or :chsk/timeout /
    // :chsk/closed / :chsk/error. Returns false when not open.
    send(id, data, cb, timeoutMs = 10000) {
      const ev = data === undefined ? [id] : [id, data];
      if (!this.open) {
        if (cb) cb(kw("chsk/closed"));
        return false;
      }
      if (this.transport === "ws") {
        const cbId = cb ? this.newCallback(cb, timeoutMs) : null;
        this.lastActivity = Date.now();
        this.ws.send(Transit.write([ev, cbId]));
        return true;
      }
      this.post(ev, cb, timeoutMs);
      return true;
    }

    // ---- WebSocket

    connectWS() {
      const gen = this.generation;
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const q = new URLSearchParams({ "client-id": this.clientId });
      if (this.csrfToken) q.set("csrf-token", this.csrfToken);
      let ws;
      try {
        ws = new WebSocket(`${proto}//${location.host}${this.path}?${q}`);
      } catch (e) {
        this.downgradeOrRetry();
        return;
      }
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        if (gen !== this.generation) return;
        opened = true;
        this.wsEverOpened = true;
        this.lastActivity = Date.now();
        this.startKalive(gen);
      };
      ws.onmessage = (e) => {
        if (gen !== this.generation) return;
        this.lastActivity = Date.now();
        this.onWSMessage(e.data);
      };
      ws.onclose = () => {
        if (gen !== this.generation) return;
        this.stopKalive();
        this.failCallbacks();
        if (!opened && !this.wsEverOpened) this.downgradeOrRetry();
        else this.scheduleReconnect();
      };
      ws.onerror = () => {}; // onclose follows
    }

    downgradeOrRetry() {
      if (this.type === "auto" && !this.wsEverOpened) this.transport = "ajax";
      this.scheduleReconnect();
    }

    onWSMessage(text) {
      // Only v2 frames (a JSON array) are ours. While the server does not
      // know our generation it also writes older encodings ("+…"/"-…"),
      // which a 1.21 client drops.
      if (typeof text !== "string" || text[0] !== "[") return;
      let frame;
      try {
        frame = Transit.read(text);
      } catch (e) {
        return; // another generation's frame
      }
      if (!Array.isArray(frame) || frame.length !== 2) return;
      const [x, cbId] = frame;
      if (typeof cbId === "string") {
        this.runCallback(cbId, x);
        return;
      }
      if (x === K.wsPing) {
        this.ws.send(Transit.write([[K.wsPong], null]));
        return;
      }
      if (Array.isArray(x) && x[0] === K.handshake) {
        this.handleHandshake(x[1]);
        return;
      }
      if (Array.isArray(x)) for (const ev of x) this.deliver(ev);
    }

    // keep-alive: every 10 s without traffic, [:chsk/ws-ping] with a 5 s
    // callback; anything but "pong" drops the socket and reconnects.
    startKalive(gen) {
      this.stopKalive();
      this.kaliveTimer = setInterval(() => {
        if (gen !== this.generation || !this.open) return;
        if (Date.now() - this.lastActivity < 10000) return;
        this.send(K.wsPing, undefined, (reply) => {
          if (reply !== "pong" && gen === this.generation) this.reconnect();
        }, 5000);
      }, 10000);
    }

    stopKalive() {
      clearInterval(this.kaliveTimer);
      this.kaliveTimer = null;
    }

    failCallbacks() {
      for (const [id] of this.callbacks) this.runCallback(id, kw("chsk/closed"));
    }

    // reconnect drops the current connection and connects again.
    reconnect() {
      this.generation++;
      this.stopKalive();
      if (this.ws) {
        const ws = this.ws;
        this.ws = null;
        try { ws.close(3000, "SENTE_RECONNECT"); } catch (e) { /* already closed */ }
      }
      if (this.pollAbort) this.pollAbort.abort();
      this.failCallbacks();
      this.scheduleReconnect();
    }

    // ---- Ajax

    headers(extra) {
      const h = { "X-Requested-With": "XMLHTTPRequest", ...extra };
      if (this.csrfToken) h["X-CSRF-Token"] = this.csrfToken;
      return h;
    }

    async pollLoop(gen) {
      while (gen === this.generation) {
        const q = new URLSearchParams({ udt: String(Date.now()), "client-id": this.clientId });
        if (!this.open) q.set("handshake?", "1");
        const abort = new AbortController();
        this.pollAbort = abort;
        const timer = setTimeout(() => abort.abort(), 60000);
        let frame;
        try {
          const resp = await fetch(`${this.path}?${q}`, { headers: this.headers(), signal: abort.signal, cache: "no-store" });
          if (!resp.ok) throw new Error(`poll: HTTP ${resp.status}`);
          frame = Transit.read(await resp.text());
        } catch (e) {
          clearTimeout(timer);
          if (gen !== this.generation) return;
          this.generation++;
          this.scheduleReconnect();
          return;
        }
        clearTimeout(timer);
        if (gen !== this.generation) return;
        const x = Array.isArray(frame) ? frame[0] : undefined;
        if (x === K.timeout) continue;
        if (Array.isArray(x) && x[0] === K.handshake) {
          this.handleHandshake(x[1]);
          continue;
        }
        if (Array.isArray(x)) for (const ev of x) this.deliver(ev);
      }
    }

    async post(ev, cb, timeoutMs) {
      const body = new URLSearchParams({
        udt: String(Date.now()), "client-id": this.clientId,
        ppstr: Transit.write([ev, cb ? K.ajax : null]),
      });
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      try {
        const resp = await fetch(this.path, {
          method: "POST", body, signal: abort.signal, cache: "no-store",
          headers: this.headers({ "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8" }),
        });
        if (!resp.ok) throw new Error(`post: HTTP ${resp.status}`);
        const text = await resp.text();
        if (!text) throw new Error("post: empty reply");
        const frame = Transit.read(text);
        const reply = Array.isArray(frame) ? frame[0] : frame;
        if (cb) cb(reply);
      } catch (e) {
        if (cb) cb(abort.signal.aborted ? K.timeout : kw("chsk/error"));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  // ------------------------------------------------------------ BirdWatch

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  };
  const SVG = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs = {}) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };

  const PAGE = 20;
  const CHUNK = 500;
  const CHUNKS = 10;

  const state = {
    uid: null,
    search: "",
    tweets: new Map(),   // id_str -> tweet
    words: new Map(),    // word -> count
    queriesSent: 0,
    searchGen: 0,       // bumped by every search; stale callbacks compare it
    chunkQueue: [],
    sort: "latest",
    shown: PAGE,
    dirty: false,
    wordsDirty: false,
    missingAsked: new Set(),
  };

  function queryMap(text) {
    return { query_string: { default_field: "text", default_operator: "AND", query: `(${text}) AND lang:en` } };
  }

  function startSearch() {
    const text = $("search-input").value.trim() || "*";
    state.search = text;
    state.tweets.clear();
    state.words.clear();
    state.queriesSent = 0;
    // Pushes carry no search id (birdwatch.md §4.5), so history chunks are
    // asked for with a callback: each reply answers its own :cmd/query,
    // whichever server instance took it and in whatever order replies
    // come; and the :tag of :cmd/percolate makes the server send live
    // tweets as [:search/tweet [tag tweet]], tag being the search's
    // searchGen, so that those the previous search matched are dropped.
    state.chunkQueue = [];
    state.shown = PAGE;
    state.missingAsked.clear();
    $("total-count").textContent = "–";
    $("users-count").textContent = "–";
    const frag = "#" + encodeURIComponent(text);
    if (location.hash !== frag) history.replaceState(null, "", frag);
    document.title = `BirdWatch: ${text}`;
    state.dirty = state.wordsDirty = true;
    if (!sente.open) return; // the handshake starts it
    const q = queryMap(text);
    // The history queries go out once the server confirms the live query
    // (or after the callback times out): over Ajax, concurrent POSTs may
    // otherwise reach it in any order, and the first chunk could precede
    // the registration, letting the old search's live tweets through.
    const gen = ++state.searchGen;
    sente.send(K.percolate, { query: q, uid: state.uid, tag: gen }, () => {
      if (gen !== state.searchGen) return;
      for (let i = 0; i < 4; i++) sendQuery(gen);
    }, 5000);
  }

  // sendQuery asks for the next history chunk of search gen; its reply
  // is the chunk (the data of a :tweet/prev-chunk).
  function sendQuery(gen) {
    if (state.queriesSent >= CHUNKS) return;
    const from = CHUNK * state.queriesSent;
    const sent = sente.send(K.query, { query: queryMap(state.search), n: CHUNK, uid: state.uid, from }, (chunk) => {
      if (gen !== state.searchGen || !Array.isArray(chunk)) return; // stale, or :chsk/timeout
      state.chunkQueue.push(chunk);
      drainChunks();
      sendQuery(gen);
    }, 20000);
    if (sent) state.queriesSent++;
  }

  // Chunks are processed one at a time with a 50 ms pause between them.
  let chunkBusy = false;
  function drainChunks() {
    if (chunkBusy || state.chunkQueue.length === 0) return;
    chunkBusy = true;
    const chunk = state.chunkQueue.shift();
    for (const t of chunk) addTweet(t);
    setTimeout(() => { chunkBusy = false; drainChunks(); }, 50);
  }

  function addTweet(t) {
    if (!t || typeof t.id_str !== "string") return;
    const rs = t.retweeted_status;
    if (rs && typeof rs.id_str === "string") {
      const old = state.tweets.get(rs.id_str);
      if (!old || (rs.retweet_count || 0) > (old.retweet_count || 0)) {
        state.tweets.set(rs.id_str, { ...(old || {}), ...rs });
      }
    }
    const isNew = !state.tweets.has(t.id_str);
    state.tweets.set(t.id_str, t);
    if (isNew && typeof t.text === "string") countWords(t.text);
    state.dirty = true;
  }

  const STOP = new Set(("about above after again against all also and any are because been before being below between both but " +
    "can cannot could did does doing down during each few for from further had has have having here hers herself him himself his " +
    "how into its itself just let like more most much must myself nor not now off once only other ought our ours ourselves out " +
    "over own same she should some such than that the their theirs them themselves then there these they this those through " +
    "too under until very was were what when where which while who whom why will with would you your yours yourself yourselves " +
    "http https amp via").split(" "));

  function countWords(text) {
    for (const tok of text.split(/\s+/)) {
      if (!tok || tok.includes("@") || /https?:/i.test(tok)) continue;
      const w = tok.toLowerCase().replace(/[^\p{L}\p{N}'-]+/gu, "").replace(/^['-]+|['-]+$/g, "");
      if (w.length < 4 || w.length > 24 || STOP.has(w)) continue;
      state.words.set(w, (state.words.get(w) || 0) + 1);
    }
    state.wordsDirty = true;
  }

  // ---- rendering

  const idCmp = (a, b) => (a.length - b.length) || (a < b ? -1 : a > b ? 1 : 0);
  const original = (t) => (t.retweeted_status && state.tweets.get(t.retweeted_status.id_str)) || t;
  const rtCount = (t) => original(t).retweet_count || 0;
  const followers = (t) => (t.user && t.user.followers_count) || 0;

  function sorted() {
    const all = [...state.tweets.values()];
    const byId = (a, b) => idCmp(b.id_str, a.id_str);
    switch (state.sort) {
      case "retweets": return all.sort((a, b) => rtCount(b) - rtCount(a) || byId(a, b));
      case "followers": return all.sort((a, b) => followers(b) - followers(a) || byId(a, b));
      default: return all.sort(byId);
    }
  }

  const MONTHS = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
  // parseTwitterDate reads "Mon Dec 22 23:00:01 +0000 2014".
  function parseTwitterDate(s) {
    const m = /^\w{3} (\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})$/.exec(s || "");
    if (!m || !(m[1] in MONTHS)) return null;
    const off = (m[6] === "-" ? -1 : 1) * (Number(m[7]) * 60 + Number(m[8]));
    return new Date(Date.UTC(Number(m[9]), MONTHS[m[1]], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) - off * 60000);
  }

  function relTime(d) {
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < 60) return "just now";
    const units = [[60, "minute"], [24, "hour"], [30, "day"], [12, "month"], [Infinity, "year"]];
    let v = Math.floor(s / 60);
    for (const [n, name] of units) {
      if (v < n) return `${v} ${name}${v === 1 ? "" : "s"} ago`;
      v = Math.floor(v / n);
    }
    return "";
  }

  // httpURL returns s, a URL from a tweet, as an http or https URL to put
  // in an href or src, or "" for anything else: javascript:, data:,
  // vbscript: and every other scheme, however written (the URL parser
  // drops the whitespace and control characters a browser ignores), and
  // text that is not a URL. Relative URLs are resolved against base; with
  // no base they are refused.
  function httpURL(s, base) {
    if (typeof s !== "string" || s === "") return "";
    let u;
    try {
      u = base === undefined ? new URL(s) : new URL(s, base);
    } catch (e) {
      return "";
    }
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  }

  const decodeEntities = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

  // tweetText builds the text with links for urls, media, mentions and
  // hashtags (from entities), "RT " in bold. A url or media entity whose
  // link is not http(s) shows its text without a link.
  function tweetText(t) {
    const text = decodeEntities(t.text || "");
    const ents = t.entities || {};
    const repl = new Map(); // lower-cased token -> node builder
    for (const u of [...(ents.urls || []), ...(ents.media || [])]) {
      if (!u || typeof u.url !== "string" || !u.url) continue;
      const href = httpURL(u.expanded_url || u.url);
      const label = u.display_url || u.url;
      repl.set(u.url.toLowerCase(), () => href ? el("a", { href, rel: "noopener noreferrer", target: "_blank" }, label) : label);
    }
    for (const m of ents.user_mentions || []) {
      if (!m || typeof m.screen_name !== "string" || !m.screen_name) continue;
      repl.set("@" + m.screen_name.toLowerCase(), (s) =>
        el("a", { href: `https://twitter.com/${encodeURIComponent(m.screen_name)}`, rel: "noopener noreferrer", target: "_blank" }, s));
    }
    for (const h of ents.hashtags || []) {
      if (!h || typeof h.text !== "string" || !h.text) continue;
      repl.set("#" + h.text.toLowerCase(), (s) =>
        el("a", { href: `https://twitter.com/search?q=${encodeURIComponent("#" + h.text)}`, rel: "noopener noreferrer", target: "_blank" }, s));
    }
    const p = el("p", { class: "text" });
    let rest = text;
    if (rest.startsWith("RT ")) {
      p.append(el("span", { class: "rt" }, "RT "));
      rest = rest.slice(3);
    }
    if (repl.size === 0) {
      p.append(rest);
      return p;
    }
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const keys = [...repl.keys()].sort((a, b) => b.length - a.length).map(esc);
    const re = new RegExp(`(${keys.join("|")})(?![\\p{L}\\p{N}_])`, "giu");
    let last = 0;
    for (const m of rest.matchAll(re)) {
      p.append(rest.slice(last, m.index));
      p.append(repl.get(m[0].toLowerCase())(m[0]));
      last = m.index + m[0].length;
    }
    p.append(rest.slice(last));
    return p;
  }

  const fmt = new Intl.NumberFormat("en-US");

  function renderTweet(t) {
    const u = t.user;
    if (!u) {
      if (!state.missingAsked.has(t.id_str) && sente.open) {
        state.missingAsked.add(t.id_str);
        sente.send(K.missing, { id_str: t.id_str, uid: state.uid });
      }
      return el("li", { class: "tweet" }, el("div"), el("p", { class: "text" }, "loading…"));
    }
    const orig = original(t);
    const created = parseTwitterDate(t.created_at);
    const profile = `https://twitter.com/${encodeURIComponent(u.screen_name || "")}`;
    const avatar = httpURL(u.profile_image_url, location.href); // the synthetic source's are relative
    const img = el("img", { class: "avatar", ...(avatar && { src: avatar }), alt: "", width: "48", height: "48", loading: "lazy" });
    const time = created ? el("time", { datetime: created.toISOString(), title: created.toLocaleString() }, relTime(created)) : null;
    return el("li", { class: "tweet", "data-id": t.id_str },
      img,
      el("article", { "aria-label": `Tweet by ${u.name || u.screen_name}` },
        el("div", { class: "who" },
          el("a", { class: "name", href: profile, rel: "noopener noreferrer", target: "_blank" }, u.name || u.screen_name || ""),
          el("span", { class: "handle" }, "@" + (u.screen_name || "")),
          time),
        tweetText(t),
        el("p", { class: "meta" },
          el("span", {}, `${fmt.format(orig.retweet_count || 0)} retweets`),
          el("span", {}, `${fmt.format(orig.favorite_count || 0)} favourites`),
          el("span", {}, `${fmt.format(u.followers_count || 0)} followers`))));
  }

  function renderTweets() {
    const list = sorted();
    const page = list.slice(0, state.shown);
    $("tweet-list").replaceChildren(...page.map(renderTweet));
    $("tweet-empty").hidden = list.length > 0;
    $("more").hidden = list.length <= state.shown;
    $("search-count").textContent = fmt.format(list.length);
  }

  function renderWords() {
    const top = [...state.words.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 25);
    const box = $("word-chart");
    if (top.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No words yet."));
      return;
    }
    const W = 300, row = 18, labelW = 118, countW = 36;
    const max = top[0][1];
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${top.length * row}`, role: "img",
      "aria-label": `The ${top.length} most frequent words: ` + top.map(([w, n]) => `${w} ${n}`).join(", ") });
    top.forEach(([w, n], i) => {
      const y = i * row;
      const label = svgEl("text", { x: labelW - 6, y: y + 13, "text-anchor": "end" });
      label.textContent = w.length > 16 ? w.slice(0, 15) + "…" : w;
      const bar = svgEl("rect", { x: labelW, y: y + 3, height: row - 6, rx: 2,
        width: Math.max(1, ((W - labelW - countW) * n) / max) });
      const count = svgEl("text", { x: labelW + ((W - labelW - countW) * n) / max + 4, y: y + 13, class: "count" });
      count.textContent = String(n);
      svg.append(label, bar, count);
    });
    box.replaceChildren(svg);
  }

  // renderRate draws the search's tweets per minute, by created_at, over
  // the RATE_MINUTES minutes up to the latest one (now, or a later tweet).
  const RATE_MINUTES = 30;
  function renderRate() {
    const box = $("rate-chart");
    const MIN = 60000;
    let end = Math.floor(Date.now() / MIN);
    const minutes = [];
    for (const t of state.tweets.values()) {
      const d = parseTwitterDate(t.created_at);
      if (d) minutes.push(Math.floor(d.getTime() / MIN));
    }
    for (const m of minutes) if (m > end) end = m;
    const counts = new Array(RATE_MINUTES).fill(0);
    for (const m of minutes) {
      const i = RATE_MINUTES - 1 - (end - m);
      if (i >= 0) counts[i]++;
    }
    const max = Math.max(...counts);
    if (max === 0) {
      box.replaceChildren(el("p", { class: "empty" }, `No tweets in the last ${RATE_MINUTES} minutes.`));
      return;
    }
    const W = 300, H = 90, top = 14, base = H - 14, bw = W / RATE_MINUTES;
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-label": `Tweets per minute over the last ${RATE_MINUTES} minutes, at most ${max}, ${counts[RATE_MINUTES - 1]} in the latest` });
    counts.forEach((n, i) => {
      if (n === 0) return;
      const h = Math.max(1, ((base - top) * n) / max);
      const bar = svgEl("rect", { x: i * bw + 1, y: base - h, width: bw - 2, height: h });
      const tip = svgEl("title");
      tip.textContent = `${n} tweet${n === 1 ? "" : "s"}, ${RATE_MINUTES - 1 - i} min ago`;
      bar.append(tip);
      svg.append(bar);
    });
    const axis = svgEl("line", { x1: 0, y1: base + 0.5, x2: W, y2: base + 0.5, class: "axis" });
    const maxLabel = svgEl("text", { x: 0, y: 10, class: "count" });
    maxLabel.textContent = `${max}/min`;
    const from = svgEl("text", { x: 0, y: H - 2, class: "count" });
    from.textContent = `${RATE_MINUTES} min ago`;
    const to = svgEl("text", { x: W, y: H - 2, class: "count", "text-anchor": "end" });
    to.textContent = "now";
    svg.append(axis, maxLabel, from, to);
    box.replaceChildren(svg);
  }

  // renderCloud draws the CLOUD_WORDS most frequent words, sized by
  // frequency, in rows as wide as the card, in alphabetical order.
  const CLOUD_WORDS = 40;
  function renderCloud() {
    const box = $("word-cloud");
    const top = [...state.words.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, CLOUD_WORDS);
    if (top.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No words yet."));
      return;
    }
    const W = 300, gap = 6, max = top[0][1];
    const min = top[top.length - 1][1];
    const size = (n) => max === min ? 18 : Math.round(11 + 21 * Math.sqrt((n - min) / (max - min)));
    top.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const rows = [];
    let row = { words: [], width: 0, height: 0 };
    for (const [w, n] of top) {
      const fs = size(n);
      const width = Math.min(W, w.length * fs * 0.58); // an estimate: no layout pass
      if (row.words.length > 0 && row.width + gap + width > W) {
        rows.push(row);
        row = { words: [], width: 0, height: 0 };
      }
      row.width += (row.words.length > 0 ? gap : 0) + width;
      row.height = Math.max(row.height, fs);
      row.words.push({ w, n, fs, width });
    }
    rows.push(row);
    const svg = svgEl("svg", { role: "img",
      "aria-label": "Word cloud: " + top.map(([w, n]) => `${w} ${n}`).join(", ") });
    let y = 0;
    for (const r of rows) {
      y += r.height + 4;
      let x = (W - r.width) / 2;
      for (const { w, n, fs, width } of r.words) {
        const t = svgEl("text", { x: x + width / 2, y, "text-anchor": "middle", "font-size": fs,
          class: n === max ? "top" : "" });
        t.textContent = w;
        const tip = svgEl("title");
        tip.textContent = `${w}: ${n}`;
        t.append(tip);
        svg.append(t);
        x += width + gap;
      }
    }
    svg.setAttribute("viewBox", `0 0 ${W} ${y + 6}`);
    box.replaceChildren(svg);
  }

  function setConn({ open, transport, retryIn }) {
    const name = transport === "ws" ? "WebSocket" : "Ajax long polling";
    const conn = $("conn");
    if (open) {
      conn.dataset.state = "open";
      $("conn-text").textContent = `Connected (${name})`;
    } else if (retryIn !== undefined) {
      conn.dataset.state = "closed";
      $("conn-text").textContent = retryIn > 0 ? `Disconnected, retrying in ${Math.ceil(retryIn / 1000)} s` : "Reconnecting…";
    } else {
      conn.dataset.state = "connecting";
      $("conn-text").textContent = "Connecting…";
    }
    conn.dataset.transport = transport;
  }

  function onEvent(id, data) {
    switch (id) {
      case K.searchTweet:
        if (Array.isArray(data) && data[0] === state.searchGen) addTweet(data[1]);
        break;
      case K.tweetNew:
        break; // untagged: not knowable to be this search's (see startSearch)
      case K.prevChunk:
        break; // chunks come as replies (sendQuery)
      case K.missingTweet:
        if (data && typeof data.id_str === "string" && data.text != null) addTweet(data);
        break;
      case K.usersCount: $("users-count").textContent = fmt.format(Number(data)); break;
      case K.totalCount: $("total-count").textContent = String(data).trim(); break;
      default: break; // not a BirdWatch event
    }
  }

  const params = new URLSearchParams(location.search);
  const sente = new SenteClient({
    path: "/chsk",
    csrfToken: (document.querySelector('meta[name="csrf-token"]') || {}).content || "",
    type: params.get("transport") === "ajax" || !("WebSocket" in window) ? "ajax" : "auto",
    onState: setConn,
    onHandshake: (uid) => {
      state.uid = uid;
      startSearch(); // replies to an old connection's requests may be lost: start over
    },
    onEvent,
  });
  window.birdwatch = { sente, state }; // for the console and tests

  function searchFromHash() {
    let text = "";
    try { text = decodeURIComponent(location.hash.slice(1)); } catch (e) { text = location.hash.slice(1); }
    $("search-input").value = text === "*" ? "" : text;
  }

  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); startSearch(); });
  for (const r of document.querySelectorAll('input[name="sort"]')) {
    r.addEventListener("change", () => { state.sort = r.value; state.shown = PAGE; state.dirty = true; });
  }
  $("more").addEventListener("click", () => { state.shown += PAGE; state.dirty = true; });
  window.addEventListener("hashchange", () => {
    const frag = "#" + encodeURIComponent(state.search);
    if (location.hash === frag) return;
    searchFromHash();
    startSearch();
  });

  // Render at most 4 times a second, the word chart, the word cloud and
  // the tweets per minute once a second, and
  // refresh relative times every 30 s.
  setInterval(() => { if (state.dirty) { state.dirty = false; renderTweets(); } }, 250);
  setInterval(() => { if (state.wordsDirty) { state.wordsDirty = false; renderWords(); renderCloud(); } }, 1000);
  setInterval(renderRate, 1000); // the minutes move on without new tweets
  setInterval(() => { state.dirty = true; }, 30000);

  searchFromHash();
  setConn({ open: false, transport: sente.transport });
  renderTweets();
  renderWords();
  renderCloud();
  renderRate();
  sente.connect();
})();
