#!/bin/sh
# The benchmark loads the server with wrk (a C load generator: a Python client would
# spend more CPU per request than the floor it measures). Install Debian's when missing.
set -eu
if command -v wrk >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
    fi
    echo "Installing Debian's wrk for the benchmark..."
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 || \
       { $SUDO apt-get update -q >/dev/null 2>&1 && \
         $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }; then
        exit 0
    fi
fi
echo "wrk is required by the benchmark and could not be installed (install the 'wrk' package)." >&2
exit 1
