// Real webhook payloads for retrain's bot tests.
//   node webhooks.mjs examples            -> { "<event>": [payload, ...] } from @octokit/webhooks-examples
//                                            (index 0 of each event skipped: it lacks newer fields)
//   node webhooks.mjs validate EVENT FILE -> exit 0 when FILE is a valid EVENT payload under
//                                            @octokit/webhooks-schemas, else 1 with the errors
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const EVENTS = ["push", "pull_request", "issue_comment", "installation", "installation_repositories", "ping", "workflow_dispatch"];
const [cmd, event, file] = process.argv.slice(2);

if (cmd === "examples") {
  const all = require("@octokit/webhooks-examples/api.github.com/index.json");
  const out = {};
  for (const e of all) if (EVENTS.includes(e.name)) out[e.name] = e.examples.slice(1);
  process.stdout.write(JSON.stringify(out));
} else if (cmd === "validate" && event && file) {
  const Ajv = require("ajv");
  const addFormats = require("ajv-formats");
  const schema = require("@octokit/webhooks-schemas/schema.json");
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(schema, "webhooks");
  const payload = JSON.parse(fs.readFileSync(file, "utf8"));
  const name = payload.action ? `${event}$${payload.action}` : `${event}$event`;
  const validate = ajv.getSchema(`webhooks#/definitions/${name}`) || ajv.getSchema(`webhooks#/definitions/${event}_event`);
  if (!validate) {
    console.error(`no schema for ${name}`);
    process.exit(2);
  }
  if (!validate(payload)) {
    console.error(JSON.stringify(validate.errors.slice(0, 10), null, 1));
    process.exit(1);
  }
} else {
  console.error("usage: node webhooks.mjs examples | validate EVENT FILE");
  process.exit(2);
}
