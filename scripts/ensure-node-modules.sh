# Sourced by test.sh and demo.sh: installs npm dependencies when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  local stamp=node_modules/.regatta-lock-hash
  local want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # npm rewrites node_modules/.package-lock.json on every install, so newer than both manifests means current.
  if [ -f node_modules/.package-lock.json ] \
    && [ node_modules/.package-lock.json -nt package-lock.json ] && [ node_modules/.package-lock.json -nt package.json ]; then
    echo "$want" > "$stamp"
    return 0
  fi
  echo "installing npm dependencies (npm ci)" >&2
  if ! npm ci --no-audit --no-fund; then
    echo "WARNING: npm ci refused package-lock.json (out of sync with package.json); installing without rewriting it" >&2
    npm install --no-save --no-audit --no-fund
  fi
  echo "$want" > "$stamp"
}
