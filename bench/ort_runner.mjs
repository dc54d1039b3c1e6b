// The ONNX Runtime peer of the latency bench (bench/latency.py starts it,
// pinned with taskset): ONNX Runtime's CPU provider through npm's
// onnxruntime-node, one thread (intraOpNumThreads 1, interOpNumThreads 1,
// graphOptimizationLevel 'all', executionMode 'sequential').
// usage: node bench/ort_runner.mjs ORT_DIR   (ORT_DIR/node_modules has
//        onnxruntime-node, installed by bench/latency.py)
// A long-lived worker like bench/torch_runner.py: one JSON request per line
// on stdin, one JSON reply per line on stdout. First it prints
// {"ok": true, "version": V} once onnxruntime-node has loaded, or
// {"ok": false, "error": TEXT} and exits.
//   {"cmd": "load", "model": NAME, "onnx": FILE.onnx,
//    "inputs": {IN: FILE.npy}, "outputs": {OUT: FILE.npy}}
//       creates the session, warms it up, runs it once and writes outputs
//   {"cmd": "bench", "model": NAME, "min_time": SECONDS, "min_iters": N}
//       a short warm-up, then timed runs until both are reached:
//       {"median_ms", "min_ms", "iters"}
//   {"cmd": "quit"}
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

let ort;
try {
  const ortDir = path.resolve(process.argv[2] || '.');
  const require = createRequire(path.join(ortDir, 'node_modules', 'bench.js'));
  ort = require('onnxruntime-node');
} catch (e) {
  reply({ ok: false, error: String(e && e.message ? e.message : e) });
  process.exit(1);
}

// A float32, C-order .npy file -> { shape, data: Float32Array }.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${file}: not float32 in C order (${header.trim()})`);
  const dims = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',')
    .map((s) => s.trim()).filter((s) => s.length).map(Number);
  const bytes = buf.subarray(start + hlen);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength));
  return { shape: dims, data };
}

// Writes a float32 tensor as a version-1 .npy file.
function writeNpy(file, shape, data) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

const sessions = new Map(); // name -> { session, feeds }
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

async function load(req) {
  const session = await ort.InferenceSession.create(req.onnx, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const feeds = {};
  for (const [name, file] of Object.entries(req.inputs)) {
    const { shape, data } = readNpy(file);
    feeds[name] = new ort.Tensor('float32', data, shape);
  }
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const res = await session.run(feeds);
  for (const [name, file] of Object.entries(req.outputs)) {
    if (!(name in res)) throw new Error(`no output "${name}" (has ${Object.keys(res)})`);
    writeNpy(file, res[name].dims, res[name].data);
  }
  sessions.set(req.model, { session, feeds });
  return {};
}

async function bench(req) {
  const { session, feeds } = sessions.get(req.model);
  const minMs = req.min_time * 1e3;
  const warmEnd = now() + 0.1 * minMs;
  await session.run(feeds);
  while (now() < warmEnd) await session.run(feeds);
  const times = [];
  const start = now();
  while (times.length < req.min_iters || now() - start < minMs) {
    const t0 = now();
    await session.run(feeds);
    times.push(now() - t0);
  }
  times.sort((a, b) => a - b);
  const n = times.length;
  const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  return { median_ms: median, min_ms: times[0], iters: n };
}

reply({ ok: true, version: ort.env.versions ? ort.env.versions.common : '?' });
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  if (req.cmd === 'quit') break;
  try {
    const out = req.cmd === 'load' ? await load(req) : await bench(req);
    reply({ ok: true, ...out });
  } catch (e) {
    process.stderr.write(`ort_runner: ${e && e.stack ? e.stack : e}\n`);
    reply({ ok: false, error: String(e && e.message ? e.message : e) });
  }
}
process.exit(0);
