// One VM as a card coloured by its state, with the actions that state allows. Whatever the daemon refuses is
// shown on the card with its message.
import React, { useState } from "react";
import { Alert, Button, Card, CardBody, CardFooter, CardTitle, Label } from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { errorText } from "./hangar.js";
import { mib, stateColor } from "./format.js";
import { ConfirmDialog, PromptDialog } from "./Dialogs.jsx";
import { provisionedSummary } from "./ProvisioningFields.jsx";
import { LifetimeLabels } from "./Lifetime.jsx";

/* global cockpit */

// Opens a console route of this page in its own browser tab, so several can be open at once.
export function openConsole(kind, name) {
    window.open(`index.html#/${kind}/${encodeURIComponent(name)}`, `hangar-${kind}-${name}`);
}

// The actions of a state: [label, id, handler name]. Stopped VMs can be started, renamed, cloned, deleted; running
// ones stopped (gracefully or not), rebooted, paused, and their consoles opened.
export function actionsFor(state) {
    switch (state) {
    case "stopped": case "crashed":
        return ["start", "rename", "clone", "delete"];
    case "running":
        return ["stop", "force-stop", "reboot", "pause", "console", "graphics"];
    case "paused": case "suspended":
        return ["resume", "force-stop"];
    case "shutting-down":
        return ["force-stop"];
    default:
        return [];
    }
}

const LABELS = {
    start: "Start", stop: "Shut down", "force-stop": "Force off", reboot: "Reboot", pause: "Pause", resume: "Resume",
    rename: "Rename", clone: "Clone", delete: "Delete", console: "Serial console", graphics: "Screen",
};

export function useVmActions(vm) {
    const inv = useInventory();
    const [error, setError] = useState(null);
    const [dialog, setDialog] = useState(null);
    const attempt = promise => { setError(null); return promise.catch(setError) };

    const run = {
        start: () => attempt(inv.vmCall(vm.path, "Start")),
        stop: () => attempt(inv.vmCall(vm.path, "Stop")),
        "force-stop": () => setDialog({
            kind: "confirm", title: `Force off ${vm.Name}?`, action: "Force off", danger: true,
            body: "The VM is powered off at once, like pulling the plug; unsaved data in the guest is lost.",
            run: () => inv.vmCall(vm.path, "Stop", { force: { t: "b", v: true } }),
        }),
        reboot: () => attempt(inv.vmCall(vm.path, "Reboot")),
        pause: () => attempt(inv.vmCall(vm.path, "Pause")),
        resume: () => attempt(inv.vmCall(vm.path, "Resume")),
        delete: () => setDialog({
            kind: "confirm", title: `Delete ${vm.Name}?`, action: "Delete", danger: true,
            body: "The VM, its disk and its snapshots are deleted. This cannot be undone.",
            run: () => inv.vmCall(vm.path, "Delete"),
        }),
        rename: () => setDialog({
            kind: "prompt", title: `Rename ${vm.Name}`, label: "New name", action: "Rename", initial: vm.Name,
            run: value => inv.vmCall(vm.path, "Rename", {}, [value]),
        }),
        clone: () => setDialog({
            kind: "prompt", title: `Clone ${vm.Name}`, label: "Name of the clone", action: "Clone",
            initial: `${vm.Name}-clone`,
            run: value => inv.vmCall(vm.path, "Clone", {}, [value]),
        }),
        console: () => openConsole("console", vm.Name),
        graphics: () => openConsole("graphics", vm.Name),
    };

    const dialogs = dialog && (dialog.kind === "confirm"
        ? <ConfirmDialog {...dialog} onClose={() => setDialog(null)} />
        : <PromptDialog {...dialog} onClose={() => setDialog(null)} />);
    return { run, error, dialogs, setError };
}

export function VmActions({ vm, actions }) {
    const { run, error, dialogs } = useVmActions(vm);
    return (
        <>
            <div className="hangar-actions">
                {actions.map(a => (
                    <Button key={a} size="sm" variant={a === "delete" || a === "force-stop" ? "danger" : a === "start" ? "primary" : "secondary"}
                            onClick={run[a]} data-action={a}>{LABELS[a]}</Button>
                ))}
            </div>
            {error && <Alert variant="danger" isInline isPlain title={errorText(error)} className="hangar-action-error" />}
            {dialogs}
        </>
    );
}

export function VmCard({ vm, showOwner }) {
    const color = stateColor(vm.State);
    return (
        <Card className={`hangar-vm hangar-vm-${color}`} data-vm={vm.Name} data-state={vm.State} isCompact>
            <CardTitle>
                <a href={`#/vm/${encodeURIComponent(vm.Name)}`} className="hangar-vm-name"
                   onClick={e => { e.preventDefault(); cockpit.location.go(["vm", vm.Name]) }}>{vm.Name}</a>
                {" "}<Label color={color === "grey" ? "grey" : color} className="hangar-state">{vm.State}</Label>
                <LifetimeLabels vm={vm} />
            </CardTitle>
            <CardBody>
                {vm.VCPUs} vCPU · {mib(vm.MemoryMiB)} · {vm.DiskGiB} GiB disk
                {vm.Image ? <> · image {vm.Image}</> : null}
                {provisionedSummary(vm) && <div className="hangar-provisioned">{provisionedSummary(vm)}</div>}
                {showOwner && <> · owner {vm.Owner}</>}
                {vm.Addresses?.length > 0 && <div>{vm.Addresses.join(", ")}</div>}
            </CardBody>
            <CardFooter><VmActions vm={vm} actions={actionsFor(vm.State)} /></CardFooter>
        </Card>
    );
}
