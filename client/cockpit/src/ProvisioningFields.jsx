// The cloud-init part of the create form (docs/provisioning.md): one user (name, passwordless sudo, SSH public
// keys) and packages. Kept out of GuestView's form so that form stays small; the daemon checks every value and
// its refusal names the field ("users[0].ssh_authorized_keys[0]: ...").
import React from "react";
import { Checkbox, FormGroup, TextArea, TextInput } from "@patternfly/react-core";

import { variant } from "./hangar.js";

export const NO_PROVISIONING = { user: "", sudo: false, keys: "", packages: "" };

// One cloud-init users entry (CreateVM's users, VM.AddUser's user) from a name, sudo and keys one per line
// ("#" lines ignored); null without a name.
export function userEntry({ user, sudo, keys }) {
    const name = user.trim();
    if (!name)
        return null;
    const entry = { name: variant.s(name), sudo: variant.b(sudo) };
    const lines = keys.split("\n").map(k => k.trim()).filter(k => k && !k.startsWith("#"));
    if (lines.length)
        entry.ssh_authorized_keys = variant.as(lines);
    return entry;
}

// Package names as typed: separated by spaces or commas.
export function packageNames(text) {
    return text.split(/[\s,]+/).filter(Boolean);
}

// The CreateVM spec keys for what was filled in; {} when nothing was.
export function provisioningSpec(p) {
    const spec = {};
    const user = userEntry(p);
    if (user)
        spec.users = { t: "aa{sv}", v: [user] };
    const packages = packageNames(p.packages);
    if (packages.length)
        spec.packages = variant.as(packages);
    return spec;
}

export function ProvisioningFields({ value, onChange }) {
    const set = (key, v) => onChange({ ...value, [key]: v });
    return (
        <>
            <FormGroup label="User (cloud-init)" fieldId="create-user">
                <TextInput id="create-user" value={value.user} onChange={(e, v) => set("user", v)}
                           placeholder="optional: a Linux user name" />
                <Checkbox id="create-sudo" label="passwordless sudo" isChecked={value.sudo}
                          isDisabled={!value.user.trim()} onChange={(e, v) => set("sudo", v)} />
            </FormGroup>
            <FormGroup label="SSH public keys" fieldId="create-ssh-keys">
                <TextArea id="create-ssh-keys" value={value.keys} onChange={(e, v) => set("keys", v)}
                          isDisabled={!value.user.trim()} rows={2} resizeOrientation="vertical"
                          placeholder="ssh-ed25519 AAAA... you@host (one per line)" />
            </FormGroup>
            <FormGroup label="Packages" fieldId="create-packages">
                <TextInput id="create-packages" value={value.packages} onChange={(e, v) => set("packages", v)}
                           placeholder="optional: nginx, git (installed at first boot)" />
            </FormGroup>
        </>
    );
}

// The non-secret summary for cards and details: "alice · packages nginx, git", or null without a seed.
export function provisionedSummary(vm) {
    const users = vm.ProvisionedUsers || [];
    const packages = vm.ProvisionedPackages || [];
    if (!users.length && !packages.length)
        return null;
    const parts = [];
    if (users.length)
        parts.push(`users ${users.join(", ")}`);
    if (packages.length)
        parts.push(`packages ${packages.join(", ")}`);
    return parts.join(" · ");
}
