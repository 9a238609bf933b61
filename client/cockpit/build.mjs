// Bundles the page into dist/ (what `cmake --install` puts in share/cockpit/hangar), as Cockpit's starter-kit does
// with esbuild: one JS and one CSS bundle plus the manifest and index.html. `node build.mjs --outdir DIR` builds
// elsewhere (CMake builds into the build tree).
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outIndex = process.argv.indexOf("--outdir");
const outdir = outIndex > 0 ? process.argv[outIndex + 1] : join(here, "dist");
const production = !process.argv.includes("--dev");

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

await esbuild.build({
    entryPoints: { index: join(here, "src/index.jsx") },
    bundle: true,
    outdir,
    format: "esm",
    // noVNC uses top-level await; Debian 12's cockpit targets browsers that have it.
    target: ["es2022"],
    minify: production,
    sourcemap: production ? false : "inline",
    jsx: "automatic",
    loader: { ".woff": "file", ".woff2": "file", ".ttf": "file", ".otf": "file", ".svg": "file", ".png": "file" },
    assetNames: "fonts/[name]",
    legalComments: "external",
    logLevel: "warning",
});

for (const file of ["index.html", "manifest.json"])
    copyFileSync(join(here, file), join(outdir, file));
