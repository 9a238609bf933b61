// What a member of group hangar sees: their quota and usage, the images offered as the OS to start from (OsPicker),
// a form to create a VM, and their VMs as cards coloured by state.
import React, { useEffect, useState } from "react";
import {
    ActionGroup, Alert, Button, Card, CardBody, CardTitle, DescriptionList, DescriptionListDescription,
    DescriptionListGroup, DescriptionListTerm, Form, FormGroup, Gallery, TextInput,
} from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { errorText, NO_INTERACTION, variant } from "./hangar.js";
import { VmCard } from "./VmCard.jsx";
import { NO_PROVISIONING, ProvisioningFields, provisioningSpec } from "./ProvisioningFields.jsx";
import { OsPicker } from "./OsPicker.jsx";
import { LifetimeFields, lifetimeSpec, NO_LIFETIME } from "./Lifetime.jsx";

export function useQuota(uid, version) {
    const inv = useInventory();
    const [quota, setQuota] = useState(null);
    const [error, setError] = useState(null);
    useEffect(() => {
        inv.managerCall("GetQuota", [uid, {}], "ua{sv}")
                .then(([q]) => { setQuota(q); setError(null) })
                .catch(setError);
    }, [inv, uid, version]);
    return [quota, error];
}

function limitText(quota, limit, used, unit = "") {
    const max = quota.limits?.v?.[limit]?.v;
    const value = quota.usage?.v?.[used]?.v ?? 0;
    return max === undefined ? `${value}${unit} (no limit)` : `${value}${unit} of ${max}${unit}`;
}

export function QuotaPanel({ uid, version }) {
    const [quota, error] = useQuota(uid, version);
    if (error)
        return <Alert variant="warning" isInline title="Quota not readable">{errorText(error)}</Alert>;
    if (!quota)
        return null;
    return (
        <DescriptionList isHorizontal isCompact columnModifier={{ default: "2Col" }} id="hangar-quota">
            {[["VMs", "max_vms", "vms"], ["Running", "max_running", "running"], ["vCPUs", "max_vcpus", "vcpus"],
                ["Memory", "max_memory_mib", "memory_mib", " MiB"], ["Disk", "max_disk_gib", "disk_gib", " GiB"]]
                    .map(([label, limit, used, unit]) => (
                        <DescriptionListGroup key={limit}>
                            <DescriptionListTerm>{label}</DescriptionListTerm>
                            <DescriptionListDescription>{limitText(quota, limit, used, unit)}</DescriptionListDescription>
                        </DescriptionListGroup>
                    ))}
        </DescriptionList>
    );
}

function CreateForm() {
    const inv = useInventory();
    const images = inv.images().filter(i => i.State === "ready");
    const [name, setName] = useState("");
    const [image, setImage] = useState("");
    const [vcpus, setVcpus] = useState("1");
    const [memory, setMemory] = useState("512");
    const [disk, setDisk] = useState("");
    const [provisioning, setProvisioning] = useState(NO_PROVISIONING);
    const [lifetime, setLifetime] = useState(NO_LIFETIME);
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    // An image with an OS: vCPUs, memory and disk are left empty for the daemon to take that OS's defaults.
    const osName = images.find(i => i.Name === image)?.OSName;
    const pickImage = picked => {
        setImage(picked);
        if (images.find(i => i.Name === picked)?.OSName) {
            setVcpus("");
            setMemory("");
            setDisk("");
        }
    };

    const create = event => {
        event.preventDefault();
        // What is left empty the daemon picks: the image's OS's recommended figures, else its own defaults.
        const spec = { ...NO_INTERACTION };
        if (vcpus)
            spec.vcpus = variant.u(vcpus);
        if (memory)
            spec.memory_mib = variant.t(memory);
        if (disk)
            spec.disk_gib = variant.t(disk);
        if (image)
            spec.image = variant.s(image);
        Object.assign(spec, provisioningSpec(provisioning), lifetimeSpec(lifetime));
        setBusy(true);
        setError(null);
        inv.managerCall("CreateVM", [name, spec], "sa{sv}")
                .then(() => setName(""))
                .catch(setError)
                .finally(() => setBusy(false));
    };

    return (
        <Form onSubmit={create} id="hangar-create">
            <FormGroup label="Operating system (image)" fieldId="create-image">
                <OsPicker images={images} value={image} onChange={pickImage} />
            </FormGroup>
            <FormGroup label="Name" isRequired fieldId="create-name">
                <TextInput id="create-name" value={name} onChange={(e, v) => setName(v)}
                           placeholder="lower-case letters, digits and -" isRequired />
            </FormGroup>
            <FormGroup label="vCPUs" fieldId="create-vcpus">
                <TextInput id="create-vcpus" type="number" min="1" value={vcpus} onChange={(e, v) => setVcpus(v)}
                           placeholder={osName ? `${osName}'s default` : "1"} />
            </FormGroup>
            <FormGroup label="Memory (MiB)" fieldId="create-memory">
                <TextInput id="create-memory" type="number" min="64" value={memory} onChange={(e, v) => setMemory(v)}
                           placeholder={osName ? `${osName}'s default` : "512"} />
            </FormGroup>
            <FormGroup label="Disk (GiB)" fieldId="create-disk">
                <TextInput id="create-disk" type="number" min="1" value={disk} placeholder={osName ? `${osName}'s default` : "image size or 10"}
                           onChange={(e, v) => setDisk(v)} />
            </FormGroup>
            <ProvisioningFields value={provisioning} onChange={setProvisioning} />
            <LifetimeFields value={lifetime} onChange={setLifetime} />
            {error && <Alert variant="danger" isInline title="Not created" id="create-error">{errorText(error)}</Alert>}
            <ActionGroup>
                <Button type="submit" id="create-submit" isDisabled={!name || busy} isLoading={busy}>Create VM</Button>
            </ActionGroup>
        </Form>
    );
}

export function GuestView({ user }) {
    const inv = useInventory();
    const mine = inv.vms().filter(vm => vm.Owner === user.uid);
    return (
        <div className="hangar-guest">
            <Gallery hasGutter minWidths={{ default: "380px" }}>
                <Card>
                    <CardTitle>New VM</CardTitle>
                    <CardBody><CreateForm /></CardBody>
                </Card>
                <Card>
                    <CardTitle>Your quota</CardTitle>
                    <CardBody><QuotaPanel uid={user.uid} version={mine.length + ":" + mine.map(v => v.State).join()} /></CardBody>
                </Card>
            </Gallery>
            <h2 className="hangar-section-title">Your VMs ({mine.length})</h2>
            {mine.length === 0 && <p id="hangar-no-vms">You have no VMs yet.</p>}
            <Gallery hasGutter minWidths={{ default: "320px" }} id="hangar-vm-cards">
                {mine.map(vm => <VmCard key={vm.path} vm={vm} />)}
            </Gallery>
        </div>
    );
}
