// Quotas per user (members of hangar and hangar-admin): limits, usage and where the limits come from; set or
// reset them (SetQuota needs manage-hosts: the daemon's refusal is shown as it is).
import React, { useEffect, useState } from "react";
import { Alert, Button, Form, FormGroup, Modal, TextInput } from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { useHangarUsers } from "./users.js";
import { errorText } from "./hangar.js";

const LIMITS = [
    ["max_vms", "vms", "VMs", "u"], ["max_running", "running", "Running", "u"], ["max_vcpus", "vcpus", "vCPUs", "u"],
    ["max_memory_mib", "memory_mib", "Memory MiB", "t"], ["max_disk_gib", "disk_gib", "Disk GiB", "t"],
];

function EditQuota({ user, quota, onClose }) {
    const inv = useInventory();
    const limits = quota?.limits?.v || {};
    const [values, setValues] = useState(Object.fromEntries(LIMITS.map(([key]) => [key, limits[key] ? String(limits[key].v) : ""])));
    const [error, setError] = useState(null);
    const save = event => {
        event?.preventDefault();
        const dict = { "auth.no_user_interaction": { t: "b", v: true } };
        const unset = [];
        for (const [key, , , type] of LIMITS) {
            if (values[key] === "")
                unset.push(key);
            else
                dict[key] = { t: type, v: Number(values[key]) };
        }
        if (unset.length)
            dict.unset = { t: "as", v: unset };
        inv.managerCall("SetQuota", [user.uid, dict], "ua{sv}").then(onClose).catch(setError);
    };
    return (
        <Modal isOpen variant="small" title={`Quota of ${user.name}`} onClose={onClose} id="quota-dialog"
               actions={[<Button key="save" onClick={save} id="quota-save">Save</Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>Cancel</Button>]}>
            <Form onSubmit={save}>
                {LIMITS.map(([key, , label]) => (
                    <FormGroup key={key} label={`${label} (empty: no limit)`} fieldId={`quota-${key}`}>
                        <TextInput id={`quota-${key}`} type="number" value={values[key]}
                                   onChange={(e, v) => setValues({ ...values, [key]: v })} />
                    </FormGroup>
                ))}
            </Form>
            {error && <Alert variant="danger" isInline title="Not saved" id="quota-error">{errorText(error)}</Alert>}
        </Modal>
    );
}

function QuotaRow({ user, version }) {
    const inv = useInventory();
    const [quota, setQuota] = useState(null);
    const [error, setError] = useState(null);
    const [editing, setEditing] = useState(false);
    const [reload, setReload] = useState(0);
    useEffect(() => {
        inv.managerCall("GetQuota", [user.uid, {}], "ua{sv}").then(([q]) => setQuota(q)).catch(setError);
    }, [inv, user.uid, version, reload]);
    const cell = ([key, used]) => {
        const max = quota?.limits?.v?.[key]?.v;
        const value = quota?.usage?.v?.[used]?.v ?? 0;
        return <td key={key}>{value} / {max === undefined ? "∞" : max}</td>;
    };
    return (
        <tr data-user={user.name}>
            <td>{user.name}</td><td>{user.groups.join(", ")}</td>
            {error ? <td colSpan={LIMITS.length}>{errorText(error)}</td> : LIMITS.map(cell)}
            <td>{quota?.source?.v}</td>
            <td>
                <Button size="sm" variant="secondary" onClick={() => setEditing(true)} data-action="edit-quota">Edit</Button>
                {editing && <EditQuota user={user} quota={quota} onClose={() => { setEditing(false); setReload(r => r + 1) }} />}
            </td>
        </tr>
    );
}

export function QuotasAdmin() {
    const inv = useInventory();
    const users = useHangarUsers();
    // Usage changes with the VMs: read again when their number or states change.
    const version = inv.vms().map(v => `${v.Owner}:${v.State}`).join();
    return (
        <table className="pf-v5-c-table pf-m-compact pf-m-grid-md" role="grid" id="hangar-quotas">
            <thead><tr><th>User</th><th>Groups</th>{LIMITS.map(([key, , label]) => <th key={key}>{label}</th>)}<th>Source</th><th /></tr></thead>
            <tbody>{users.map(u => <QuotaRow key={u.name} user={u} version={version} />)}</tbody>
        </table>
    );
}
