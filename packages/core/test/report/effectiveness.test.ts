/// <reference lib="dom" />
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  DEFAULT_APPROVAL_POLICY,
  type EffectivenessReport,
  type ReleaseStatus,
  ReleaseStore,
  RunStore,
  renderReportHtml,
  reportEffectiveness,
} from "../../src/index.js";

const as = (user: string): Actor => ({ user, channel: "cli" });
const HOUR = 3_600_000;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
/** The history starts 10 days back; the report covers 14 days, so the history's hours fall in days 4 to 8. */
const T = now.getTime() - 10 * 24 * HOUR;
const at = (hours: number, seconds = 0) => new Date(T + hours * HOUR + seconds * 1000);

/**
 * A seeded history, through the core stores, with the times of each run and release set after:
 *   auth v1  created T+0h, approved, deployed at T+2h in 300 s                      lead 7500 s
 *   auth v2  created T+24h, approved, deploy at T+26h rolled back by itself after 600 s
 *   auth v3  created T+48h, approved, deployed at T+49h in 200 s                    lead 3800 s
 *            rolled back by hand (carol) to v1 at T+51h in 120 s: restored 7120 s after v3 went live
 *   auth v4  created T+72h, approved by QA, rejected by DevOps
 *   web v1   created T+24h, approved, deployed at T+30h in 400 s                    lead 22000 s
 *   web v2   created T+96h, approved, its deploy at T+97h failed after 100 s
 *   web      a stage deploy (not gated), which the report leaves out
 * People: ci creates and builds, quinn, dora and lee approve, deployer deploys.
 */
async function seed(sql: TestDatabase["db"]["sql"]) {
  const releases = new ReleaseStore(sql);
  const runs = new RunStore(sql);
  async function release(service: string, tag: string, createdH: number, rejected = false) {
    const { release: r } = await releases.createRelease({ service, tag }, as("ci"));
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
      await releases.transition(r.id, s, "runbook", as("ci"));
    await releases.decide(r.id, { role: "qa", decision: "approve" }, DEFAULT_APPROVAL_POLICY, as("quinn"));
    if (rejected) {
      await releases.decide(
        r.id,
        { role: "devops", decision: "reject", reason: "login broken" },
        DEFAULT_APPROVAL_POLICY,
        as("dora"),
      );
    } else {
      await releases.decide(
        r.id,
        { role: "devops", decision: "approve" },
        DEFAULT_APPROVAL_POLICY,
        as("dora"),
      );
      await releases.decide(r.id, { role: "lead", decision: "approve" }, DEFAULT_APPROVAL_POLICY, as("lee"));
    }
    await sql`UPDATE releases SET created_at = ${at(createdH)} WHERE id = ${r.id}`;
    return r.id;
  }
  async function move(id: number, statuses: readonly ReleaseStatus[], by = "deployer") {
    for (const s of statuses) await releases.transition(id, s, "runbook", as(by));
  }
  async function run(
    kind: "deploy" | "rollback",
    service: string,
    releaseId: number | null,
    tag: string,
    fromTag: string | null,
    status: "succeeded" | "failed" | "rolled_back",
    startH: number,
    seconds: number,
    environment = "production",
  ) {
    const r = await runs.createRun({
      kind,
      service,
      environment,
      releaseId,
      tag,
      fromTag,
      actor: as(kind === "rollback" ? "carol" : "deployer"),
      gated: environment === "production",
    });
    await runs.finishRun(r.id, status);
    await sql`UPDATE runs SET started_at = ${at(startH)}, finished_at = ${at(startH, seconds)} WHERE id = ${r.id}`;
  }

  const a1 = await release("auth", "v1", 0);
  await move(a1, ["deploying", "deployed"]);
  await run("deploy", "auth", a1, "v1", null, "succeeded", 2, 300);

  const a2 = await release("auth", "v2", 24);
  await move(a2, ["deploying", "production_rollback", "rollback_done"]);
  await run("deploy", "auth", a2, "v2", "v1", "rolled_back", 26, 600);

  const a3 = await release("auth", "v3", 48);
  await move(a3, ["deploying", "deployed"]);
  await run("deploy", "auth", a3, "v3", "v1", "succeeded", 49, 200);
  await move(a3, ["production_rollback", "rollback_done"], "carol");
  await run("rollback", "auth", a3, "v1", "v3", "succeeded", 51, 120);

  await release("auth", "v4", 72, true);

  const w1 = await release("web", "v1", 24);
  await move(w1, ["deploying", "deployed"]);
  await run("deploy", "web", w1, "v1", null, "succeeded", 30, 400);
  await run("deploy", "web", w1, "v1", null, "succeeded", 25, 50, "stage");

  const w2 = await release("web", "v2", 96);
  await move(w2, ["deploying", "production_failed"]);
  await run("deploy", "web", w2, "v2", "v1", "failed", 97, 100);
}

