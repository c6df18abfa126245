#!/bin/sh
# System packages the test suite needs beyond PostgreSQL: Debian's `chromium` with a font
# (driven headless by Playwright, which never downloads a browser itself) and a Java 17+
# runtime for local Spark and the Spark Connect server.
# Idempotent and fast when everything is present (no apt call at all then).
# Exits non-zero with a clear line when something is missing and cannot be installed.
set -eu

CHROMIUM=/usr/bin/chromium
need=""

java_major() {
    # `java -version` prints e.g. 'openjdk version "17.0.15" 2025-04-15' on stderr.
    command -v java >/dev/null 2>&1 || { echo 0; return; }
    java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n 1
}

[ -x "$CHROMIUM" ] || need="$need chromium"
# Without a font, Chromium renders every glyph as a box in screenshots.
[ -d /usr/share/fonts/truetype/dejavu ] || need="$need fonts-dejavu-core"
jm=$(java_major)
[ "${jm:-0}" -ge 17 ] 2>/dev/null || need="$need openjdk-17-jre-headless"

if [ -n "$need" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "FATAL: missing system packages:$need; run as root: apt-get install -y$need" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "FATAL: missing system packages:$need, and apt-get is not available" >&2
        exit 1
    fi
    echo "setup: installing Debian packages:$need"
    apt-get update -qq
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "FATAL: $CHROMIUM is missing after setup (Debian package 'chromium')" >&2
    exit 1
fi
jm=$(java_major)
if ! [ "${jm:-0}" -ge 17 ] 2>/dev/null; then
    echo "FATAL: Java 17 or newer is missing after setup (Debian 'openjdk-17-jre-headless')" >&2
    exit 1
fi
echo "setup: chromium at $CHROMIUM, Java $jm"
