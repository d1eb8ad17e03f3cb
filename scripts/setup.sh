#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian 12 machine: system packages
# (GStreamer with H.264, what Bevy needs to build and to render under Xvfb
# with software Vulkan, fonts, Node.js and npm), the Python packages the
# interoperability tests and benchmarks compare against (pymavlink,
# onnxruntime), the Rust crates, and the models and imagery
# (scripts/fetch-models.sh). Fast when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints its wall time, so a slow first run shows where the time went
# (README "First run" has the figures measured on a fresh 2-core machine).
SETUP_T0=$(date +%s)
step_t0=$SETUP_T0
step_done() { # name
  local now; now=$(date +%s)
  echo "setup: $1 done in $((now - step_t0)) s"
  step_t0=$now
}

APT_PACKAGES=(
  pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libudev-dev libasound2-dev libwayland-dev libxkbcommon-dev
  libx11-dev libxcursor-dev libxi-dev libxrandr-dev
  xvfb xauth mesa-vulkan-drivers libvulkan1
  fonts-dejavu-core
)
PIP_PACKAGES=(pymavlink==2.4.50 onnxruntime==1.23.2 onnx==1.17.0 numpy pillow matplotlib opencv-python-headless==5.0.0.93)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs face-api itself, the reference the face-template conversion
# test (onboard/tests/face_template_reference.rs) compares our ONNX against,
# and npm fetches it (scripts/fetch-models.sh). Debian 12 packages both
# (nodejs 18, npm 9). Asked for by command, not by package name: a machine
# with another Node build (e.g. one that bundles npm) keeps it, and the Debian
# npm package would conflict with such a build.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
step_done "system packages (apt)"

if ! python3 -c "import pymavlink, onnxruntime, onnx, numpy, PIL, matplotlib, cv2; assert onnx.__version__ == '1.17.0'" 2>/dev/null; then
  echo "setup: installing Python packages ${PIP_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi
step_done "Python packages (pip)"

command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
step_done "cargo-nextest"

cargo fetch --locked -q
step_done "Rust crates (cargo fetch)"
scripts/fetch-models.sh
step_done "models and imagery"
echo "setup: complete in $(( $(date +%s) - SETUP_T0 )) s"
