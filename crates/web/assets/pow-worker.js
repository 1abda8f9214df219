// The sign-in puzzle (proof of work), solved off the main thread: find a
// decimal nonce so that SHA-256(salt + nonce) starts with `bits` zero bits.
// Uses crypto.subtle where the page is a secure context (https, localhost)
// and a small SHA-256 of its own elsewhere. Reports progress as it goes.
'use strict';

var K = new Uint32Array([
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
  0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
  0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
  0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
var W = new Uint32Array(64);

function ror(x, n) { return (x >>> n) | (x << (32 - n)); }

function sha256(msg) {
  var len = msg.length, size = ((len + 9 + 63) >> 6) << 6;
  var buf = new Uint8Array(size), dv = new DataView(buf.buffer);
  buf.set(msg); buf[len] = 0x80;
  dv.setUint32(size - 8, Math.floor(len / 0x20000000)); dv.setUint32(size - 4, (len * 8) >>> 0);
  var H = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  for (var off = 0; off < size; off += 64) {
    var t;
    for (t = 0; t < 16; t++) W[t] = dv.getUint32(off + t * 4);
    for (t = 16; t < 64; t++) {
      var x = W[t - 15], y = W[t - 2];
      W[t] = (W[t - 16] + (ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) + W[t - 7] + (ror(y, 17) ^ ror(y, 19) ^ (y >>> 10))) | 0;
    }
    var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (t = 0; t < 64; t++) {
      var t1 = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
      var t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }
  var out = new Uint8Array(32), odv = new DataView(out.buffer);
  for (var i = 0; i < 8; i++) odv.setUint32(i * 4, H[i] >>> 0);
  return out.buffer;
}

function zeroBits(bytes) {
  var z = 0;
  for (var i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) { z += 8; continue; }
    return z + Math.clz32(bytes[i]) - 24;
  }
  return z;
}

var subtle = self.crypto && self.crypto.subtle;
var encoder = new TextEncoder();

function digest(text) {
  var data = encoder.encode(text);
  return subtle ? subtle.digest('SHA-256', data) : Promise.resolve(sha256(data));
}

self.onmessage = async function (event) {
  var salt = String(event.data.salt), bits = event.data.bits | 0, batch = 256, n = 0, last = Date.now();
  try {
    for (;;) {
      var jobs = [];
      for (var i = 0; i < batch; i++) jobs.push(digest(salt + (n + i)));
      var digests = await Promise.all(jobs);
      for (var j = 0; j < digests.length; j++) {
        if (zeroBits(new Uint8Array(digests[j])) >= bits) {
          self.postMessage({ type: 'done', nonce: String(n + j), tries: n + j + 1 });
          return;
        }
      }
      n += batch;
      if (Date.now() - last > 120) { last = Date.now(); self.postMessage({ type: 'progress', tries: n }); }
    }
  } catch (err) {
    self.postMessage({ type: 'error', message: String(err) });
  }
};

if (typeof module !== 'undefined') module.exports = { sha256: sha256, zeroBits: zeroBits };
