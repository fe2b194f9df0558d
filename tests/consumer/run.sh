#!/usr/bin/env bash
# tests/consumer/run.sh — installs the build into a scratch prefix, then builds and runs a
# separate project against it with find_package(convkit) and with pkg-config.
# Usage: run.sh <convkit build dir>
set -euo pipefail
BUILD="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$BUILD/consumer-test"
rm -rf "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" > /dev/null
cmake -S "$HERE" -B "$WORK/build" -DCMAKE_PREFIX_PATH="$WORK/prefix" > /dev/null
cmake --build "$WORK/build" > /dev/null
LIBDIR="$(dirname "$(find "$WORK/prefix" -name 'libconvkit.so' | head -1)")"
LD_LIBRARY_PATH="$LIBDIR" "$WORK/build/consumer_shared"
"$WORK/build/consumer_static"
# pkg-config: compile and link with the flags the installed convkit.pc gives.
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
g++ -std=c++20 "$HERE/main.cpp" $(pkg-config --cflags --libs convkit) -pthread -o "$WORK/consumer_pc"
LD_LIBRARY_PATH="$LIBDIR" "$WORK/consumer_pc"
