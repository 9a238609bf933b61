// Browser tests of Hangar's Cockpit page: Debian's chromium (playwright-core, no browser download) against the
// real cockpit-ws, real Unix users logging in through Cockpit's login form, the real polkitd with Hangar's rules,
// and hangard on libvirt's test driver (harness.mjs). Run through run-web-tests.sh; screenshots go to
// HANGAR_WEB_SCREENSHOTS (default build/web-screenshots).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { Harness, PASSWORD, USERS } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = resolve(here, "../..");
const buildDir = resolve(process.env.HANGAR_BUILD_DIR || join(sourceDir, "build"));
const packageDir = resolve(process.env.HANGAR_COCKPIT_DIST || join(buildDir, "client/cockpit/dist"));
const shots = resolve(process.env.HANGAR_WEB_SCREENSHOTS || join(buildDir, "web-screenshots"));
const TIMEOUT = 15000;

const problem = Harness.problem();
const harness = new Harness({ sourceDir, buildDir, packageDir });
let browser;

async function shot(page, name) {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// A fresh browser context per user (own cookies), logged in through Cockpit's own login form, then on the page
// itself (the package's index.html outside the shell's frame, so the test sees the page's DOM directly).
async function login(user) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", error => console.log(`[${user.name}] page error: ${error.message}`));
    await page.goto(`${harness.url}/`);
    await page.fill("#login-user-input", user.name);
    await page.fill("#login-password-input", PASSWORD);
    await page.click("#login-button");
    await page.waitForURL(/\/system|\/@localhost|\/hangar|\/cockpit/);
    await page.waitForSelector("#nav-system, iframe", { timeout: TIMEOUT }).catch(() => {});
    await page.goto(`${harness.url}/cockpit/@localhost/hangar/index.html`);
    return page;
}

const card = (page, vm) => page.locator(`.hangar-vm[data-vm="${vm}"]`);

describe("Hangar's Cockpit page", { skip: problem || false }, () => {
    before(async () => {
        mkdirSync(shots, { recursive: true });
        await harness.up();
        browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
        // An image on the test driver (which cannot upload): the admin publishes a VM's disk with hangarctl.
        harness.hangarctl(USERS.admin, ["create", "golden", "--disk", "1"]);
        harness.hangarctl(USERS.admin, ["publish", "golden", "base-os", "--description", "Base system (published)"]);
    });

    after(async () => {
        await browser?.close();
        harness.stop();
    });

    test("a user in neither group is told to ask for group hangar", async () => {
        const page = await login(USERS.outsider);
        await page.waitForSelector("#hangar-no-group");
        assert.match(await page.textContent("#hangar-no-group"), /ask an administrator to add you to group hangar/i);
        await shot(page, "01-outsider-no-group");
        await page.context().close();
    });

    test("a guest creates a VM from an image, starts it and sees its card turn running", async () => {
        const page = await login(USERS.guest1);
        await page.waitForSelector("#hangar-create");
        assert.match(await page.textContent("#hangar-user"), /hgw-guest1 \(guest\)/);
        // The image is offered as the OS to start from.
        await page.selectOption("#create-image", "base-os");
        await page.fill("#create-name", "web1");
        await page.fill("#create-memory", "256");
        await page.click("#create-submit");
        await card(page, "web1").waitFor();
        assert.equal(await card(page, "web1").getAttribute("data-state"), "stopped");
        assert.match(await card(page, "web1").textContent(), /image base-os/);
        await shot(page, "02-guest-created");
        await card(page, "web1").locator('[data-action="start"]').click();
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="running"]');
        assert.match(await card(page, "web1").getAttribute("class"), /hangar-vm-green/);
        await shot(page, "03-guest-running");
        await page.context().close();
    });

    test("a change made with hangarctl appears on an open page without reload", async () => {
        const page = await login(USERS.guest1);
        await card(page, "web1").waitFor();
        await page.evaluate(() => { window.hangarMarker = "same page" });
        harness.hangarctl(USERS.guest1, ["stop", "--force", "web1"]);
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="stopped"]', { timeout: 2000 });
        harness.hangarctl(USERS.guest1, ["create", "from-cli", "--disk", "1"]);
        await card(page, "from-cli").waitFor({ timeout: 2000 });
        assert.equal(await page.evaluate(() => window.hangarMarker), "same page", "the page was not reloaded");
        await shot(page, "04-guest-live-update");
        await page.context().close();
    });

    test("a second guest does not see the first guest's VMs and cannot act on them", async () => {
        const page = await login(USERS.guest2);
        await page.waitForSelector("#hangar-no-vms");
        assert.equal(await page.locator('.hangar-vm[data-vm="web1"]').count(), 0);
        // Acting on it anyway (through the page's own D-Bus connection) is refused by polkit, with the daemon's message.
        const refusal = await page.evaluate(() => new Promise(resolve => {
            const client = window.cockpit.dbus("org.hangar.Hangar1", { bus: "system" });
            client.call("/org/hangar/Hangar1", "org.hangar.Hangar1.Manager", "GetVM", ["web1"])
                    .then(([path]) => client.call(path, "org.hangar.Hangar1.VM", "Start",
                                                  [{ "auth.no_user_interaction": { t: "b", v: true } }], { type: "a{sv}" }))
                    .then(() => resolve("started"), error => resolve(`${error.name}: ${error.message}`));
        }));
        assert.match(refusal, /PermissionDenied/);
        await shot(page, "05-guest2-empty");
        await page.context().close();
    });

    test("the admin sees every user's VMs with their owner and is refused deleting an image in use", async () => {
        const page = await login(USERS.admin);
        await page.getByRole("tab", { name: "Administration" }).click();
        await page.waitForSelector("#hangar-overview");
        await shot(page, "06-admin-overview");
        await page.getByRole("tab", { name: "All VMs" }).click();
        const row = page.locator('#hangar-all-vms tr[data-vm="web1"]');
        await row.waitFor();
        assert.equal(await row.getAttribute("data-owner"), "hgw-guest1");
        assert.equal(await page.locator('#hangar-all-vms tr[data-vm="golden"]').getAttribute("data-owner"), "hgw-admin");
        await page.selectOption("#allvms-owner", String(harness.uids["hgw-guest1"]));
        assert.equal(await page.locator('#hangar-all-vms tr[data-vm="golden"]').count(), 0);
        await shot(page, "07-admin-all-vms-filtered");

        await page.getByRole("tab", { name: "Images" }).click();
        const image = page.locator('#hangar-images tr[data-image="base-os"]');
        await image.waitFor();
        assert.match(await image.locator(".hangar-used-by").textContent(), /web1/);
        await image.locator('[data-action="delete-image"]').click();
        await page.click("#confirm-go");
        await page.waitForSelector("#confirm-error");
        const message = await page.textContent("#confirm-error");
        assert.match(message, /web1/, "the refusal names the VMs that use the image");
        assert.match(message, /Busy/);
        await shot(page, "08-admin-image-delete-refused");
        await page.context().close();
    });
});
