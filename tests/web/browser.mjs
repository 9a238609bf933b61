// What both browser suites share: the harness for this run's paths, chromium, and logging in through Cockpit's
// login form as a test user.
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { Harness, PASSWORD } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = resolve(here, "../..");
const buildDir = resolve(process.env.HANGAR_BUILD_DIR || join(sourceDir, "build"));
const packageDir = resolve(process.env.HANGAR_COCKPIT_DIST || join(buildDir, "client/cockpit/dist"));
const shots = resolve(process.env.HANGAR_WEB_SCREENSHOTS || join(buildDir, "web-screenshots"));
export const TIMEOUT = 15000;

export class Session {
    constructor(options = {}) {
        this.harness = new Harness({ sourceDir, buildDir, packageDir, ...options });
        this.browser = null;
    }

    async up() {
        mkdirSync(shots, { recursive: true });
        await this.harness.up();
        this.browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    }

    async down() {
        await this.browser?.close();
        this.harness.stop();
    }

    // A fresh browser context per user (own cookies), logged in through Cockpit's own login form, then on the
    // package's index.html outside the shell's frame, so the test sees the page's DOM directly. initScript (a
    // function) runs in the page before its own scripts.
    async login(user, route = "", initScript = null) {
        const context = await this.browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        if (initScript)
            await page.addInitScript(initScript);
        page.setDefaultTimeout(TIMEOUT);
        page.on("pageerror", error => console.log(`[${user.name}] page error: ${error.message}`));
        await page.goto(`${this.harness.url}/`);
        await page.fill("#login-user-input", user.name);
        await page.fill("#login-password-input", PASSWORD);
        await page.click("#login-button");
        await page.waitForURL(/\/system|\/@localhost|\/hangar|\/cockpit/);
        await page.goto(this.pageUrl(route));
        return page;
    }

    pageUrl(route = "") {
        return `${this.harness.url}/cockpit/@localhost/hangar/index.html${route ? "#" + route : ""}`;
    }
}

export async function shot(page, name) {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

export const card = (page, vm) => page.locator(`.hangar-vm[data-vm="${vm}"]`);
