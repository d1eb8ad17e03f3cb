// Reference face templates from the face-api package itself, in Node with
// TensorFlow.js's pure-JS CPU backend (no native code), to prove our ONNX
// conversion (models/convert/face_api_to_onnx.py) right.
//
// face-api's Node build asks for @tensorflow/tfjs-node (native, fetched from
// a CDN we cannot reach); we resolve that name to the pure-JS
// @tensorflow/tfjs of the same version, which has the same API.
//
// Usage: node face_api_reference.cjs MODEL_DIR CROPS.f32 N OUT.f32
//   CROPS.f32: N x 150 x 150 x 3 little-endian float32 RGB 0..255 (NHWC)
//   OUT.f32:   N x 128 little-endian float32 templates
const Module = require('module');
const fs = require('fs');
const path = require('path');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === '@tensorflow/tfjs-node' ? '@tensorflow/tfjs' : request, ...rest);
};
const faceapi = require('@vladmandic/face-api/dist/face-api.node.js');
const tf = faceapi.tf;

async function main() {
  const [modelDir, cropsPath, nStr, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: face_api_reference.cjs MODEL_DIR CROPS.f32 N OUT.f32');
  await tf.setBackend('cpu');
  await tf.ready();
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'face_recognition_model-weights_manifest.json')));
  const buffers = manifest[0].paths.map((p) => fs.readFileSync(path.join(modelDir, p)));
  const data = Buffer.concat(buffers);
  const weightMap = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.length), manifest[0].weights);
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(weightMap);
  const n = Number(nStr);
  const raw = fs.readFileSync(cropsPath);
  const crops = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  if (crops.length !== n * 150 * 150 * 3) throw new Error(`${cropsPath}: expected ${n} crops of 150x150x3 floats`);
  const out = new Float32Array(n * 128);
  for (let i = 0; i < n; i++) {
    const t = tf.tensor4d(crops.subarray(i * 67500, (i + 1) * 67500), [1, 150, 150, 3]);
    const d = await net.computeFaceDescriptor(t);
    out.set(d, i * 128);
    t.dispose();
  }
  fs.writeFileSync(outPath, Buffer.from(out.buffer));
  console.log(`face_api_reference: ${n} templates, backend ${tf.getBackend()}, tfjs ${tf.version_core}, face-api ${faceapi.version}`);
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
