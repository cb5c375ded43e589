/**
 * Vitest globalSetup: starts the real aeontel stack with `test/server.py` once for all test files, hands its
 * description to the tests (`inject("aeontel")`), and stops it afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import type { ServerInfo } from "./server-info.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..", "..");
const STARTUP_TIMEOUT_MS = Number(process.env.AEONTEL_TEST_STARTUP_TIMEOUT_MS ?? 240_000);

function pythonExecutable(): string {
  return process.env.AEONTEL_PYTHON || join(repo, ".venv", "bin", "python");
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

export default async function setup(project: TestProject) {
  const python = pythonExecutable();
  if (!existsSync(python)) {
    throw new Error(`no Python at ${python}: run \`make install\` in the repository first, or set AEONTEL_PYTHON`);
  }
  const started = Date.now();
  // stdin stays open as a lifeline: the helper stops the stack when it closes (when this runner dies).
  const child = spawn(python, [join(here, "server.py")], {
    cwd: repo,
    env: { ...process.env, PYTHONPATH: repo },
    stdio: ["pipe", "pipe", "inherit"],
  });

  const info = await new Promise<ServerInfo>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the test server was not ready within ${STARTUP_TIMEOUT_MS} ms`)),
      STARTUP_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      let message: { ready?: boolean; error?: string } & Partial<ServerInfo>;
      try {
        message = JSON.parse(line);
      } catch {
        process.stderr.write(`[aeontel test server] ${line}\n`);
        return;
      }
      clearTimeout(timer);
      if (message.ready) resolvePromise(message as ServerInfo);
      else reject(new Error(`the test server failed to start: ${message.error ?? line}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the test server exited (${code ?? signal}) before it was ready; its log is above`));
    });
  }).catch(async (error) => {
    child.kill("SIGTERM");
    await waitForExit(child, 15_000);
    throw error;
  });

  console.log(`[aeontel test server] real stack at ${info.baseUrl}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide("aeontel", info);

  return async () => {
    child.kill("SIGTERM");
    if (!(await waitForExit(child, 20_000))) {
      child.kill("SIGKILL");
      await waitForExit(child, 5_000);
    }
    child.stdin?.destroy();
  };
}
