// Commands in the running guest through the QEMU guest agent (docs/provisioning.md, "Commands in running guests"):
// "Add user" (VM.AddUser, a cloud-init users entry) and "Install packages" (VM.InstallPackages). Each call returns
// an org.hangar.Hangar1.Job at once; the page follows it to its Completed signal (Inventory.followJob) and shows
// the outcome with the daemon's message. Without an agent in the guest (AgentConnected false, always so while the
// VM is not running) both are disabled, and a tooltip says what they need.
import React, { useState } from "react";
import { Alert, Button, Checkbox, FormGroup, TextArea, TextInput, Tooltip } from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { IFACE, NO_INTERACTION } from "./hangar.js";
import { FormDialog } from "./Dialogs.jsx";
import { packageNames, userEntry } from "./ProvisioningFields.jsx";

export const NEEDS_AGENT = "needs qemu-guest-agent running in the guest";

function AddUserDialog({ vm, start, onClose }) {
    const [fields, setFields] = useState({ user: "", sudo: false, keys: "" });
    const set = (key, v) => setFields({ ...fields, [key]: v });
    const name = fields.user.trim();
    return (
        <FormDialog id="adduser" title={`Add a user to ${vm.Name}`} action="Add user" ready={!!name} onClose={onClose}
                    run={() => start(`Adding user ${name}`, "AddUser", [userEntry(fields), NO_INTERACTION], "a{sv}a{sv}")}>
            <FormGroup label="User name" isRequired fieldId="adduser-name">
                <TextInput id="adduser-name" value={fields.user} onChange={(e, v) => set("user", v)} autoFocus
                           placeholder="a Linux user name" />
                <Checkbox id="adduser-sudo" label="passwordless sudo" isChecked={fields.sudo}
                          onChange={(e, v) => set("sudo", v)} />
            </FormGroup>
            <FormGroup label="SSH public keys" fieldId="adduser-keys">
                <TextArea id="adduser-keys" value={fields.keys} onChange={(e, v) => set("keys", v)} rows={3}
                          resizeOrientation="vertical" placeholder="ssh-ed25519 AAAA... you@host (one per line)" />
            </FormGroup>
        </FormDialog>
    );
}

function InstallDialog({ vm, start, onClose }) {
    const [text, setText] = useState("");
    const names = packageNames(text);
    return (
        <FormDialog id="install" title={`Install packages in ${vm.Name}`} action="Install" ready={names.length > 0}
                    onClose={onClose}
                    run={() => start(`Installing ${names.join(", ")}`, "InstallPackages", [names, NO_INTERACTION], "asa{sv}")}>
            <FormGroup label="Packages" isRequired fieldId="install-names">
                <TextInput id="install-names" value={text} onChange={(e, v) => setText(v)} autoFocus
                           placeholder="nginx git (separated by spaces)" />
            </FormGroup>
        </FormDialog>
    );
}

// A button that stays hoverable when disabled, so its tooltip can say why.
function CommandButton({ action, label, ready, onClick }) {
    const button = (
        <Button size="sm" variant="secondary" data-action={action} isAriaDisabled={!ready} onClick={onClick}>{label}</Button>
    );
    return ready ? button : <Tooltip content={NEEDS_AGENT} id={`tooltip-${action}`} position="bottom">{button}</Tooltip>;
}

export function GuestCommands({ vm }) {
    const inv = useInventory();
    const [dialog, setDialog] = useState(null);
    const [status, setStatus] = useState(null); // { variant, title, message }
    const ready = vm.State === "running" && !!vm.AgentConnected;
    const close = () => setDialog(null);

    // The call's refusal stays in the dialog; once the job is started, the dialog closes and the job is followed.
    const start = (what, method, args, signature) =>
        inv.call(vm.path, IFACE.vm, method, args, signature).then(([job]) => {
            setStatus({ variant: "info", title: `${what}…`, outcome: "running" });
            inv.followJob(job).then(({ success, message }) => setStatus({
                variant: success ? "success" : "danger",
                title: success ? `${what}: done` : `${what}: failed`,
                message, outcome: success ? "success" : "failure",
            }));
        });

    return (
        <div id="hangar-guest-commands">
            <CommandButton action="add-user" label="Add user" ready={ready}
                           onClick={() => setDialog(<AddUserDialog vm={vm} start={start} onClose={close} />)} />
            {" "}
            <CommandButton action="install-packages" label="Install packages" ready={ready}
                           onClick={() => setDialog(<InstallDialog vm={vm} start={start} onClose={close} />)} />
            {status && <Alert variant={status.variant} isInline isPlain title={status.title} id="guest-command-status"
                              data-outcome={status.outcome}>{status.message}</Alert>}
            {dialog}
        </div>
    );
}
