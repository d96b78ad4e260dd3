#!/bin/sh
# Rebuild the reference program against Debian's libsystemc-dev and rewrite the golden log.
set -e
cd "$(dirname "$0")"
g++ -O1 -o /tmp/tlm_scenarios scenarios.cpp -lsystemc
SC_COPYRIGHT_MESSAGE=DISABLE /tmp/tlm_scenarios | grep -E '^[0-9]' > scenarios.log
