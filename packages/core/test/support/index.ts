// Test helpers shared by the workspace's test suites (import from "@relctl/core/testing").
export * from "./databases.js";
export * from "./net.js";
export * from "./sshd.js";
