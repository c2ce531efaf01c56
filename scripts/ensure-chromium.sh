#!/bin/sh
# The browser tests drive Debian's Chromium; install it when missing and we can.
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
    fi
    echo "Installing Debian's chromium for the browser tests..."
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
       { $SUDO apt-get update -q >/dev/null 2>&1 && \
         $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; then
        exit 0
    fi
fi
if [ "${CI:-}" = "true" ]; then
    echo "chromium is required under CI=true and could not be installed" >&2
    exit 1
fi
echo "chromium not available: the browser tests will be skipped (install the 'chromium' package)."
