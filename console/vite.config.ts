import { defineConfig } from "vitest/config";

// `npm run dev` serves the console on its own; /ops and the dev login are proxied to a console
// server of `./dev up` (STAKELINE_CONSOLE_URL, e.g. http://127.0.0.1:9100), which proxies /ops
// on to the API.
const consoleServer = process.env.STAKELINE_CONSOLE_URL;

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
  },
  server: consoleServer
    ? { proxy: { "/ops": consoleServer, "/dev/token": consoleServer, "/config.json": consoleServer } }
    : {},
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts"],
  },
});
