# Shared by script/server and script/test. Sourced, not run.
# shellcheck shell=bash

AISOULE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AZURITE_JS="$AISOULE_ROOT/node_modules/azurite/dist/src/azurite.js"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_tools() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (this project needs the .NET 10 SDK and Node.js with npm)"
}

# Installs the pinned npm tools (Azurite) when node_modules is missing or older than package-lock.json.
ensure_node_tools() {
  local stamp="$AISOULE_ROOT/node_modules/.aisoule-lock"
  local want
  want="$(sha256sum "$AISOULE_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$AZURITE_JS" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  say "Installing Azurite (pinned in package-lock.json)"
  (cd "$AISOULE_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$want" > "$stamp"
}

# port_open HOST PORT: is something accepting connections there?
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_for_port HOST PORT SECONDS
wait_for_port() {
  local deadline=$((SECONDS + $3))
  until port_open "$1" "$2"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# A value from local.settings.json "Values", or nothing.
local_setting() {
  local file="$AISOULE_ROOT/local.settings.json"
  [ -f "$file" ] || return 0
  node -e 'try { const v = (require(process.argv[1]).Values || {})[process.argv[2]]; if (v !== undefined) console.log(v); } catch (e) {}' "$file" "$1"
}

# The Bicep CLI that 'dotnet restore' downloads into the NuGet cache (the PackageDownload pinned in
# tests/Aisoule.Tests/Aisoule.Tests.csproj), or nothing.
bicep_cli() {
  local version
  version="$(sed -nE 's/.*<PackageDownload Include="Azure\.Bicep\.CommandLine\.linux-x64" Version="\[([0-9.]+)\]".*/\1/p' \
    "$AISOULE_ROOT/tests/Aisoule.Tests/Aisoule.Tests.csproj")"
  local cli="${NUGET_PACKAGES:-$HOME/.nuget/packages}/azure.bicep.commandline.linux-x64/$version/tools/bicep"
  [ -n "$version" ] && [ -f "$cli" ] || return 0
  [ -x "$cli" ] || chmod +x "$cli"
  echo "$cli"
}

# Lints and compiles infra/main.bicep and its parameters file; any diagnostic, warning included, fails.
check_bicep() {
  local cli out status
  cli="$(bicep_cli)"
  [ -n "$cli" ] || die "the Bicep CLI is not in the NuGet cache: run 'dotnet restore Aisoule.sln'"
  cd "$AISOULE_ROOT/infra"
  set +e
  out="$( { "$cli" lint main.bicep && "$cli" build main.bicep --stdout >/dev/null && "$cli" build-params main.bicepparam --stdout >/dev/null; } 2>&1)"
  status=$?
  set -e
  cd "$AISOULE_ROOT"
  if [ "$status" -ne 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    die "infra/main.bicep: the Bicep CLI reported the above (warnings count as errors)"
  fi
}

# The API reference's browser test drives Debian's Chromium (Playwright's own browser download cannot be reached):
# installs it with apt when it is missing and this user may (root, or sudo without a password).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || die "the browser test needs Debian's chromium: sudo apt-get install chromium"
    sudo="sudo -n"
  fi
  command -v apt-get >/dev/null 2>&1 || die "the browser test needs Chromium at /usr/bin/chromium (Debian's chromium package)"
  say "Installing Debian's chromium (for the API reference's browser test)"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null \
    || die "apt-get install chromium failed"
}
