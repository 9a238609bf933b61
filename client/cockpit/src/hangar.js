// Hangar's D-Bus API as the page sees it: one connection to org.hangar.Hangar1 on the system bus through the
// logged-in user's cockpit-bridge (so polkit decides about that user, never about Cockpit's superuser), the whole
// inventory read with one GetManagedObjects and kept current by InterfacesAdded/Removed and PropertiesChanged.
// Nothing here polls the inventory.

/* global cockpit */

export const SERVICE = "org.hangar.Hangar1";
export const MANAGER_PATH = "/org/hangar/Hangar1";
export const IFACE = {
    manager: "org.hangar.Hangar1.Manager",
    vm: "org.hangar.Hangar1.VM",
    image: "org.hangar.Hangar1.Image",
    job: "org.hangar.Hangar1.Job",
};
const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES = "org.freedesktop.DBus.Properties";

// The page never waits for a password prompt: no polkit agent runs in a browser, and Hangar's group rules decide.
export const NO_INTERACTION = { "auth.no_user_interaction": { t: "b", v: true } };

// cockpit.dbus gives variants as {t, v}; the page works with plain values.
function unwrapProps(props) {
    const plain = {};
    for (const [name, variant] of Object.entries(props || {}))
        plain[name] = variant && typeof variant === "object" && "v" in variant ? variant.v : variant;
    return plain;
}

// The daemon's message, with the error's short name ("Busy", "PermissionDenied") to tell them apart.
export function errorText(error) {
    if (!error)
        return "";
    const name = error.name ? String(error.name).replace(/^org\.hangar\.Hangar1\.Error\./, "") : "";
    const message = error.message || error.problem || String(error);
    return name && !name.includes(".") ? `${message} (${name})` : message;
}

export class Inventory extends EventTarget {
    constructor() {
        super();
        this.client = cockpit.dbus(SERVICE, { bus: "system" });
        this.objects = new Map(); // path -> { interface name -> plain properties }
        this.loaded = false;
        this.error = null;
        this.version = 0;
        this.subscriptions = [];
        this.completed = new Map(); // job path -> { success, message, result }: the Completed signals seen
    }

    // Subscribes first, then reads: a change between the read and the subscription cannot be lost.
    start() {
        const c = this.client;
        // hangard going away leaves no InterfacesRemoved behind, and a new hangard has other objects: follow the
        // name's owner, and read everything again when a new one takes it.
        c.addEventListener("owner", (event, owner) => this.ownerChanged(owner));
        this.subscriptions.push(
            c.subscribe({ path: MANAGER_PATH, interface: OBJECT_MANAGER, member: "InterfacesAdded" },
                        (path, iface, signal, [objectPath, interfaces]) => this.added(objectPath, interfaces)),
            c.subscribe({ path: MANAGER_PATH, interface: OBJECT_MANAGER, member: "InterfacesRemoved" },
                        (path, iface, signal, [objectPath, names]) => this.removed(objectPath, names)),
            c.subscribe({ path_namespace: MANAGER_PATH, interface: PROPERTIES, member: "PropertiesChanged" },
                        (path, iface, signal, [name, changed]) => this.changed(path, name, changed)),
            // Every job's end, subscribed before any call can start one: a job that ends before its starter's reply
            // is handled is not missed (followJob).
            c.subscribe({ path_namespace: MANAGER_PATH, interface: IFACE.job, member: "Completed" },
                        (path, iface, signal, [success, message]) => this.jobCompleted(path, success, message)),
            c.subscribe({ path: MANAGER_PATH, interface: IFACE.manager, member: "Event" },
                        (path, iface, signal, args) => this.dispatchEvent(new CustomEvent("event", { detail: eventRow(args) }))),
        );
        return this.reload();
    }

    reload() {
        return Promise.all([
            this.client.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects", []),
            this.client.call(MANAGER_PATH, PROPERTIES, "GetAll", [IFACE.manager]),
        ])
                .then(([[objects], [managerProps]]) => {
                    this.objects = new Map();
                    for (const [path, interfaces] of Object.entries(objects))
                        this.added(path, interfaces, true);
                    this.objects.set(MANAGER_PATH, { ...(this.objects.get(MANAGER_PATH) || {}), [IFACE.manager]: unwrapProps(managerProps) });
                    this.loaded = true;
                    this.error = null;
                    this.notify();
                })
                .catch(error => {
                    this.error = error;
                    this.notify();
                });
    }