describe("the effectiveness report of a seeded history", () => {
  let t: TestDatabase;
  let report: EffectivenessReport;

  beforeAll(async () => {
    t = await createPostgresTestDatabase();
    await seed(t.db.sql);
    report = await reportEffectiveness(t.db.sql, { since: "14d", now });
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("gives the seed's figures computed by hand", () => {
    expect(report.interval).toBe("day");
    // Live: auth v1 (300 s), auth v3 (200 s), web v1 (400 s); the stage run is not production.
    expect(report.deploys).toEqual({ count: 3, meanSeconds: 300, medianSeconds: 300 });
    // Ended in production: auth v1, v2, v3, web v1, v2 (auth v4 was rejected); deployed: auth v1, web v1.
    expect(report.releases).toEqual({ finished: 5, successful: 2, successRate: 0.4 });
    // Recoveries: auth v2's automatic rollback (600 s) and the rollback by hand (120 s).
    expect(report.recoveries).toEqual({ count: 2, mttrSeconds: 360 });
    // Incidents: auth v2 rolled back, web v2 failed, the rollback by hand: 3 in 14 days.
    expect(report.incidents).toBe(3);
    expect(report.incidentsPer30Days).toBe(Math.round((3 / 14) * 30 * 10) / 10);
    // People: 5 on each approved release (ci, quinn, dora, lee, deployer), 6 on auth v3 (carol), 3 on auth v4.
    expect(report.peoplePerRelease).toBe(Math.round((29 / 6) * 10) / 10);
  });

  it("gives DORA's four keys computed by hand", () => {
    expect(report.dora).toEqual({
      deploymentsPerDay: Math.round((3 / 14) * 100) / 100,
      // Leads: 7500 s (auth v1), 3800 s (auth v3), 22000 s (web v1).
      leadTimeSeconds: 7500,
      // Production deploys 5: auth v2 rolled back, web v2 failed, auth v3 rolled back by hand.
      changes: 5,
      failedChanges: 3,
      changeFailureRate: 0.6,
      // Restores: 600 s (automatic) and 7120 s (v3 live at T+49h+200s, back on v1 at T+51h+120s).
      timeToRestoreSeconds: (600 + 7120) / 2,
    });
  });

  it("per service", () => {
    expect(report.services.map((s) => s.service)).toEqual(["auth", "web"]);
    const [auth, web] = report.services;
    expect(auth).toMatchObject({
      deploys: { count: 2, meanSeconds: 250, medianSeconds: 250 },
      releases: { finished: 3, successful: 1, successRate: 0.333 },
      recoveries: { count: 2, mttrSeconds: 360 },
      incidents: 2,
      peoplePerRelease: 4.8,
      dora: {
        changes: 3,
        failedChanges: 2,
        changeFailureRate: 0.667,
        leadTimeSeconds: 5650,
        timeToRestoreSeconds: 3860,
      },
    });
    expect(web).toMatchObject({
      deploys: { count: 1, meanSeconds: 400 },
      releases: { finished: 2, successful: 1, successRate: 0.5 },
      recoveries: { count: 0, mttrSeconds: null },
      incidents: 1,
      peoplePerRelease: 5,
      dora: {
        changes: 2,
        failedChanges: 1,
        changeFailureRate: 0.5,
        leadTimeSeconds: 22_000,
        timeToRestoreSeconds: null,
      },
    });
    const onlyWeb = report.services[1]!;
    expect(onlyWeb.dora.deploymentsPerDay).toBe(Math.round((1 / 14) * 100) / 100);
  });

  it("per day: each run in the day it started, each lead time in the day it went live", () => {
    expect(report.periods).toHaveLength(14);
    expect(report.periods[0]!.start).toEqual(new Date(now.getTime() - 14 * 24 * HOUR));
    expect(report.periods.at(-1)!.end).toEqual(now);
    const day = (i: number) => report.periods[i]!;
    expect(day(4)).toMatchObject({
      deploys: { count: 1 },
      dora: { changes: 1, failedChanges: 0, leadTimeSeconds: 7500 },
    });
    expect(day(5)).toMatchObject({
      deploys: { count: 1 },
      dora: { changes: 2, failedChanges: 1, leadTimeSeconds: 22_000, timeToRestoreSeconds: 600 },
    });
    expect(day(6)).toMatchObject({
      deploys: { count: 1 },
      recoveries: { count: 1, mttrSeconds: 120 },
      dora: { changes: 1, failedChanges: 1, leadTimeSeconds: 3800, timeToRestoreSeconds: 7120 },
    });
    expect(day(8)).toMatchObject({
      deploys: { count: 0 },
      dora: { changes: 1, failedChanges: 1 },
      incidents: 1,
    });
    expect(report.periods.reduce((n, p) => n + p.deploys.count, 0)).toBe(3);
    expect(report.periods.reduce((n, p) => n + p.incidents, 0)).toBe(3);
  });

  it("for one service, and by week", async () => {
    const auth = await reportEffectiveness(t.db.sql, {
      since: "14d",
      service: "auth",
      interval: "week",
      now,
    });
    expect(auth.service).toBe("auth");
    expect(auth.services.map((s) => s.service)).toEqual(["auth"]);
    expect(auth.deploys.count).toBe(2);
    expect(auth.periods.map((p) => p.dora.changes)).toEqual([3, 0]);
  });

  describe("its HTML page in headless Chromium", () => {
    const CHROMIUM = "/usr/bin/chromium";
    const present = existsSync(CHROMIUM);
    const required = process.env.RELCTL_REQUIRE_CHROMIUM === "1";
    if (!present && !required)
      console.warn("skipped: the HTML report needs chromium (apt-get install chromium) to render");

    it.skipIf(!present && !required)("renders its charts from the seeded history", async () => {
      expect(present, "chromium is not installed (apt-get install chromium)").toBe(true);
      const { chromium } = await import("playwright-core");
      const dir = mkdtempSync(join(tmpdir(), "relctl-report-"));
      const file = join(dir, "report.html");
      writeFileSync(file, renderReportHtml(report));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
        const failed: string[] = [];
        page.on("pageerror", (e) => failed.push(e.message));
        page.on("request", (r) => {
          if (!r.url().startsWith("file:")) failed.push(`fetched ${r.url()}`);
        });
        await page.goto(`file://${file}`);
        await page.waitForSelector('body[data-charts="4"]', { timeout: 15_000 });
        expect(failed).toEqual([]);
        await expect(page.locator("canvas").count()).resolves.toBe(4);
        const charts = await page.evaluate(() =>
          [...document.querySelectorAll("canvas")].map((c) => {
            const chart = (
              window as unknown as {
                Chart: {
                  getChart(c: HTMLCanvasElement): { data: { datasets: { data: (number | null)[] }[] } };
                };
              }
            ).Chart.getChart(c)!;
            return {
              id: c.id,
              width: c.width,
              height: c.height,
              sums: chart.data.datasets.map((d) => d.data.reduce<number>((a, v) => a + (v ?? 0), 0)),
            };
          }),
        );
        const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
        // Deploys per day: 3 went live, 3 failed changes; per service: auth 2 / 2 / 2, web 1 / 1 / 1.
        expect(byId["chart-deploys"]!.sums).toEqual([3, 3]);
        expect(byId["chart-services"]!.sums).toEqual([3, 3, 3]);
        expect(byId["chart-times"]!.sums[0]).toBeCloseTo((7500 + 22_000 + 3800) / 60, 0);
        expect(byId["chart-rates"]!.sums[0]).toBe(0 + 50 + 100 + 100);
        for (const c of charts) expect(c.width * c.height, c.id).toBeGreaterThan(0);
        expect(await page.locator("table").first().textContent()).toContain("Mean deploy time");

        // The screenshot: each chart's canvas holds its datasets' colours, decoded by the browser.
        const shot = await page.screenshot({ fullPage: true });
        writeFileSync(join(dir, "report.png"), shot);
        const deployShot = await page.locator("#chart-deploys").screenshot();
        const blank = await browser.newPage();
        const count = (png: Buffer, colours: string[]) =>
          blank.evaluate(
            async ({ b64, colours }) => {
              const img = new Image();
              img.src = `data:image/png;base64,${b64}`;
              await img.decode();
              const c = document.createElement("canvas");
              c.width = img.width;
              c.height = img.height;
              const g = c.getContext("2d")!;
              g.drawImage(img, 0, 0);
              const px = g.getImageData(0, 0, c.width, c.height).data;
              const rgb = colours.map((h) => [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16)));
              const found = rgb.map(() => 0);
              let nonWhite = 0;
              for (let i = 0; i < px.length; i += 4) {
                if (px[i]! < 250 || px[i + 1]! < 250 || px[i + 2]! < 250) nonWhite++;
                rgb.forEach(([r, gg, b], k) => {
                  if (
                    Math.abs(px[i]! - r!) < 8 &&
                    Math.abs(px[i + 1]! - gg!) < 8 &&
                    Math.abs(px[i + 2]! - b!) < 8
                  )
                    found[k]!++;
                });
              }
              return { found, nonWhite, total: px.length / 4 };
            },
            { b64: png.toString("base64"), colours },
          );
        const deploys = await count(deployShot, ["#2f7ed8", "#d9534f"]);
        expect(deploys.found[0], "blue bars").toBeGreaterThan(100);
        expect(deploys.found[1], "red bars").toBeGreaterThan(100);
        const page1 = await count(shot, ["#2f7ed8", "#d9534f", "#8e44ad", "#27ae60", "#f0ad4e"]);
        for (const [i, n] of page1.found.entries()) expect(n, `colour ${i} on the page`).toBeGreaterThan(50);
        expect(page1.nonWhite / page1.total).toBeGreaterThan(0.02);
      } finally {
        await browser.close();
        if (process.env.KEEP_REPORT) console.log(dir);
        else rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
