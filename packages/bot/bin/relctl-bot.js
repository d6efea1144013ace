#!/usr/bin/env node
// The approvals service (Telegram bot + HTTP API). Configured by environment variables; see README.
await import("../dist/main.js");