    ownerChanged(owner) {
        const previous = this.owner;
        this.owner = owner;
        if (!owner) {
            this.objects = new Map();
            this.loaded = false;
            this.error = { message: "hangard is not running: nobody owns org.hangar.Hangar1 on the system bus" };
            this.notify();
        } else if (previous !== undefined && previous !== owner) {
            this.reload();
        }
    }

    close() {
        this.subscriptions.forEach(s => s.remove());
        this.subscriptions = [];
    }

    notify() {
        this.version += 1;
        this.dispatchEvent(new Event("changed"));
    }

    added(path, interfaces, quiet) {
        const entry = { ...(this.objects.get(path) || {}) };
        for (const [name, props] of Object.entries(interfaces))
            entry[name] = unwrapProps(props);
        this.objects.set(path, entry);
        if (!quiet)
            this.notify();
    }

    removed(path, names) {
        const entry = { ...(this.objects.get(path) || {}) };
        for (const name of names)
            delete entry[name];
        if (Object.keys(entry).length === 0)
            this.objects.delete(path);
        else
            this.objects.set(path, entry);
        this.notify();
    }

    changed(path, name, changed) {
        const entry = this.objects.get(path);
        if (!entry && path !== MANAGER_PATH)
            return; // not (yet) known: InterfacesAdded brings it with all its properties
        const next = { ...(entry || {}) };
        next[name] = { ...(next[name] || {}), ...unwrapProps(changed) };
        this.objects.set(path, next);
        this.notify();
    }

    // The job's Result comes in a PropertiesChanged just before Completed, while its object still exists.
    jobCompleted(path, success, message) {
        const result = this.get(path, IFACE.job)?.Result || {};
        this.completed.set(path, { success, message, result });
        // Jobs nobody follows (other users' imports) are not kept for ever.
        if (this.completed.size > 100)
            this.completed.delete(this.completed.keys().next().value);
        this.dispatchEvent(new CustomEvent("job-completed", { detail: path }));
    }

    // Resolves with { success, message, result } when the job at path ends (also when it already has).
    followJob(path) {
        return new Promise(resolve => {
            const settle = () => {
                const outcome = this.completed.get(path);
                if (!outcome)
                    return false;
                this.completed.delete(path);
                this.removeEventListener("job-completed", onCompleted);
                resolve(outcome);
                return true;
            };
            const onCompleted = event => { if (event.detail === path) settle() };
            this.addEventListener("job-completed", onCompleted);
            settle();
        });
    }

    list(iface) {
        const rows = [];
        for (const [path, entry] of this.objects) {
            if (entry[iface])
                rows.push({ path, ...entry[iface] });
        }
        return rows.sort((a, b) => String(a.Name || a.path).localeCompare(String(b.Name || b.path)));
    }

    vms() { return this.list(IFACE.vm) }
    images() { return this.list(IFACE.image) }
    jobs() { return this.list(IFACE.job) }
    manager() { return (this.objects.get(MANAGER_PATH) || {})[IFACE.manager] || {} }
    vmByName(name) { return this.vms().find(vm => vm.Name === name) }
    get(path, iface) { return (this.objects.get(path) || {})[iface] }

    // Calls. Options dictionaries always carry auth.no_user_interaction.
    call(path, iface, method, args, type) {
        return this.client.call(path, iface, method, args, type ? { type } : undefined);
    }

    vmCall(path, method, extra = {}, leading = []) {
        const sig = leading.map(() => "s").join("") + "a{sv}";
        return this.call(path, IFACE.vm, method, [...leading, { ...NO_INTERACTION, ...extra }], sig);
    }

    managerCall(method, args, type) {
        return this.call(MANAGER_PATH, IFACE.manager, method, args, type);
    }
}

export function eventRow([id, timeUsec, uid, vmUuid, vmName, action, outcome, message, severity]) {
    return { id, timeUsec, uid, vmUuid, vmName, action, outcome, message, severity };
}

// Event severities, lowest first: GetEvents' "severity" filter is a minimum in this order.
export const SEVERITIES = ["info", "warning", "error"];

export const variant = {
    u: v => ({ t: "u", v: Number(v) }),
    t: v => ({ t: "t", v: Number(v) }),
    s: v => ({ t: "s", v: String(v) }),
    b: v => ({ t: "b", v: !!v }),
    as: v => ({ t: "as", v }),
};
