#!/bin/sh
# The browser tests drive Debian's Chromium; install it when missing and we can.
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if sh "$(dirname "$0")/apt-install.sh" chromium "the browser tests"; then exit 0; fi
if [ "${CI:-}" = "true" ]; then
    echo "chromium is required under CI=true and could not be installed" >&2
    exit 1
fi
echo "chromium not available: the browser tests will be skipped (install the 'chromium' package)."
