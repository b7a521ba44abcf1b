# Shared, idempotent installers for scripts/run, scripts/test and scripts/bench.

# Makes sure cargo is on PATH (rustup's default location) and the toolchain has fmt and clippy.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || {
    echo "cargo is not installed: install Rust with rustup (https://rustup.rs), then re-run." >&2
    exit 1
  }
  if command -v rustup >/dev/null 2>&1; then
    for component in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$component" ||
        rustup component add "$component"
    done
  fi
}

# Installs the given Debian packages when any is missing (as root, or through sudo).
ensure_apt_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Makes sure node (18 or newer) and npm are available, installing Debian's when missing.
ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_apt_packages nodejs npm
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 18 ]; then
    echo "node $(node --version) is too old for the dashboard: install Node 18 or newer, then re-run." >&2
    exit 1
  fi
}

# Installs the dashboard's npm packages exactly as ui/package-lock.json pins them, only when
# the lock file changed since the last install (a stamp in node_modules remembers it).
ensure_ui_packages() {
  ensure_node
  local stamp=ui/node_modules/.parachute-lock-stamp
  if [ -f "$stamp" ] && cmp -s ui/package-lock.json "$stamp"; then
    return 0
  fi
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  cp ui/package-lock.json "$stamp"
}
