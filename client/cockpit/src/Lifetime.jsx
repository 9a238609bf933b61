// A VM's lifetime (docs/provisioning.md, "Lifetime"): the create form's "Delete when it stops" (CreateVM spec key
// ephemeral) and "Expires after" (ttl_sec); "Ephemeral" and "Expires in 3h 12m" on cards and details, counting
// down from the VM's ExpiresAt (unix seconds, 0 = never); the details' "Extend" and "Never expire"
// (VM.SetExpiry). The daemon holds owners to [Lifetime] max_ttl_sec; its refusal is shown in the dialog as it is.
import React, { useState } from "react";
import { Button, Checkbox, FormGroup, FormSelect, FormSelectOption, Label } from "@patternfly/react-core";

import { useInterval, useInventory } from "./hooks.js";
import { NO_INTERACTION, IFACE, variant } from "./hangar.js";
import { dateSec, remaining } from "./format.js";
import { ConfirmDialog, FormDialog } from "./Dialogs.jsx";

// [value, seconds, label] of the create form's "Expires after" and of "Extend by".
const DURATIONS = [["1h", 3600, "1 hour"], ["4h", 14400, "4 hours"], ["1d", 86400, "1 day"], ["1w", 604800, "1 week"]];
const seconds = value => DURATIONS.find(d => d[0] === value)?.[1] || 0;

export const NO_LIFETIME = { ephemeral: false, ttl: "never" };

// The CreateVM spec keys: none for a VM that lives until deleted.
export function lifetimeSpec({ ephemeral, ttl }) {
    const spec = {};
    if (ephemeral)
        spec.ephemeral = variant.b(true);
    if (seconds(ttl))
        spec.ttl_sec = variant.t(seconds(ttl));
    return spec;
}

export function LifetimeFields({ value, onChange }) {
    return (
        <FormGroup label="Lifetime" fieldId="create-ttl">
            <Checkbox id="create-ephemeral" label="Delete when it stops" isChecked={value.ephemeral}
                      description="deleted once it has run and then stopped, however it stopped"
                      onChange={(e, v) => onChange({ ...value, ephemeral: v })} />
            <FormSelect id="create-ttl" value={value.ttl} aria-label="Expires after"
                        onChange={(e, v) => onChange({ ...value, ttl: v })}>
                <FormSelectOption value="never" label="Expires after: never" />
                {DURATIONS.map(([v, , label]) => <FormSelectOption key={v} value={v} label={`Expires after ${label}`} />)}
            </FormSelect>
        </FormGroup>
    );
}

// The current time, again every 30 s: the countdowns move without asking the daemon anything.
function useNow() {
    const [now, setNow] = useState(Date.now());
    useInterval(() => setNow(Date.now()), 30000, []);
    return now;
}

// "Expires in 3h 12m" ("Expiring" once the time has passed and the daemon is deleting it); "" when it never does.
export function expiryText(vm, now) {
    if (!Number(vm.ExpiresAt))
        return "";
    const left = remaining(vm.ExpiresAt, now);
    return left ? `Expires in ${left}` : "Expiring";
}

// The card's and the details' badges.
export function LifetimeLabels({ vm }) {
    const now = useNow();
    const expiry = expiryText(vm, now);
    return (
        <>
            {vm.Ephemeral && <>{" "}<Label color="purple" className="hangar-ephemeral" isCompact>Ephemeral</Label></>}
            {expiry && <>{" "}<Label color="gold" className="hangar-expiry" isCompact data-expires-at={String(vm.ExpiresAt)}
                                    title={dateSec(vm.ExpiresAt)}>{expiry}</Label></>}
        </>
    );
}

export function lifetimeDescription(vm) {
    const parts = [vm.Ephemeral ? "ephemeral: deleted when it stops after running" : "kept when it stops"];
    parts.push(Number(vm.ExpiresAt) ? `expires ${dateSec(vm.ExpiresAt)}` : "never expires");
    return parts.join("; ");
}

function ExtendDialog({ vm, onClose }) {
    const inv = useInventory();
    const [by, setBy] = useState("1h");
    // From the current expiry, or from now for a VM that had none.
    const base = Math.max(Number(vm.ExpiresAt) || 0, Math.floor(Date.now() / 1000));
    const until = base + seconds(by);
    return (
        <FormDialog id="extend" title={`Extend ${vm.Name}'s lifetime`} action="Extend" ready onClose={onClose}
                    run={() => inv.call(vm.path, IFACE.vm, "SetExpiry", [until, NO_INTERACTION], "ta{sv}")}>
            <FormGroup label="Extend by" fieldId="extend-by">
                <FormSelect id="extend-by" value={by} onChange={(e, v) => setBy(v)} aria-label="Extend by">
                    {DURATIONS.map(([v, , label]) => <FormSelectOption key={v} value={v} label={label} />)}
                </FormSelect>
            </FormGroup>
            <p id="extend-until">Expires {dateSec(until)}</p>
        </FormDialog>
    );
}

export function LifetimeActions({ vm }) {
    const inv = useInventory();
    const [dialog, setDialog] = useState(null);
    const close = () => setDialog(null);
    return (
        <>
            <Button size="sm" variant="secondary" data-action="extend"
                    onClick={() => setDialog(<ExtendDialog vm={vm} onClose={close} />)}>Extend</Button>
            {" "}
            <Button size="sm" variant="secondary" data-action="never-expire" isDisabled={!Number(vm.ExpiresAt)}
                    onClick={() => setDialog(
                        <ConfirmDialog title={`Keep ${vm.Name} until it is deleted?`} action="Never expire" onClose={close}
                                       body="The VM's expiry is cleared: it is no longer deleted at a set time."
                                       run={() => inv.call(vm.path, IFACE.vm, "SetExpiry", [0, NO_INTERACTION], "ta{sv}")} />)}>
                Never expire
            </Button>
            {dialog}
        </>
    );
}
