# scripts/deps.sh — installs the Debian packages convkit's build, tests and demo need.
# Sourced by scripts/test and scripts/demo; does nothing when everything is present.
CONVKIT_DEPS=(g++ cmake make pkg-config libgtest-dev libbenchmark-dev pybind11-dev python3-dev
              python3-numpy python3-scipy python3-torch python3-pytest python3-hypothesis
              python3-sklearn)

convkit_install_deps() {
  local missing=()
  for p in "${CONVKIT_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "convkit: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

convkit_build() {
  # $1: build directory. Release build of the library, the tests and the Python module.
  cmake -S "$CONVKIT_ROOT" -B "$1" -DCMAKE_BUILD_TYPE=Release \
        -DPython3_EXECUTABLE=/usr/bin/python3 > "$1/configure.log" 2>&1 \
    || { cat "$1/configure.log"; return 1; }
  cmake --build "$1" -j "$(nproc)"
}
