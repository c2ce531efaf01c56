#!/bin/sh
# Install one Debian package when apt-get is here (with sudo when not root); exit 1 when
# it could not be installed. Used by ensure-chromium.sh (tests) and ensure-wrk.sh (bench).
# Usage: sh scripts/apt-install.sh PACKAGE "WHAT IT IS FOR"
set -eu
package="$1"
purpose="$2"
command -v apt-get >/dev/null 2>&1 || exit 1
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
echo "Installing Debian's $package for $purpose..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null 2>&1 || \
    { $SUDO apt-get update -q >/dev/null 2>&1 && \
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null; }
