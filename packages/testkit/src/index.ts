// The workspace's test kit (import from "@relctl/testkit"): emulated GitHub and Telegram, a private
// sshd and redis-server, throwaway databases and free ports, shared by every package's tests,
// benchmarks and scripts.
export * from "./csv.js";
export * from "./databases.js";
export * from "./docker.js";
export * from "./github-emulator.js";
export * from "./haproxy.js";
export * from "./loopback-server.js";
export * from "./mini-service.js";
export * from "./net.js";
export * from "./oidc-issuer.js";
export * from "./otlp-receiver.js";
export * from "./postgres-instance.js";
export * from "./prometheus.js";
export * from "./redis-server.js";
export * from "./sshd.js";
export * from "./telegram-emulator.js";
