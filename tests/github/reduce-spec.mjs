// Reduces GitHub's official OpenAPI description (@octokit/openapi, pinned in
// package.json) to the operations retrain uses (operations.json), keeping every
// component they reference, and points the servers (API and uploads) at a local test
// server. Usage: node reduce-spec.mjs OUT.json [BASE_URL]
//
// Two known traps of the full description are handled here:
// - `{ref}` (and `{path}`) are multi-segment ("heads/retrain/m/abc"): for each such
//   path, variants with 1 to 6 segments are added so a validator can match them;
// - GitHub's own pull-request examples violate its schema (`requested_teams[].type`):
//   examples are dropped, only schemas are kept;
// - `GET /repos/{owner}/{repo}/releases/assets/{asset_id}` with `Accept:
//   application/octet-stream` answers 302 to a storage URL, and a proxy that follows
//   it (prism does) then sees 200 with the bytes, which GitHub documents in prose
//   ("the API will either redirect the client to the location, or stream it directly")
//   but not in the description: that 200 gets an `application/octet-stream` content.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const specPath = require.resolve("@octokit/openapi/generated/api.github.com.json");
const spec = JSON.parse(fs.readFileSync(specPath, "utf8"));
const here = path.dirname(new URL(import.meta.url).pathname);
const { operations } = JSON.parse(fs.readFileSync(path.join(here, "operations.json"), "utf8"));
const [out, base = "http://127.0.0.1:4010"] = process.argv.slice(2);
if (!out) {
  console.error("usage: node reduce-spec.mjs OUT.json [BASE_URL]");
  process.exit(2);
}

const stripExamples = (v) => {
  if (Array.isArray(v)) return v.map(stripExamples);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "examples" || k === "example") continue;
      o[k] = stripExamples(x);
    }
    return o;
  }
  return v;
};

const paths = {};
for (const [method, p] of operations) {
  const item = spec.paths[p];
  if (!item || !item[method]) {
    console.error(`not in GitHub's description: ${method.toUpperCase()} ${p}`);
    process.exit(1);
  }
  const op = stripExamples(item[method]);
  // servers on an operation (uploads.github.com) point at the test server too
  if (op.servers) op.servers = [{ url: base }];
  const targets = [p];
  const multi = p.match(/\{(ref|path)\}/);
  if (multi) {
    for (let n = 2; n <= 6; n++) {
      const segs = Array.from({ length: n }, (_, i) => `{${multi[1]}_${i + 1}}`).join("/");
      targets.push(p.replace(multi[0], segs));
    }
  }
  for (const t of targets) {
    paths[t] = paths[t] || {};
    const copy = JSON.parse(JSON.stringify(op));
    if (t !== p) {
      copy.operationId = `${copy.operationId}--${t.split("/").length}`;
      const name = multi[1];
      copy.parameters = (copy.parameters || []).flatMap((param) => {
        const resolved = param.$ref ? resolveRef(param.$ref) : param;
        if (resolved.name !== name) return [param];
        const count = (t.match(new RegExp(`\\{${name}_`, "g")) || []).length;
        return Array.from({ length: count }, (_, i) => ({ ...resolved, name: `${name}_${i + 1}` }));
      });
    }
    paths[t][method] = copy;
  }
}
{
  const op = paths["/repos/{owner}/{repo}/releases/assets/{asset_id}"]?.get;
  if (op) op.responses["200"].content["application/octet-stream"] = { schema: { type: "string", format: "binary" } };
}

function resolveRef(ref) {
  const parts = ref.replace(/^#\//, "").split("/");
  let v = spec;
  for (const part of parts) v = v[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return v;
}

// Keep every component reachable from the kept operations.
const keep = new Set();
const visit = (v) => {
  if (Array.isArray(v)) return v.forEach(visit);
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/components/") && !keep.has(x)) {
        keep.add(x);
        visit(resolveRef(x));
      } else visit(x);
    }
  }
};
visit(paths);
const components = {};
for (const ref of keep) {
  const [, , kind, name] = ref.split("/");
  components[kind] = components[kind] || {};
  components[kind][name] = stripExamples(resolveRef(ref));
}

const reduced = {
  openapi: spec.openapi,
  info: { ...spec.info, title: `${spec.info.title} (reduced for retrain's tests)` },
  servers: [{ url: base }],
  paths,
  components,
};
fs.writeFileSync(out, JSON.stringify(reduced, null, 1) + "\n");
console.error(`${out}: ${Object.keys(paths).length} paths, ${keep.size} components from ${path.basename(specPath)} ${spec.info.version}`);
