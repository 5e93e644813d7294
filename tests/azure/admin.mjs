// Sets up the Azurite Blob service for tests/all/azure.rs with the official client:
// `node admin.mjs ENDPOINT ACCOUNT KEY STEP...`, each step a JSON array:
// ["container", NAME] | ["put", CONTAINER, BLOB, FILE] | ["delete", CONTAINER, BLOB].
// The test CA comes from NODE_EXTRA_CA_CERTS.
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

const [endpoint, account, key, ...steps] = process.argv.slice(2);
const service = new BlobServiceClient(
  `${endpoint}/${account}`,
  new StorageSharedKeyCredential(account, key),
);
for (const step of steps) {
  const [op, container, name, file] = JSON.parse(step);
  const c = service.getContainerClient(container);
  if (op === "container") await c.createIfNotExists();
  else if (op === "put") await c.getBlockBlobClient(name).uploadFile(file);
  else if (op === "delete") await c.getBlobClient(name).deleteIfExists();
  else throw new Error(`unknown step ${step}`);
}
