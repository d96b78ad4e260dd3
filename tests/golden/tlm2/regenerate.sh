#!/bin/sh
# Rebuild the reference program against Debian's libsystemc-dev (SystemC 2.3.4 with
# the Accellera TLM-2.0 headers) and rewrite the golden log.
set -e
cd "$(dirname "$0")"
g++ -O1 -o /tmp/tlm2_scenarios scenarios.cpp -lsystemc
SC_COPYRIGHT_MESSAGE=DISABLE /tmp/tlm2_scenarios | grep -E '^[0-9]' > scenarios.log
