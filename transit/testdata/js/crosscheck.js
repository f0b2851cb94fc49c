'use strict';
// crosscheck.js is the transit-js half of the transit package's cross-check
// test (transit/crosscheck_test.go). The Go test runs it once per test run:
//
//	node crosscheck.js DIR
//
// Input, written by the Go test:
//
//	DIR/go/NAME.json          transit.Marshal output
//	DIR/go/NAME.verbose.json  transit.MarshalVerbose output
//
// Output, read back by the Go test:
//
//	DIR/js/NAME.json                  NAME.json read with t.reader("json"), written with t.writer("json")
//	DIR/js/NAME.verbose.json          NAME.verbose.json read, written with t.writer("json-verbose")
//	DIR/js/NAME.verbose.to-json.json  NAME.verbose.json read, written with t.writer("json")
//	DIR/js/<output>.err               instead of <output>: the error transit-js raised
//	DIR/native/NAME.json, NAME.verbose.json
//	                                  values transit-js builds itself (table `natives`
//	                                  below), written with both writers; the Go test
//	                                  holds the Go value it expects for each NAME
//	DIR/manifest.json                 {"version": transit-js version, "natives": [NAME...]}
//
// A failure on one value is written to its .err file and does not stop the
// run; the process exits non-zero only when the run as a whole breaks.
//
// One reader and one writer per mode serve every value, as in a real client:
// transit-js clears its caches after each read and write, so values do not
// influence each other.

const fs = require('fs');
const path = require('path');
const t = require('transit-js');

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node crosscheck.js DIR\n');
  process.exit(2);
}

const reader = t.reader('json');
const writer = t.writer('json');
const verboseWriter = t.writer('json-verbose');

function attempt(outPath, fn) {
  try {
    fs.writeFileSync(outPath, fn());
  } catch (e) {
    fs.writeFileSync(outPath + '.err', String((e && e.stack) || e));
  }
}

// Round trips: Go wrote it, transit-js reads it and writes it back.
const goDir = path.join(dir, 'go');
const jsDir = path.join(dir, 'js');
fs.mkdirSync(jsDir, {recursive: true});
for (const file of fs.readdirSync(goDir).sort()) {
  const text = fs.readFileSync(path.join(goDir, file), 'utf8');
  if (file.endsWith('.verbose.json')) {
    const stem = file.slice(0, -'.json'.length);
    attempt(path.join(jsDir, file), () => verboseWriter.write(reader.read(text)));
    attempt(path.join(jsDir, stem + '.to-json.json'), () => writer.write(reader.read(text)));
  } else if (file.endsWith('.json')) {
    attempt(path.join(jsDir, file), () => writer.write(reader.read(text)));
  }
}

// Values transit-js builds itself. Every NAME here has an expected Go value
// in crosscheck_test.go (xcNatives); the Go test fails when the two lists
// differ.
const K = t.keyword;
const S = t.symbol;

function keywords(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(K('key' + String(i).padStart(4, '0')));
  return out;
}

function twice(arr) {
  return arr.concat(arr);
}

// mapOf builds a transit map of `n` keyword keys k00.. with values 0.., large
// enough (more than 32 entries) to be a hashed TransitMap rather than an
// array map inside transit-js.
function mapOf(n) {
  const kvs = [];
  for (let i = 0; i < n; i++) kvs.push(K('k' + String(i).padStart(2, '0')), i);
  return t.map(kvs);
}

const uid = '7f3c2a9e-51d4-4c1b-9a0e-2b6f1e0c9d77';
const query = t.map([
  K('query_string'), t.map([
    K('default_field'), 'text',
    K('default_operator'), 'AND',
    K('query'), '(clojure) AND lang:en',
  ]),
]);

