# Shared setup for scripts/demo and scripts/test: a virtualenv with the project, and Debian packages.
# Sourced, not run. Idempotent: a second run reinstalls nothing unless pyproject.toml changed.

PYTHON=${PYTHON:-python3}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

# ensure_apt PACKAGE:PATH... — installs PACKAGE when PATH (a file it provides) is missing.
ensure_apt() {
  local missing=() spec
  for spec in "$@"; do
    [ -e "${spec#*:}" ] || missing+=("${spec%%:*}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv [EXTRA] — .venv with the project installed editable (EXTRA: dev for the test tools).
ensure_venv() {
  local extra=${1:-}
  local spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  local stamp=".venv/.clearsight-installed-$extra"
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
      # Debian's own python3 ships venv/ensurepip separately.
      echo "== installing python3-venv"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
      echo "Clearsight needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version)" >&2; return 1; }
    echo "== creating .venv"
    "$PYTHON" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing clearsight ($spec) into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e "$spec"
    echo "$want" > "$stamp"
  fi
}
