// Golden files of the GitHub Actions runner protocol, as the pinned @actions/core
// (tests/action/package.json) writes it, for the values in golden/cases.json.
// retrain's own writer (src/action.rs) is tested against these files.
//
//   node tests/action/golden.mjs           write the files under golden/
//   node tests/action/golden.mjs --check   exit 1 if any file differs or is stale
//
// Files (bytes exactly as written; the runner is Linux, so os.EOL is "\n"):
//   golden/output/<id>.txt      $GITHUB_OUTPUT after core.setOutput(name, value)
//   golden/annotation/<id>.txt  stdout of core.error|warning|notice(message, properties)
//   golden/add-mask/<id>.txt    stdout of core.setSecret(value)
//   golden/group/<id>.txt       stdout of core.startGroup(name); core.info("inside"); core.endGroup()
//
// Normalisation: setOutput's delimiter is "ghadelimiter_" + a random UUID; the
// UUID is replaced by 00000000-0000-0000-0000-000000000000 (both occurrences).
// Nothing else is changed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@actions/core";

const here = path.dirname(fileURLToPath(import.meta.url));
const goldenDir = path.join(here, "golden");
const FIXED_UUID = "00000000-0000-0000-0000-000000000000";
const check = process.argv.includes("--check");

if (os.EOL !== "\n") {
  console.error("golden.mjs: run on Linux or macOS (os.EOL must be \\n, as on the runners retrain supports)");
  process.exit(2);
}

const cases = JSON.parse(fs.readFileSync(path.join(goldenDir, "cases.json"), "utf8"));

// Capture what @actions/core writes to stdout while fn runs.
function captureStdout(fn) {
  const chunks = [];
  const original = process.stdout.write;
  process.stdout.write = (chunk, encoding, cb) => {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8"));
    if (typeof encoding === "function") encoding();
    else if (typeof cb === "function") cb();
    return true;
  };
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return Buffer.concat(chunks);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "retrain-golden-"));
const files = new Map(); // relative path -> Buffer

for (const c of cases.outputs) {
  const file = path.join(tmp, `output-${c.id}`);
  fs.writeFileSync(file, "");
  process.env.GITHUB_OUTPUT = file;
  core.setOutput(c.name, c.value);
  let text = fs.readFileSync(file, "utf8");
  const m = /^[^\n]*<<ghadelimiter_([0-9a-f-]{36})\n/.exec(text);
  if (!m) throw new Error(`output ${c.id}: no delimiter in ${JSON.stringify(text)}`);
  const occurrences = text.split(m[1]).length - 1;
  if (occurrences !== 2) throw new Error(`output ${c.id}: the UUID occurs ${occurrences} times`);
  text = text.split(m[1]).join(FIXED_UUID);
  files.set(`output/${c.id}.txt`, Buffer.from(text, "utf8"));
}
delete process.env.GITHUB_OUTPUT;

for (const c of cases.annotations) {
  const out = captureStdout(() => core[c.level](c.message, c.properties));
  files.set(`annotation/${c.id}.txt`, out);
}
for (const c of cases.secrets) {
  files.set(`add-mask/${c.id}.txt`, captureStdout(() => core.setSecret(c.value)));
}
for (const c of cases.groups) {
  const out = captureStdout(() => {
    core.startGroup(c.name);
    core.info("inside");
    core.endGroup();
  });
  files.set(`group/${c.id}.txt`, out);
}
fs.rmSync(tmp, { recursive: true, force: true });

const subdirs = ["output", "annotation", "add-mask", "group"];
if (check) {
  const problems = [];
  for (const [rel, want] of files) {
    const p = path.join(goldenDir, rel);
    if (!fs.existsSync(p)) problems.push(`missing ${rel}`);
    else if (!fs.readFileSync(p).equals(want)) problems.push(`differs ${rel}`);
  }
  for (const sub of subdirs) {
    const dir = path.join(goldenDir, sub);
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (!files.has(`${sub}/${name}`)) problems.push(`stale ${sub}/${name}`);
    }
  }
  if (problems.length) {
    console.log(`golden: ${problems.length} problem(s); regenerate with node tests/action/golden.mjs`);
    for (const p of problems) console.log(`  ${p}`);
    process.exit(1);
  }
  console.log(`golden: ${files.size} file(s) match @actions/core`);
} else {
  for (const sub of subdirs) fs.rmSync(path.join(goldenDir, sub), { recursive: true, force: true });
  for (const [rel, content] of files) {
    const p = path.join(goldenDir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
  console.log(`golden: wrote ${files.size} file(s) under ${path.relative(process.cwd(), goldenDir) || "."}`);
}
