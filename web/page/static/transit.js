// transit.js: a small Transit JSON reader and writer for the BirdWatch page
// (shared/docs/transit.md §2, §4, §5, §7). No dependencies.
//
// Representation: keywords are interned Keyword objects (compare with ===),
// maps with stringable keys are plain objects keyed by the keyword name or
// the string, cmaps are Map, sets are Set, lists are arrays, integers are
// numbers (BigInt beyond 2^53), instants are Date, UUIDs and URIs strings.
"use strict";

const Transit = (() => {
  class Keyword {
    constructor(name) { this.name = name; }
    toString() { return ":" + this.name; }
  }
  class Symbol_ {
    constructor(name) { this.name = name; }
    toString() { return this.name; }
  }
  class Tagged {
    constructor(tag, rep) { this.tag = tag; this.rep = rep; }
  }
  class TagMarker {
    constructor(tag) { this.tag = tag; }
  }

  const keywords = new Map();
  function kw(name) {
    let k = keywords.get(name);
    if (!k) { k = new Keyword(name); keywords.set(name, k); }
    return k;
  }

  const CACHE_SIZE = 44 * 44;
  const MAP_MARKER = "^ ";

  function cacheable(s, asKey) {
    if (s.length < 4) return false;
    if (asKey) return true;
    const p = s.slice(0, 2);
    return p === "~:" || p === "~$" || p === "~#";
  }

  function codeToIndex(s) {
    if (s.length === 2) return s.charCodeAt(1) - 48;
    if (s.length === 3) return (s.charCodeAt(1) - 48) * 44 + (s.charCodeAt(2) - 48);
    throw new Error("transit: bad cache code " + JSON.stringify(s));
  }

  function indexToCode(i) {
    if (i < 44) return "^" + String.fromCharCode(48 + i);
    return "^" + String.fromCharCode(48 + Math.floor(i / 44)) + String.fromCharCode(48 + (i % 44));
  }

  function parseInteger(rep) {
    const n = Number(rep);
    if (Number.isSafeInteger(n)) return n;
    return BigInt(rep);
  }

  // decodeScalar turns a "~X…" string into its value.
  function decodeScalar(tag, rep) {
    switch (tag) {
      case ":": return kw(rep);
      case "$": return new Symbol_(rep);
      case "_": return null;
      case "?": return rep === "t";
      case "i": return parseInteger(rep);
      case "n": return BigInt(rep);
      case "d": return Number(rep);
      case "f": return rep; // big decimal kept as its text
      case "z": return rep === "NaN" ? NaN : rep === "INF" ? Infinity : -Infinity;
      case "m": return new Date(Number(rep));
      case "t": return new Date(rep);
      case "u": return rep;
      case "r": return rep;
      case "c": return rep;
      case "b": return rep; // base64 text
      default: return new Tagged(tag, rep);
    }
  }

  function applyTag(tag, rep) {
    switch (tag) {
      case "'": return rep;
      case "set": return new Set(rep);
      case "list": return rep;
      case "cmap": {
        const m = new Map();
        for (let i = 0; i < rep.length; i += 2) m.set(rep[i], rep[i + 1]);
        return m;
      }
      default: return new Tagged(tag, rep);
    }
  }

  // keyOf turns a decoded map key into a plain-object property name.
  function keyOf(k) {
    if (k instanceof Keyword) return k.name;
    if (k === null) return "null";
    return String(k);
  }

  class Reader {
    constructor() { this.cache = []; }

    read(text) {
      this.cache = [];
      return this.decode(JSON.parse(text), false);
    }

    decodeString(s, asKey) {
      if (s.length > 1 && s[0] === "^" && s !== MAP_MARKER) {
        const i = codeToIndex(s);
        if (i >= this.cache.length) throw new Error("transit: unknown cache code " + s);
        return this.cache[i];
      }
      let v = s;
      if (s.length >= 2 && s[0] === "~") {
        const c = s[1];
        if (c === "~" || c === "^" || c === "`") v = s.slice(1);
        else if (c === "#") v = new TagMarker(s.slice(2));
        else v = decodeScalar(c, s.slice(2));
      }
      if (cacheable(s, asKey)) {
        if (this.cache.length === CACHE_SIZE) this.cache = [];
        this.cache.push(v);
      }
      return v;
    }

    decode(node, asKey) {
      if (typeof node === "string") return this.decodeString(node, asKey);
      if (node === null || typeof node !== "object") return node;
      if (Array.isArray(node)) {
        if (node.length === 0) return [];
        if (node[0] === MAP_MARKER) {
          const out = {};
          for (let i = 1; i < node.length; i += 2) {
            const k = this.decode(node[i], true);
            out[keyOf(k)] = this.decode(node[i + 1], false);
          }
          return out;
        }
        const first = this.decode(node[0], false);
        if (first instanceof TagMarker && node.length === 2) {
          return applyTag(first.tag, this.decode(node[1], false));
        }
        const out = [first];
        for (let i = 1; i < node.length; i++) out.push(this.decode(node[i], false));
        return out;
      }
      // JSON-verbose object
      const keys = Object.keys(node);
      if (keys.length === 1) {
        const k = this.decode(keys[0], true);
        if (k instanceof TagMarker) return applyTag(k.tag, this.decode(node[keys[0]], false));
        return { [keyOf(k)]: this.decode(node[keys[0]], false) };
      }
      const out = {};
      for (const key of keys) out[keyOf(this.decode(key, true))] = this.decode(node[key], false);
      return out;
    }
  }

  class Writer {
    // keywordKeys: plain-object keys are written as keywords (the Clojure
    // convention for BirdWatch's maps); otherwise as strings.
    constructor({ keywordKeys = true } = {}) {
      this.keywordKeys = keywordKeys;
      this.cache = new Map();
    }

    write(value) {
      this.cache = new Map();
      const scalarTop = value === null || typeof value !== "object" || value instanceof Keyword ||
        value instanceof Symbol_ || value instanceof Date;
      const out = scalarTop ? ["~#'", this.encode(value, false)] : this.encode(value, false);
      return JSON.stringify(out);
    }

    emit(s, asKey) {
      if (!cacheable(s, asKey)) return s;
      const code = this.cache.get(s);
      if (code !== undefined) return code;
      if (this.cache.size === CACHE_SIZE) this.cache = new Map();
      this.cache.set(s, indexToCode(this.cache.size));
      return s;
    }

    encode(v, asKey) {
      if (v === null || v === undefined) return asKey ? "~_" : null;
      switch (typeof v) {
        case "string": {
          const c = v[0];
          return this.emit(c === "~" || c === "^" || c === "`" ? "~" + v : v, asKey);
        }
        case "number":
          if (Number.isInteger(v) && !Number.isSafeInteger(v)) return this.emit("~i" + BigInt(v), asKey);
          if (!Number.isFinite(v)) return this.emit(Number.isNaN(v) ? "~zNaN" : v > 0 ? "~zINF" : "~z-INF", asKey);
          return asKey ? this.emit((Number.isInteger(v) ? "~i" : "~d") + v, true) : v;
        case "bigint": return this.emit("~n" + v, asKey);
        case "boolean": return asKey ? "~?" + (v ? "t" : "f") : v;
      }
      if (v instanceof Keyword) return this.emit("~:" + v.name, asKey);
      if (v instanceof Symbol_) return this.emit("~$" + v.name, asKey);
      if (v instanceof Date) return this.emit("~m" + v.getTime(), asKey);
      if (Array.isArray(v)) return v.map((x) => this.encode(x, false));
      if (v instanceof Set) return [this.emit("~#set", false), [...v].map((x) => this.encode(x, false))];
      if (v instanceof Tagged) return [this.emit("~#" + v.tag, false), this.encode(v.rep, false)];
      const out = [MAP_MARKER];
      for (const [k, x] of Object.entries(v)) {
        out.push(this.keywordKeys ? this.emit("~:" + k, true) : this.encode(k, true));
        out.push(this.encode(x, false));
      }
      return out;
    }
  }

  return {
    Keyword, Symbol: Symbol_, Tagged, kw,
    read: (text) => new Reader().read(text),
    write: (value, opts) => new Writer(opts).write(value),
  };
})();

if (typeof module !== "undefined") module.exports = Transit;
