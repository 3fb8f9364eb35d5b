#!/usr/bin/env node
// Files of the demo project too large to track whole (the int8 ResNet-50 in the DVC remote is 23 MB;
// the repository keeps every tracked file under 10 MB) are tracked as parts under models/split/,
// at the path the whole file has under models/, with suffixes .00, .01, ...
//
//   node models/split-files.cjs            joins every split file that is missing or stale (npm's
//                                          postinstall runs this, so `npm ci` restores them)
//   node models/split-files.cjs --split F  splits models/F into parts (F relative to models/)
//
// A joined file in the DVC remote (files/md5/xx/yyyy...) must hash to its own name, or nothing is
// written and the command fails.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const MODELS = __dirname;
const SPLIT = path.join(MODELS, 'split');
const PART_BYTES = 9 * 1024 * 1024;

function partsOf(base) {
  const parts = [];
  for (let i = 0; fs.existsSync(`${base}.${String(i).padStart(2, '0')}`); i++) parts.push(`${base}.${String(i).padStart(2, '0')}`);
  return parts;
}

function* splitBases(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* splitBases(full);
    else if (entry.name.endsWith('.00')) yield full.slice(0, -3);
  }
}

/** The md5 a DVC remote path names (files/md5/ab/cdef...), if it is one. */
function expectedMd5(relative) {
  const m = /(?:^|\/)files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})$/.exec(relative.split(path.sep).join('/'));
  return m ? m[1] + m[2] : null;
}

function join() {
  let joined = 0;
  for (const base of splitBases(SPLIT)) {
    const relative = path.relative(SPLIT, base);
    const target = path.join(MODELS, relative);
    const parts = partsOf(base);
    const size = parts.reduce((s, p) => s + fs.statSync(p).size, 0);
    if (fs.existsSync(target) && fs.statSync(target).size === size) continue;
    const data = Buffer.concat(parts.map((p) => fs.readFileSync(p)));
    const md5 = expectedMd5(relative);
    const actual = crypto.createHash('md5').update(data).digest('hex');
    if (md5 && actual !== md5) throw new Error(`models/${relative}: its ${parts.length} parts join to md5 ${actual}, not ${md5}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
    joined++;
  }
  if (joined) process.stdout.write(`models/split-files.cjs: joined ${joined} file(s)\n`);
}

function split(relative) {
  const source = path.join(MODELS, relative);
  const data = fs.readFileSync(source);
  const base = path.join(SPLIT, relative);
  for (const old of partsOf(base)) fs.rmSync(old);
  fs.mkdirSync(path.dirname(base), { recursive: true });
  for (let i = 0, offset = 0; offset < data.length; i++, offset += PART_BYTES) {
    fs.writeFileSync(`${base}.${String(i).padStart(2, '0')}`, data.subarray(offset, offset + PART_BYTES));
  }
  process.stdout.write(`models/${relative}: ${partsOf(base).length} parts under models/split/ (add models/${relative} to .gitignore)\n`);
}

try {
  if (process.argv[2] === '--split') {
    if (!process.argv[3]) throw new Error('usage: node models/split-files.cjs --split <path under models/>');
    split(process.argv[3]);
  } else join();
} catch (e) {
  process.stderr.write(`models/split-files.cjs: ${e.message}\n`);
  process.exit(1);
}
