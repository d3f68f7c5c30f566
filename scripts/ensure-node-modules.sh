# Sourced by test.sh and demo.sh: runs `npm ci` when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  local stamp=node_modules/.regatta-lock-hash
  local want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # An install made by hand (npm writes its own lock copy) is adopted rather than redone.
  if [ ! -f "$stamp" ] && [ -f node_modules/.package-lock.json ] \
    && [ node_modules/.package-lock.json -nt package-lock.json ] && [ node_modules/.package-lock.json -nt package.json ]; then
    echo "$want" > "$stamp"
    return 0
  fi
  echo "installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
}
