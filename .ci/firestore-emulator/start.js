// Starts the Firestore emulator of @firestore-emulator/server on a free
// loopback port and prints "listening 127.0.0.1:<port>" once it accepts
// connections. .ci/run reads that line and exports FIRESTORE_EMULATOR_HOST.
//
// The package's own FirestoreServer.start binds 0.0.0.0 on a fixed port; we
// bind its gRPC server to 127.0.0.1:0 instead, so the kernel picks a free
// port and nothing listens beyond loopback.
"use strict";
const { FirestoreServer } = require("@firestore-emulator/server");
const { ServerCredentials } = require("@grpc/grpc-js");

const host = process.env.FIRESTORE_EMULATOR_BIND || "127.0.0.1:0";
const emulator = new FirestoreServer();
// FirestoreServer keeps its grpc-js Server in a TypeScript-private field.
const server = emulator.server;
if (!server || typeof server.bindAsync !== "function") {
  console.error("start.js: @firestore-emulator/server changed: no grpc Server in FirestoreServer.server");
  process.exit(1);
}
server.bindAsync(host, ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`start.js: bind ${host}: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening 127.0.0.1:${port}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.forceShutdown();
    process.exit(0);
  });
}
