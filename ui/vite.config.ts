/**
 * The console and self-service pages: `npm run build:ui` writes them to dist/ui, which Roster
 * serves under /ui/. No inline scripts or styles (the pages' Content-Security-Policy forbids them).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/ui/",
  publicDir: "public",
  build: {
    outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    // Everything as files under assets/ (content-hashed, cached for good); nothing inlined as data: URLs.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev:ui`: the pages from Vite, the RPCs from a Roster at ROSTER_URL.
    proxy: Object.fromEntries(
      ["/zitadel.", "/roster."].map((prefix) => [prefix, { target: process.env.ROSTER_URL ?? "http://localhost:8080", changeOrigin: false }]),
    ),
  },
});
