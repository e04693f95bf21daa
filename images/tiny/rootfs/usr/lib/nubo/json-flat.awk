# json-flat.awk: flattens a JSON document into one "<path><TAB><value>" line per scalar, so
# that busybox sh can read OpenStack metadata without jq. Paths join object keys and array
# indexes with dots: {"public_keys":{"k1":"ssh-ed25519 A"},"keys":[{"name":"k1"}]} gives
#   public_keys.k1<TAB>ssh-ed25519 A
#   keys.0.name<TAB>k1
# Strings are unescaped; \n, \r and \t inside them become spaces (so each value stays on one
# line: a Nova key's trailing "\n" becomes a trailing space, which callers trim). \uXXXX
# becomes the character when it is ASCII, else "?". true/false/null/numbers print as written.
# Malformed input: message on stderr, exit status 1 (lines printed so far stay printed).

{ s = s $0 "\n" }

END {
  n = length(s)
  p = 1
  value("")
  skipws()
  if (p <= n) fail("trailing characters")
}

function fail(msg) {
  printf "json-flat: %s at offset %d\n", msg, p > "/dev/stderr"
  exit 1
}

function skipws() {
  while (p <= n && index(" \t\r\n", substr(s, p, 1)) > 0) p++
}

function join(path, key) {
  return path == "" ? key : path "." key
}

function value(path,   c) {
  skipws()
  if (p > n) fail("unexpected end")
  c = substr(s, p, 1)
  if (c == "{") object(path)
  else if (c == "[") array(path)
  else if (c == "\"") printf "%s\t%s\n", path, string()
  else printf "%s\t%s\n", path, literal()
}

function object(path,   key, c) {
  p++
  skipws()
  if (substr(s, p, 1) == "}") { p++; return }
  while (1) {
    skipws()
    if (substr(s, p, 1) != "\"") fail("expected a key")
    key = string()
    skipws()
    if (substr(s, p, 1) != ":") fail("expected ':'")
    p++
    value(join(path, key))
    skipws()
    c = substr(s, p, 1)
    p++
    if (c == "}") return
    if (c != ",") fail("expected ',' or '}'")
  }
}

function array(path,   i, c) {
  p++
  skipws()
  if (substr(s, p, 1) == "]") { p++; return }
  for (i = 0; ; i++) {
    value(join(path, i))
    skipws()
    c = substr(s, p, 1)
    p++
    if (c == "]") return
    if (c != ",") fail("expected ',' or ']'")
  }
}

function literal(   start) {
  start = p
  while (p <= n && index(",}] \t\r\n", substr(s, p, 1)) == 0) p++
  if (p == start) fail("expected a value")
  return substr(s, start, p - start)
}

function string(   out, c, e, code) {
  p++
  out = ""
  while (1) {
    if (p > n) fail("unterminated string")
    c = substr(s, p, 1)
    p++
    if (c == "\"") return out
    if (c == "\n" || c == "\r" || c == "\t") { out = out " "; continue }
    if (c != "\\") { out = out c; continue }
    e = substr(s, p, 1)
    p++
    if (e == "n" || e == "r" || e == "t") out = out " "
    else if (e == "b" || e == "f") out = out ""
    else if (e == "u") {
      code = hex(substr(s, p, 4))
      p += 4
      out = out (code >= 32 && code < 127 ? sprintf("%c", code) : "?")
    }
    else out = out e
  }
}

function hex(h,   i, v, d) {
  v = 0
  for (i = 1; i <= length(h); i++) {
    d = index("0123456789abcdef", tolower(substr(h, i, 1)))
    if (d == 0) fail("bad \\u escape")
    v = v * 16 + d - 1
  }
  return v
}
