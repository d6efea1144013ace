import type { DedupeCache } from "@relctl/core";
import { Redis } from "ioredis";
import type { Logger } from "../logger.js";

export interface RedisDedupeCache extends DedupeCache {
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Redis as the alerts' de-duplication memory (SET NX EX). Commands fail at once while Redis is
 * unreachable (no offline queue), so the caller falls back to the database instead of waiting.
 */
export function createRedisDedupeCache(url: string, prefix: string, logger: Logger): RedisDedupeCache {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastLogged = 0;
  redis.on("error", (err) => {
    if (Date.now() - lastLogged > 30_000) {
      lastLogged = Date.now();
      logger.warn("redis unavailable; alerts are de-duplicated by the database", { err });
    }
  });
  return {
    async claim(key, ttlSeconds) {
      const result = await redis.set(`${prefix}${key}`, "1", "EX", ttlSeconds, "NX");
      return result === "OK";
    },
    async release(key) {
      await redis.del(`${prefix}${key}`);
    },
    async ping() {
      return (await redis.ping()) === "PONG";
    },
    async close() {
      redis.disconnect();
    },
  };
}
