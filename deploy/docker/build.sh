#!/usr/bin/env bash
# Builds tcpemud the way scripts/run and scripts/test do: scripts/setup for the
# Debian build dependencies, then the same CMake configure (Ninja,
# RelWithDebInfo) into build/ and the tcpemud target only. Used by the
# container image's build stage and by deploy/tests/packaging/test.sh when
# build/server/tcpemud is missing.
#
#   deploy/docker/build.sh        # -> build/server/tcpemud
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/setup
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target tcpemud