const natives = {
  nil: () => null,
  true: () => true,
  false: () => false,
  int_small: () => 42,
  int_neg: () => -7,
  int_safe_bounds: () => [9007199254740991, -9007199254740991, t.integer('42')],
  long_beyond_2p53: () => [
    t.integer('9007199254740992'), t.integer('9007199254740993'),
    t.integer('-9007199254740993'), t.integer('9223372036854775807'),
    t.integer('-9223372036854775808'),
  ],
  floats: () => [3.14159, -0.5, 6.626e-34, 1e21, 2.998e8, Number.MAX_VALUE, Number.MIN_VALUE, 0.1],
  floats_integral: () => [2.0, -0.0, 4e11],
  floats_special: () => [NaN, Infinity, -Infinity],
  float_top: () => 2.5,
  bigints: () => [t.bigInt('123456789012345678901234567890'), t.bigInt('-9223372036854775809'), t.bigInt('1')],
  bigdecs: () => [t.bigDec('1.50'), t.bigDec('-0.1'), t.bigDec('1.23E-7'), t.bigDec('1E+3'), t.bigDec('123.456')],
  bigdec_exp_form: () => t.bigDec('-1.1E-1'),
  uuid: () => t.uuid('5a2cbea3-e8c6-428b-b525-21239370dd55'),
  uri: () => [t.uri('http://example.com/'), t.uri('http://www.詹姆斯.com/?q=a b#frag')],
  binary: () => [t.binary('AQID'), t.binary(''), Buffer.from([255, 0, 1])],
  dates: () => [new Date(946728000000), new Date(-6106017600000), new Date(0), new Date(1396909037123)],
  date_year_500: () => new Date(Date.UTC(500, 0, 1, 0, 0, 0, 0)),
  keywords_symbols: () => [K('a'), K('abcd'), K('chsk/handshake'), S('sym'), S('ns/sym'), S('/')],
  strings: () => ['', 'a', '~', '~tilde', '^', '^caret', '`tick', '^ ', '#hash', '~#foo', '^0', 'plain'],
  strings_unicode: () => ['a\u0001\u001fb\t\n\r\b\f"\\/<>&\u2028\u2029é😀\u007f'],
  quoted_string: () => 'hello',
  quoted_keyword: () => K('hello'),
  js_object: () => ({a: 1, b: [1, 2], '~c': 'x'}),
  vectors: () => [[], [[]], [1, [2, [3]]]],
  map_empty: () => t.map([]),
  map_keyword_keys: () => t.map([K('name'), 'x', K('age'), 42, K('ns/key'), null]),
  map_stringable_keys: () => t.map([
    null, 0, true, 1, false, 2, 42, 3, 'str', 4, K('kw'), 5, S('sym'), 6,
    new Date(946728000000), 7, t.uuid('5a2cbea3-e8c6-428b-b525-21239370dd55'), 8,
    t.uri('http://example.com/'), 9, t.bigInt('5'), 10, t.bigDec('1.5'), 11,
  ]),
  map_40_keys: () => mapOf(40),
  map_float_key: () => t.map([2.5, 'x']),
  map_long_key: () => t.map([t.integer('9007199254740993'), 'big', 7, 'small']),
  map_numeric_string_keys: () => t.map(['10', 1, '2', 2]),
  cmap: () => t.map([[1, 2], 'v', t.map([K('a'), 1]), 'm', null, 'nil']),
  set_ints: () => t.set([1, 2, 3]),
  set_empty: () => t.set([]),
  list: () => t.list([1, K('two'), 'three']),
  list_empty: () => t.list([]),
  tagged_composite: () => t.tagged('point', [1, 2]),
  tagged_scalar: () => t.tagged('x', 'foo'),
  ratio: () => t.tagged('ratio', [t.bigInt('1'), t.bigInt('3')]),
  chars: () => [t.tagged('c', 'a'), t.tagged('c', '~')],
  link: () => t.link(t.map(['rel', 'self', 'href', t.uri('http://example.com/x')])),
  link_full: () => t.link(t.map([
    'rel', 'r', 'name', 'n', 'href', t.uri('http://example.com/y'), 'prompt', 'p', 'render', 'image',
  ])),
  cache_50_keywords_twice: () => twice(keywords(50)),
  cache_map_keys: () => [0, 1, 2].map((i) => t.map(['first', i, 'second', K('val'), 'abc', i])),
  cache_tags: () => [
    t.list([1]), t.list([2]), t.set([3]), t.tagged('point', [1]), t.tagged('point', [2]),
  ],
  cache_1935_keywords_twice: () => twice(keywords(1935)),
  cache_1936_keywords_twice: () => twice(keywords(1936)),
  cache_1937_keywords_twice: () => twice(keywords(1937)),
  // 2000 distinct keywords, then the last 64 again: the repeats hit codes of
  // the cache's second generation.
  cache_2000_then_tail: () => {
    const ks = keywords(2000);
    return ks.concat(ks.slice(1936));
  },
  // BirdWatch client -> server frames, as the ClojureScript client sends them
  // (shared/docs/birdwatch.md §2.2, §3.1): a vector holding one event.
  bw_cmd_query: () => [[K('cmd/query'), t.map([K('query'), query, K('n'), 500, K('uid'), uid, K('from'), 1000])]],
  bw_cmd_percolate: () => [[K('cmd/percolate'), t.map([K('query'), query, K('uid'), uid])]],
  bw_cmd_missing: () => [[K('cmd/missing'), t.map([K('id_str'), '546814306545344512', K('uid'), uid])]],
  bw_ws_ping: () => [[K('chsk/ws-ping')]],
  bw_stats_push: () => [
    [K('stats/users-count'), 3],
    [K('stats/total-tweet-count'), '        123,456'],
  ],
  bw_handshake: () => [K('chsk/handshake'), [uid, 'Zm9vYmFy']],
};

const nativeDir = path.join(dir, 'native');
fs.mkdirSync(nativeDir, {recursive: true});
const names = Object.keys(natives).sort();
for (const name of names) {
  attempt(path.join(nativeDir, name + '.json'), () => writer.write(natives[name]()));
  attempt(path.join(nativeDir, name + '.verbose.json'), () => verboseWriter.write(natives[name]()));
}

const version = require('transit-js/package.json').version;
fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({version, natives: names}));
