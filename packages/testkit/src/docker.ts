import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  symlinkSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, it } from "vitest";

/**
 * A Docker engine for the tests that run real containers. When `docker info` does not answer and
 * this process is root, the kit starts `dockerd --iptables=false --bridge=none` itself (its log
 * in a temporary file) and stops it again after the suite; containers then use the host's network
 * (`--network host`), which is all the tests need. No registry is reachable: the base image is
 * made here (see nodeBaseImage).
 */

const SOCKET = "/var/run/docker.sock";

interface Engine {
  /** The dockerd this process started, if it did. */
  readonly child?: { readonly pid: number; readonly log: string };
}

let engine: Engine | undefined;
let engineProblem: string | undefined;

function dockerAnswers(): boolean {
  return (
    spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "ignore", timeout: 15_000 })
      .status === 0
  );
}

function onPath(program: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", program], { stdio: "ignore" }).status === 0;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A Docker engine that answers: the one running, or a dockerd started now (root only; up to 30 s
 * for its socket). Throws, saying why, when there is none. Synchronous, so a suite can be skipped
 * at collection time.
 */
export function ensureDockerEngine(): void {
  if (engine) return;
  if (engineProblem) throw new Error(engineProblem);
  const fail = (why: string): never => {
    engineProblem = why;
    throw new Error(why);
  };
  if (!onPath("docker")) fail("the docker command is not installed");
  if (dockerAnswers()) {
    engine = {};
    return;
  }
  if (!onPath("dockerd")) fail("no Docker engine answers and dockerd is not installed");
  if (process.getuid?.() !== 0) fail("no Docker engine answers, and only root can start dockerd");
  const log = join(tmpdir(), `relctl-dockerd-${process.pid}.log`);
  const out = openSync(log, "a");
  const child = spawn("dockerd", ["--iptables=false", "--bridge=none"], {
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (existsSync(SOCKET) && dockerAnswers()) {
      engine = { child: { pid: child.pid!, log } };
      return;
    }
    sleepSync(200);
  }
  if (child.exitCode === null) child.kill("SIGKILL");
  const tail = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-8).join("\n") : "";
  fail(`dockerd did not start (log: ${log}):\n${tail}`);
}

/** Stops the dockerd ensureDockerEngine started (never one that ran before). */
export async function stopDockerEngine(): Promise<void> {
  const child = engine?.child;
  engine = undefined;
  if (!child) return;
  const alive = () => {
    try {
      process.kill(child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(child.pid, "SIGTERM");
  for (let i = 0; i < 150 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) {
    process.kill(child.pid, "SIGKILL");
    return; // the log stays for a look
  }
  await rm(child.log, { force: true });
}

/**
 * true → run the Docker tests (an engine answers, started if need be). When none can: warns and
 * returns false, or throws when RELCTL_REQUIRE_DOCKER=1 (CI must not silently skip them).
 */
export function requireDockerOrSkip(): boolean {
  try {
    ensureDockerEngine();
    return true;
  } catch (error) {
    const why = (error as Error).message;
    if (process.env.RELCTL_REQUIRE_DOCKER === "1") {
      throw new Error(`RELCTL_REQUIRE_DOCKER=1 but Docker cannot run: ${why}`);
    }
    console.warn(`Docker tests are SKIPPED: ${why} (set RELCTL_REQUIRE_DOCKER=1 to fail instead)`);
    return false;
  }
}

/** A suite that runs real containers: skipped without Docker (failing with RELCTL_REQUIRE_DOCKER=1). */
export function describeWithDocker(name: string, fn: () => void): void {
  let run: boolean;
  try {
    run = requireDockerOrSkip();
  } catch (error) {
    describe(name, () => {
      it("needs Docker", () => {
        throw error;
      });
    });
    return;
  }
  if (!run) {
    describe.skip(name, fn);
    return;
  }
  describe(name, () => {
    afterAll(stopDockerEngine);
    fn();
  });
}

/** The files `ldd` says a program loads (nothing for a static one). */
function librariesOf(program: string): string[] {
  const r = spawnSync("ldd", [program], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return r.stdout
    .split("\n")
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((p): p is string => p !== undefined);
}

/**
 * A small local base image, with no registry: a root filesystem holding this machine's `node`, a
 * `/bin/sh` (busybox when installed, else the shell /bin/sh is) and the libraries `ldd` lists for
 * them, imported with `docker import` as `relctl-test-node:<hash of those files>`; reused when
 * present. Images built FROM it run `node` and `sh` scripts (shell builtins only, besides node).
 */
export async function nodeBaseImage(): Promise<string> {
  ensureDockerEngine();
  const node = realpathSync(process.execPath);
  const busybox = onPath("busybox")
    ? realpathSync(execFileSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).trim())
    : undefined;
  const shell = busybox ?? realpathSync("/bin/sh");
  // Where each file goes in the image → where it comes from on this machine.
  const files = new Map<string, string>([
    ["/usr/bin/node", node],
    [busybox ? "/bin/busybox" : "/bin/sh", shell],
  ]);
  for (const program of [node, shell])
    for (const lib of librariesOf(program)) files.set(lib, realpathSync(lib));
  const hash = createHash("sha256");
  for (const [to, from] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`${to}\0`);
    hash.update(readFileSync(from));
  }
  const tag = `relctl-test-node:${hash.digest("hex").slice(0, 12)}`;
  if (spawnSync("docker", ["image", "inspect", tag], { stdio: "ignore" }).status === 0) return tag;

  const root = await mkdtemp(join(tmpdir(), "relctl-node-image-"));
  try {
    for (const [to, from] of files) {
      mkdirSync(join(root, dirname(to)), { recursive: true });
      copyFileSync(from, join(root, to));
    }
    mkdirSync(join(root, "tmp"));
    if (busybox) symlinkSync("busybox", join(root, "bin/sh"));
    const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const load = spawn(
      "docker",
      ["import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", "--message", "relctl tests", "-", tag],
      { stdio: [tar.stdout, "ignore", "pipe"] },
    );
    let err = "";
    load.stderr.on("data", (c) => {
      err += String(c);
    });
    const code = await new Promise<number | null>((resolve) => load.on("close", resolve));
    if (code !== 0) throw new Error(`docker import ${tag} failed: ${err.trim()}`);
    return tag;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Removes the containers labelled relctl.service=<service> and the images <service>:*. */
export function removeDockerService(service: string): void {
  const ids = (args: string[]) =>
    execFileSync("docker", args, { encoding: "utf8" })
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
  const containers = ids(["ps", "--all", "--quiet", "--filter", `label=relctl.service=${service}`]);
  if (containers.length > 0) execFileSync("docker", ["rm", "--force", ...containers], { stdio: "ignore" });
  const images = ids(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", service]);
  if (images.length > 0) execFileSync("docker", ["image", "rm", "--force", ...images], { stdio: "ignore" });
}
