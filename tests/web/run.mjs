// Browser tests of Hangar's Cockpit page: Debian's chromium (playwright-core, no browser download) against the
// real cockpit-ws, real Unix users logging in through Cockpit's login form, the real polkitd with Hangar's rules,
// and hangard on libvirt's test driver (harness.mjs). Run through run-web-tests.sh; screenshots go to
// HANGAR_WEB_SCREENSHOTS (default build/web-screenshots).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Harness, MAX_TTL_SEC, USERS, waitFor } from "./harness.mjs";
import { card, Session, shot } from "./browser.mjs";

const problem = Harness.problem();
const session = new Session();
const harness = session.harness;
const login = (user, route) => session.login(user, route);
// A VM's row of `hangarctl --json list` as its owner sees it (Ephemeral, ExpiresAt in unix seconds, ...).
const listed = (user, name) => JSON.parse(harness.hangarctl(user, ["--json", "list"]).stdout).find(vm => vm.Name === name);

describe("Hangar's Cockpit page", { skip: problem || false }, () => {
    before(async () => {
        await session.up();
        // An image on the test driver (which cannot upload): the admin publishes a VM's disk with hangarctl.
        harness.hangarctl(USERS.admin, ["create", "golden", "--disk", "1"]);
        harness.hangarctl(USERS.admin, ["publish", "golden", "base-os", "--description", "Base system (published)",
            "--os", "debian11"]);
        // One image without an OS: its tile falls back to the image's name.
        harness.hangarctl(USERS.admin, ["publish", "golden", "plain-disk"]);
    });

    after(() => session.down());

    test("a user in neither group is told to ask for group hangar", async () => {
        const page = await login(USERS.outsider);
        await page.waitForSelector("#hangar-no-group");
        assert.match(await page.textContent("#hangar-no-group"), /ask an administrator to add you to group hangar/i);
        await shot(page, "01-outsider-no-group");
        await page.context().close();
    });

    test("the page is in Cockpit's menu and runs inside Cockpit's shell", async () => {
        const page = await login(USERS.guest1);
        await page.goto(`${harness.url}/hangar`);
        await page.locator("#host-apps a", { hasText: "Hangar" }).first().waitFor();
        const frame = page.frameLocator('iframe[name="cockpit1:localhost/hangar"]');
        await frame.locator("#hangar-create").waitFor();
        await shot(page, "00-cockpit-shell");
        await page.context().close();
    });

    test("a guest creates a VM from an image, starts it and sees its card turn running", async () => {
        const page = await login(USERS.guest1);
        await page.waitForSelector("#hangar-create");
        assert.match(await page.textContent("#hangar-user"), /hgw-guest1 \(guest\)/);
        // Guests get no administration.
        assert.equal(await page.getByRole("tab", { name: "Administration" }).count(), 0);
        assert.equal(await page.locator("#hangar-upload").count(), 0);
        // The images are offered as the OS to start from: by libosinfo's name and version, else by the image's name.
        const tile = page.locator('#create-image [data-image="base-os"]');
        await tile.waitFor();
        assert.equal(await tile.locator(".hangar-os-title").textContent(), "Debian 11");
        assert.equal(await tile.getAttribute("data-os"), "debian11");
        assert.match(await tile.textContent(), /base-os/);
        assert.equal(await page.locator('#create-image [data-image="plain-disk"] .hangar-os-title').textContent(), "plain-disk");
        await page.click('#create-image [data-image="base-os"]');
        assert.equal(await tile.getAttribute("aria-pressed"), "true");
        // Picking an OS leaves vCPUs, memory and disk to the daemon, which takes Debian 11's recommendations.
        assert.equal(await page.inputValue("#create-vcpus"), "");
        assert.equal(await page.inputValue("#create-disk"), "");
        assert.match(await page.getAttribute("#create-disk", "placeholder"), /Debian 11/);
        await shot(page, "02a-guest-os-list");
        await page.fill("#create-name", "web1");
        await page.fill("#create-memory", "256");
        await page.click("#create-submit");
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="stopped"]');
        assert.match(await card(page, "web1").textContent(), /image base-os/);
        const spec = JSON.parse(harness.hangarctl(USERS.guest1, ["--json", "status", "web1"]).stdout);
        assert.equal(spec.MemoryMiB, 256, "what the guest typed wins");
        assert.equal(spec.VCPUs, 1, "Debian 11's vCPUs");
        assert.equal(spec.DiskGiB, 20, "Debian 11's recommended disk");
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

    test("a guest's VM details: spec, snapshots, events, graphs, and consoles that say why they cannot open", async () => {
        const page = await login(USERS.guest1);
        await card(page, "web1").locator(".hangar-vm-name").click();
        await page.waitForSelector('#hangar-details[data-vm="web1"]');
        assert.match(await page.textContent("#hangar-details"), /base-os/);
        await page.click("#snapshot-create");
        await page.fill("#prompt-value", "before-update");
        await page.click("#prompt-go");
        await page.waitForSelector('#hangar-snapshots tr[data-snapshot="before-update"]');
        // Its own events, from the audit log: created, started, the snapshot.
        await page.waitForSelector('#hangar-vm-events tr[data-action="start"]');
        await page.waitForSelector("#graph-cpu");
        await shot(page, "09-guest-details");

        // A console tab for a stopped VM says so; for a running one the test driver has no consoles: NotSupported.
        const consolePage = await page.context().newPage();
        await consolePage.goto(`${harness.url}/cockpit/@localhost/hangar/index.html#/console/web1`);
        await consolePage.waitForSelector("#console-message");
        assert.match(await consolePage.textContent("#console-message"), /web1 is not running/);
        await shot(consolePage, "10-console-not-running");
        harness.hangarctl(USERS.guest1, ["start", "web1"]);
        await consolePage.waitForSelector("#console-message >> text=NotSupported");
        assert.match(await consolePage.textContent("#console-message"), /cannot hand out a serial console/);
        await shot(consolePage, "11-console-not-supported");
        await consolePage.goto(`${harness.url}/cockpit/@localhost/hangar/index.html#/graphics/web1`);
        await consolePage.reload();
        await consolePage.waitForSelector("#console-message >> text=NotSupported");
        await page.context().close();
    });

    test("a guest pauses, resumes, stops, renames, clones and deletes (with confirmation) from the cards", async () => {
        const page = await login(USERS.guest1);
        const web1 = card(page, "web1");
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="running"]');
        await web1.locator('[data-action="pause"]').click();
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="paused"]');
        assert.match(await web1.getAttribute("class"), /hangar-vm-orange/);
        await web1.locator('[data-action="resume"]').click();
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="running"]');
        await web1.locator('[data-action="force-stop"]').click();
        await page.click("#confirm-go");
        await page.waitForSelector('.hangar-vm[data-vm="web1"][data-state="stopped"]');
        await card(page, "from-cli").locator('[data-action="rename"]').click();
        await page.fill("#prompt-value", "Bad Name");
        await page.click("#prompt-go");
        await page.waitForSelector("#prompt-error >> text=InvalidArgument");
        await shot(page, "12-guest-rename-refused");
        await page.fill("#prompt-value", "renamed");
        await page.click("#prompt-go");
        await card(page, "renamed").waitFor();
        await card(page, "renamed").locator('[data-action="clone"]').click();
        await page.fill("#prompt-value", "renamed-copy");
        await page.click("#prompt-go");
        await card(page, "renamed-copy").waitFor();
        await card(page, "renamed-copy").locator('[data-action="delete"]').click();
        await page.waitForSelector("#hangar-confirm");
        await shot(page, "13-guest-delete-confirm");
        await page.click("#confirm-go");
        await card(page, "renamed-copy").waitFor({ state: "detached" });
        await page.context().close();
    });

    test("an open page says when hangard stops, and reads everything again when it is back", async () => {
        const page = await login(USERS.guest1);
        await card(page, "web1").waitFor();
        await harness.stopHangard();
        await page.waitForSelector("#hangar-daemon-error >> text=hangard is not running");
        await shot(page, "13b-daemon-stopped");
        await harness.startHangard();
        await card(page, "web1").waitFor();
        await page.context().close();
    });

    test("the admin sees every user's VMs with their owner and is refused deleting an image in use", async () => {
        const page = await login(USERS.admin);
        await page.getByRole("tab", { name: "Administration" }).click();
        await page.waitForSelector("#hangar-overview");
        await shot(page, "06-admin-overview");
        await page.getByRole("tab", { name: "All VMs" }).click();
        // Owners by name (the page reads the user database through the bridge).
        await page.locator('#hangar-all-vms tr[data-vm="web1"][data-owner="hgw-guest1"]').waitFor();
        await page.locator('#hangar-all-vms tr[data-vm="golden"][data-owner="hgw-admin"]').waitFor();
        await page.selectOption("#allvms-owner", String(harness.uids["hgw-guest1"]));
        await page.locator('#hangar-all-vms tr[data-vm="golden"]').waitFor({ state: "detached" });
        assert.equal(await page.locator('#hangar-all-vms tr[data-vm="web1"]').count(), 1);
        await shot(page, "07-admin-all-vms-filtered");

        await page.getByRole("tab", { name: "Images" }).click();
        const image = page.locator('#hangar-images tr[data-image="base-os"]');
        await image.waitFor();
        assert.equal(await image.locator(".hangar-image-os").textContent(), "Debian 11", "the admin's list shows the OS");
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

    test("the admin sets a guest's quota, and the guest sees it", async () => {
        const page = await login(USERS.admin);
        await page.getByRole("tab", { name: "Administration" }).click();
        await page.getByRole("tab", { name: "Quotas" }).click();
        const row = page.locator('#hangar-quotas tr[data-user="hgw-guest1"]');
        await row.locator('[data-action="edit-quota"]').click();
        await page.fill("#quota-max_vms", "5");
        await page.fill("#quota-max_memory_mib", "4096");
        await page.click("#quota-save");
        await page.waitForSelector("#quota-dialog", { state: "detached" });
        await row.locator("td >> text=/ 5").waitFor();
        await shot(page, "14-admin-quotas");
        const guest = await login(USERS.guest1);
        await guest.waitForSelector("#hangar-quota >> text=of 5");
        await page.context().close();
        await guest.context().close();
    });

    test("the audit log filters and follows new events live", async () => {
        const page = await login(USERS.admin);
        await page.getByRole("tab", { name: "Administration" }).click();
        await page.getByRole("tab", { name: "Audit log" }).click();
        await page.waitForSelector('#hangar-audit tr[data-action="create"]');
        harness.hangarctl(USERS.guest2, ["create", "late-arrival", "--disk", "1"]);
        await page.waitForSelector('#hangar-audit tr:has-text("late-arrival")', { timeout: 2000 });
        assert.equal(await page.locator('#hangar-audit tr[data-action="create"]:has-text("late-arrival") .hangar-severity')
                .first().innerText(), "info");
        // A refused create (the name is taken) is a warning; the severity filter keeps it and drops the info rows.
        harness.hangarctl(USERS.guest2, ["create", "late-arrival", "--disk", "1"], { check: false });
        await page.waitForSelector('#hangar-audit tr[data-severity="warning"][data-outcome="AlreadyExists"]', { timeout: 2000 });
        await page.selectOption("#audit-severity", "warning");
        await page.waitForSelector('#hangar-audit tr[data-severity="info"]', { state: "detached" });
        assert.ok(await page.locator('#hangar-audit tr[data-outcome="AlreadyExists"]').count() > 0);
        await shot(page, "15-admin-audit-warnings");
        await page.selectOption("#audit-severity", "info");
        await page.selectOption("#audit-action", "start");
        await page.waitForSelector('#hangar-audit tr[data-action="create"]', { state: "detached" });
        assert.ok(await page.locator('#hangar-audit tr[data-action="start"]').count() > 0);
        await shot(page, "15-admin-audit-filtered");
        await page.context().close();
    });

    test("the admin uploads an image file: progress, then the daemon's verdict", async () => {
        const page = await login(USERS.admin);
        await page.getByRole("tab", { name: "Administration" }).click();
        await page.getByRole("tab", { name: "Images" }).click();
        // A raw image of 48 MiB (a multiple of 512), made here.
        const file = join(process.env.TMPDIR || "/tmp", "web-upload.raw");
        writeFileSync(file, Buffer.alloc(48 * 1024 * 1024, 7));
        await page.setInputFiles("#hangar-upload input[type=file]", file);
        await page.fill("#upload-name", "uploaded");
        // The OS is picked from what this host's libosinfo knows (Manager.ListOperatingSystems).
        await page.waitForSelector('#upload-os option[value="debian10"]', { state: "attached" });
        await page.selectOption("#upload-os", "debian10");
        await page.click("#upload-start");
        await page.waitForSelector("#upload-progress");
        await shot(page, "16-admin-upload-progress");
        // The test driver cannot write into a volume: the daemon refuses the import up front (NotSupported, naming
        // the driver that can), and the page says what the daemon said. (The real-QEMU suite, run-e2e.mjs, imports.)
        await page.waitForSelector("#upload-error, #upload-done", { timeout: 60000 });
        await shot(page, "17-admin-upload-result");
        const verdict = await page.textContent("#upload-error, #upload-done");
        assert.match(verdict, /cannot stream volume uploads.*use qemu:\/\/\/system.*NotSupported/);
        // The spooled copy is gone, and no image was ever made.
        await waitFor("the spooled upload removed", () => readdirSync("/var/tmp").every(f => !f.startsWith("hangar-upload-")));
        assert.equal(await page.locator('#hangar-images tr[data-image="uploaded"]').count(), 0);
        await page.context().close();
    });
    test("a guest creates a VM with a user, an SSH key and packages, and its card and details show them", async () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv alice@laptop";
        const page = await login(USERS.guest1);
        await page.waitForSelector("#hangar-create");
        await page.fill("#create-name", "seeded");
        await page.fill("#create-user", "alice");
        await page.check("#create-sudo");
        await page.fill("#create-ssh-keys", key);
        await page.fill("#create-packages", "nginx, git");
        await page.click("#create-submit");
        await page.waitForSelector('.hangar-vm[data-vm="seeded"][data-state="stopped"]');
        assert.match(await card(page, "seeded").textContent(), /users alice · packages nginx, git/);
        await shot(page, "18-guest-provisioned");
        // The daemon has the key (for the owner only); a bad key is refused naming the field.
        const provisioning = JSON.parse(harness.hangarctl(USERS.guest1, ["provisioning", "seeded", "--json"]).stdout);
        assert.deepEqual(provisioning.users[0].ssh_authorized_keys, [key]);
        assert.equal(provisioning.users[0].sudo, true);
        await page.fill("#create-name", "badkey");
        await page.fill("#create-user", "bob");
        await page.fill("#create-ssh-keys", "ssh-ed25519 not-a-key");
        await page.click("#create-submit");
        await page.waitForSelector("#create-error");
        assert.match(await page.textContent("#create-error"), /users\[0\]\.ssh_authorized_keys\[0\]: not an OpenSSH public key/);
        await card(page, "seeded").locator(".hangar-vm-name").click();
        await page.waitForSelector('#hangar-details[data-vm="seeded"]');
        const details = await page.textContent("#hangar-details");
        assert.match(details, /Provisioned usersalice/);
        assert.match(details, /Provisioned packagesnginx, git/);
        await shot(page, "19-guest-provisioned-details");
        await page.context().close();
    });
    test("a guest creates an ephemeral VM that expires after 1 h, extends it, is refused beyond the maximum", async () => {
        const page = await login(USERS.guest1);
        await page.waitForSelector("#hangar-create");
        // Beyond [Lifetime] max_ttl_sec (4 days): the daemon's refusal, shown as the form's other errors are.
        await page.fill("#create-name", "too-long");
        await page.selectOption("#create-ttl", "1w");
        await page.click("#create-submit");
        await page.waitForSelector("#create-error >> text=QuotaExceeded");
        assert.match(await page.textContent("#create-error"), /345600/, "the refusal names the maximum");
        await shot(page, "20-guest-ttl-refused");
        assert.equal(listed(USERS.guest1, "too-long"), undefined, "nothing was created");

        await page.fill("#create-name", "shortlived");
        await page.check("#create-ephemeral");
        await page.selectOption("#create-ttl", "1h");
        const created = Math.floor(Date.now() / 1000);
        await page.click("#create-submit");
        const shortlived = card(page, "shortlived");
        await shortlived.waitFor();
        assert.equal(await shortlived.locator(".hangar-ephemeral").textContent(), "Ephemeral");
        assert.match(await shortlived.locator(".hangar-expiry").textContent(), /^Expires in (59m|1h)$/);
        const vm = listed(USERS.guest1, "shortlived");
        assert.equal(vm.Ephemeral, true);
        assert.ok(vm.ExpiresAt >= created + 3600 && vm.ExpiresAt <= Math.ceil(Date.now() / 1000) + 3600,
                  `ExpiresAt ${vm.ExpiresAt} is an hour after creation (${created})`);
        // A VM created without a lifetime gets the maximum as its expiry (the guest's VMs always expire).
        assert.match(await card(page, "web1").locator(".hangar-expiry").textContent(), /^Expires in 3d 2[0-3]h$/);
        await shot(page, "21-guest-ephemeral-card");

        // Extend by a day: ExpiresAt moves by a day, live on the open page.
        await shortlived.locator(".hangar-vm-name").click();
        await page.waitForSelector('#hangar-details[data-vm="shortlived"]');
        assert.match(await page.textContent("#hangar-details"), /Lifetimeephemeral: deleted when it stops after running; expires /);
        await page.click('#hangar-lifetime-actions [data-action="extend"]');
        await page.selectOption("#extend-by", "1d");
        await shot(page, "22-guest-extend-dialog");
        await page.click("#extend-go");
        await page.waitForSelector("#extend", { state: "detached" });
        await page.waitForSelector(`#hangar-details .hangar-expiry[data-expires-at="${vm.ExpiresAt + 86400}"]`);
        assert.match(await page.textContent("#hangar-details .hangar-expiry"), /^Expires in 1d( 0h)?$/);
        assert.equal(listed(USERS.guest1, "shortlived").ExpiresAt, vm.ExpiresAt + 86400);
        // Extending by a week would be beyond the maximum; clearing it is too: the daemon's refusal in the dialog.
        await page.click('#hangar-lifetime-actions [data-action="extend"]');
        await page.selectOption("#extend-by", "1w");
        await page.click("#extend-go");
        await page.waitForSelector("#extend-error >> text=QuotaExceeded");
        await shot(page, "23-guest-extend-refused");
        await page.click("#extend >> text=Cancel");
        await page.click('#hangar-lifetime-actions [data-action="never-expire"]');
        await page.click("#confirm-go");
        await page.waitForSelector("#confirm-error >> text=QuotaExceeded");
        await page.click("#hangar-confirm >> text=Cancel");
        assert.equal(listed(USERS.guest1, "shortlived").ExpiresAt, vm.ExpiresAt + 86400, "the refusals changed nothing");

        // Commands in the guest need its agent, which the test driver has not: disabled, and the tooltip says why.
        harness.hangarctl(USERS.guest1, ["start", "shortlived"]);
        await page.waitForSelector('#hangar-details[data-vm="shortlived"][data-state="running"]');
        for (const action of ["add-user", "install-packages"]) {
            const button = page.locator(`#hangar-guest-commands [data-action="${action}"]`);
            assert.equal(await button.getAttribute("aria-disabled"), "true");
            await button.hover();
            // This button's own tooltip (each is gone before the next button is hovered).
            const tooltip = page.locator(`[role="tooltip"]#tooltip-${action}`);
            await tooltip.waitFor();
            // Faded in (for the screenshot), not just attached.
            await page.waitForFunction(id => getComputedStyle(document.getElementById(id)).opacity === "1", `tooltip-${action}`);
            assert.equal(await tooltip.textContent(), "needs qemu-guest-agent running in the guest");
            await shot(page, `24-guest-${action}-needs-agent`);
            await button.click({ force: true });
            assert.equal(await page.locator("#adduser, #install").count(), 0, "a disabled action opens no dialog");
            await button.blur();
            await page.mouse.move(0, 0);
            await tooltip.waitFor({ state: "detached" });
        }
        assert.match(await page.textContent("#hangar-details"), /Added usersnone/);
        assert.match(await page.textContent("#hangar-details"), /Installed packagesnone/);

        // The administrator may clear it (no maximum for them); the guest's open page follows.
        const admin = await login(USERS.admin, "/vm/shortlived");
        await admin.click('#hangar-lifetime-actions [data-action="never-expire"]');
        await admin.click("#confirm-go");
        await admin.waitForSelector("#hangar-confirm", { state: "detached" });
        await page.waitForSelector("#hangar-details .hangar-expiry", { state: "detached" });
        assert.equal(listed(USERS.guest1, "shortlived").ExpiresAt, 0);
        await shot(page, "25-guest-never-expires");
        await admin.context().close();

        // Ephemeral: once it has run, stopping it deletes it.
        await page.click("#details-back");
        await shortlived.waitFor();
        harness.hangarctl(USERS.guest1, ["stop", "--force", "shortlived"]);
        await shortlived.waitFor({ state: "detached" });
        assert.equal(listed(USERS.guest1, "shortlived"), undefined);
        await page.context().close();
    });
});
