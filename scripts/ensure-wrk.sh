#!/bin/sh
# The benchmark loads the server with wrk (a C load generator: a Python client would
# spend more CPU per request than the floor it measures). Install Debian's when missing.
set -eu
if command -v wrk >/dev/null 2>&1; then exit 0; fi
if sh "$(dirname "$0")/apt-install.sh" wrk "the benchmark"; then exit 0; fi
echo "wrk is required by the benchmark and could not be installed (install the 'wrk' package)." >&2
exit 1
