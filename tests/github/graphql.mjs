// Validates a GraphQL document (argv[2]) against GitHub's GraphQL schema, as pinned by
// @octokit/graphql-schema: exits 1 with the errors when GitHub would refuse it.
// `node graphql.mjs 'mutation($id: ID!) { ... }'`
import { readFileSync } from "node:fs";
import { buildClientSchema, parse, validate } from "graphql";

// the introspection result (its SDL twin repeats two fields, which graphql-js refuses)
const schemaFile = new URL("node_modules/@octokit/graphql-schema/schema.json", import.meta.url);
const introspection = JSON.parse(readFileSync(schemaFile, "utf8"));
const schema = buildClientSchema(introspection.data ?? introspection);
const document = process.argv[2];
if (!document) {
  console.error("usage: node graphql.mjs DOCUMENT");
  process.exit(2);
}
let errors;
try {
  errors = validate(schema, parse(document));
} catch (e) {
  errors = [e];
}
for (const e of errors) console.error(e.message);
process.exit(errors.length ? 1 : 0);
