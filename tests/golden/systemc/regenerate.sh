#!/bin/sh
# Rebuild the reference programs against Debian's libsystemc-dev and rewrite the golden logs.
set -e
cd "$(dirname "$0")"
for prog in scenarios features; do
    g++ -O1 -o /tmp/tlm_$prog $prog.cpp -lsystemc
    SC_COPYRIGHT_MESSAGE=DISABLE /tmp/tlm_$prog | grep -E '^[0-9]' > $prog.log
done
