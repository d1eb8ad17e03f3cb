#!/usr/bin/env python3
"""Converts face-api's dlib face-recognition ResNet (TensorFlow.js weights) to ONNX.

Why: the only lawfully obtainable face-template model in a package registry is
the dlib ResNet port shipped in npm `@vladmandic/face-api` as TF.js weights
(uint8-quantized, `value = min + q * scale`). tract loads ONNX, so we rebuild
the network graph here, op for op as in face-api's own sources
(`src/faceRecognitionNet/{FaceRecognitionNet,convLayer,residualLayer,scaleLayer}.ts`):

  x = (rgb - [122.782, 117.001, 104.298]) / 255          (input NCHW, RGB 0..255, 150x150)
  convDown(7x7, stride 2, VALID) -> maxPool(3, 2, VALID)
  residual x3 (32) | residualDown + residual x3 (64) | residualDown + residual x2 (128)
  residualDown + residual x2 (256) | residualDown (256)
  mean over H, W -> matMul fc [256, 128]  => 128-D template
  conv layer = conv + bias, then scale layer (x * w + b), then optional ReLU;
  residualDown adds avgPool(2, 2, VALID)(x), zero-padded in channels, to the
  conv path, whose output is zero-padded by one row/column at the end when
  the two disagree in size (face-api pads the same way).

The weights are dequantized exactly as tfjs does (float64 then float32). The
graph keeps each op rather than folding scale into the conv, so that the
result tracks the reference as closely as float32 allows; tract folds it at
optimisation time anyway.

Usage: face_api_to_onnx.py MODEL_DIR OUT.onnx
  MODEL_DIR holds face_recognition_model-weights_manifest.json and .bin.
Deterministic: the same inputs give byte-identical output.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SIZE = 150
MEAN_RGB = [122.782, 117.001, 104.298]


def load_weights(model_dir: Path) -> dict:
    manifest_path = model_dir / "face_recognition_model-weights_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    weights = {}
    for group in manifest:
        data = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = spec["shape"]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant is None:
                if spec["dtype"] != "float32":
                    raise SystemExit(f"{manifest_path}: {spec['name']}: unsupported dtype {spec['dtype']}")
                arr = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
                offset += 4 * count
            else:
                if quant["dtype"] != "uint8":
                    raise SystemExit(f"{manifest_path}: {spec['name']}: unsupported quantization {quant['dtype']}")
                q = np.frombuffer(data, dtype=np.uint8, count=count, offset=offset)
                offset += count
                arr = (q.astype(np.float64) * quant["scale"] + quant["min"]).astype(np.float32)
            weights[spec["name"]] = arr.reshape(shape)
        if offset != len(data):
            raise SystemExit(f"{manifest_path}: weights use {offset} bytes but the .bin files hold {len(data)}")
    return weights


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, arr):
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def op(self, op_type, inputs, base, **attrs):
        out = self.name(base)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv_layer(self, x, prefix, stride, relu, padding):
        filters = self.w[f"{prefix}/conv/filters"]  # HWIO
        k = filters.shape[0]
        w = self.const(f"{prefix}/W", np.ascontiguousarray(filters.transpose(3, 2, 0, 1)))
        b = self.const(f"{prefix}/B", self.w[f"{prefix}/conv/bias"])
        pads = [k // 2] * 4 if padding == "same" else [0, 0, 0, 0]
        y = self.op("Conv", [x, w, b], prefix + "/conv", kernel_shape=[k, k], strides=[stride, stride], pads=pads)
        sw = self.const(f"{prefix}/scale_w", self.w[f"{prefix}/scale/weights"].reshape(1, -1, 1, 1))
        sb = self.const(f"{prefix}/scale_b", self.w[f"{prefix}/scale/biases"].reshape(1, -1, 1, 1))
        y = self.op("Mul", [y, sw], prefix + "/scale_mul")
        y = self.op("Add", [y, sb], prefix + "/scale_add")
        return self.op("Relu", [y], prefix + "/relu") if relu else y


def conv_out(size, k, s, padding):
    return size if padding == "same" and s == 1 else (size - k) // s + 1


def build(weights) -> onnx.ModelProto:
    g = Graph(weights)
    x = "input"
    mean = g.const("mean_rgb", np.array(MEAN_RGB, dtype=np.float32).reshape(1, 3, 1, 1))
    y = g.op("Sub", [x, mean], "normalize_sub")
    y = g.op("Div", [y, g.const("255", np.array(255.0, dtype=np.float32))], "normalize_div")
    y = g.conv_layer(y, "conv32_down", 2, True, "valid")
    size, channels = conv_out(INPUT_SIZE, 7, 2, "valid"), 32
    y = g.op("MaxPool", [y], "maxpool", kernel_shape=[3, 3], strides=[2, 2])
    size = (size - 3) // 2 + 1

    def residual(y, prefix):
        out = g.conv_layer(y, f"{prefix}/conv1", 1, True, "same")
        out = g.conv_layer(out, f"{prefix}/conv2", 1, False, "same")
        return g.op("Relu", [g.op("Add", [out, y], prefix + "/add")], prefix + "/relu")

    def residual_down(y, prefix, size, channels):
        out_channels = weights[f"{prefix}/conv1/conv/filters"].shape[3]
        out = g.conv_layer(y, f"{prefix}/conv1", 2, True, "valid")
        out = g.conv_layer(out, f"{prefix}/conv2", 1, False, "same")
        out_size = conv_out(size, 3, 2, "valid")
        pooled = g.op("AveragePool", [y], prefix + "/avgpool", kernel_shape=[2, 2], strides=[2, 2])
        pooled_size = (size - 2) // 2 + 1
        if pooled_size != out_size:
            if pooled_size != out_size + 1:
                raise SystemExit(f"{prefix}: unexpected sizes {pooled_size} vs {out_size}")
            pads = g.const(prefix + "/pad_hw", np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int64))
            out = g.op("Pad", [out, pads], prefix + "/pad_hw")
        if out_channels != channels:
            pads = g.const(prefix + "/pad_c", np.array([0, 0, 0, 0, 0, out_channels - channels, 0, 0], dtype=np.int64))
            pooled = g.op("Pad", [pooled, pads], prefix + "/pad_c")
        y = g.op("Relu", [g.op("Add", [pooled, out], prefix + "/add")], prefix + "/relu")
        return y, pooled_size, out_channels

    for p in ["conv32_1", "conv32_2", "conv32_3"]:
        y = residual(y, p)
    y, size, channels = residual_down(y, "conv64_down", size, channels)
    for p in ["conv64_1", "conv64_2", "conv64_3"]:
        y = residual(y, p)
    y, size, channels = residual_down(y, "conv128_down", size, channels)
    for p in ["conv128_1", "conv128_2"]:
        y = residual(y, p)
    y, size, channels = residual_down(y, "conv256_down", size, channels)
    for p in ["conv256_1", "conv256_2"]:
        y = residual(y, p)
    y, size, channels = residual_down(y, "conv256_down_out", size, channels)
    y = g.op("ReduceMean", [y], "global_avg", axes=[2, 3], keepdims=0)
    fc = g.const("fc", weights["fc"])
    g.nodes.append(helper.make_node("MatMul", [y, fc], ["template"], name="fc"))

    graph = helper.make_graph(
        g.nodes,
        "dlib_resnet_face_template",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("template", TensorProto.FLOAT, ["N", 128])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="utkik-face-api-to-onnx")
    model.ir_version = 8
    model.doc_string = (
        "dlib face recognition ResNet (128-D templates), converted from npm @vladmandic/face-api@1.7.15 "
        "(MIT) TF.js weights. Input: RGB 0..255 NCHW 150x150 aligned face. Output: 128-D template; "
        "Euclidean distance < 0.6 = same person on dlib's scale."
    )
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: face_api_to_onnx.py MODEL_DIR OUT.onnx")
    model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    model = build(load_weights(model_dir))
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(model.SerializeToString())
    tmp.replace(out)
    print(f"face_api_to_onnx: wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
