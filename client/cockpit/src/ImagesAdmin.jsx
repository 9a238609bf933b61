// Images for administrators: upload (with progress and cancel, and the image's OS: detected from an ISO, none, or
// one of those this host's libosinfo knows, from Manager.ListOperatingSystems), the list with OS, size, format,
// creation time and the VMs that use each, and delete (the daemon refuses while VMs use an image, naming them; shown as it is).
import React, { useEffect, useState } from "react";
import {
    ActionGroup, Alert, Button, Card, CardBody, CardTitle, FileUpload, Form, FormGroup, FormSelect, FormSelectOption,
    Progress, TextInput,
} from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { useUserNames } from "./users.js";
import { IFACE } from "./hangar.js";
import { bytes, dateUsec } from "./format.js";
import { ConfirmDialog } from "./Dialogs.jsx";
import { Upload } from "./Upload.js";

// The operating systems this host's libosinfo knows, as [id, name, version] sorted by name; [] until they come.
function useOperatingSystems() {
    const inv = useInventory();
    const [systems, setSystems] = useState([]);
    useEffect(() => {
        inv.managerCall("ListOperatingSystems", [], "")
                .then(([rows]) => setSystems([...rows].sort((a, b) => a[1].localeCompare(b[1], undefined, { numeric: true }))))
                .catch(() => setSystems([]));
    }, [inv]);
    return systems;
}

function UploadForm() {
    const inv = useInventory();
    const systems = useOperatingSystems();
    const [file, setFile] = useState(null);
    const [name, setName] = useState("");
    const [description, setDescription] = useState("");
    const [os, setOs] = useState("detect"); // "detect": libosinfo's media detection; "none": no OS; else a short id
    const [upload, setUpload] = useState(null);
    const [, setTick] = useState(0);

    useEffect(() => {
        if (!upload)
            return;
        const onChange = () => setTick(t => t + 1);
        upload.addEventListener("changed", onChange);
        return () => upload.removeEventListener("changed", onChange);
    }, [upload]);

    const start = event => {
        event.preventDefault();
        const u = new Upload(file, name, description, os === "detect" ? null : os === "none" ? "" : os);
        setUpload(u);
        u.run();
    };

    // The import's Job, found through the image it fills.
    const image = upload && inv.images().find(i => i.Name === upload.name);
    const job = image && inv.jobs().find(j => (j.Objects || []).includes(image.path));
    let value = 0;
    let title = "";
    if (upload?.phase === "copy") {
        value = upload.file.size ? (100 * upload.sent) / upload.file.size : 0;
        title = `Copying to the host: ${bytes(upload.sent)} of ${bytes(upload.file.size)}`;
    } else if (upload?.phase === "import") {
        value = job?.ProgressValid ? 100 * job.Progress : 0;
        title = job ? `Importing: ${bytes(job.Bytes || 0)}${job.Rate ? ` at ${bytes(job.Rate)}/s` : ""}` : "Starting the import";
    }
    const running = upload && (upload.phase === "copy" || upload.phase === "import");

    return (
        <Form onSubmit={start} id="hangar-upload">
            <FormGroup label="Image file (ISO, qcow2 or raw)" fieldId="upload-file">
                <FileUpload id="upload-file" filename={file?.name || ""} hideDefaultPreview browseButtonText="Choose file"
                            onFileInputChange={(e, f) => { setFile(f); if (!name) setName(f.name.toLowerCase().replace(/\.[^.]*$/, "").replace(/[^a-z0-9-]/g, "-")) }}
                            onClearClick={() => setFile(null)} isDisabled={running} />
            </FormGroup>
            <FormGroup label="Name" fieldId="upload-name">
                <TextInput id="upload-name" value={name} onChange={(e, v) => setName(v)} isDisabled={running} />
            </FormGroup>
            <FormGroup label="Description" fieldId="upload-description">
                <TextInput id="upload-description" value={description} onChange={(e, v) => setDescription(v)} isDisabled={running} />
            </FormGroup>
            <FormGroup label="Operating system" fieldId="upload-os">
                <FormSelect id="upload-os" value={os} onChange={(e, v) => setOs(v)} isDisabled={running}
                            aria-label="Operating system">
                    <FormSelectOption value="detect" label="Detect from the ISO (none for qcow2 and raw)" />
                    <FormSelectOption value="none" label="None" />
                    {systems.map(([id, osName]) => <FormSelectOption key={id} value={id} label={`${osName} (${id})`} />)}
                </FormSelect>
            </FormGroup>
            {running && <Progress id="upload-progress" value={value} title={title} />}
            {upload?.phase === "done" && <Alert variant="success" isInline title={upload.message} id="upload-done" />}
            {(upload?.phase === "failed" || upload?.phase === "cancelled") &&
                <Alert variant={upload.phase === "failed" ? "danger" : "info"} isInline title={upload.message} id="upload-error" />}
            <ActionGroup>
                <Button type="submit" id="upload-start" isDisabled={!file || !name || running}>Upload</Button>
                {running && <Button variant="secondary" id="upload-cancel" onClick={() => upload.cancel(inv, job?.path)}>Cancel</Button>}
            </ActionGroup>
        </Form>
    );
}

function ImageTable() {
    const inv = useInventory();
    const names = useUserNames();
    const [deleting, setDeleting] = useState(null);
    const vmName = path => inv.get(path, IFACE.vm)?.Name || path.split("/").pop();
    return (
        <>
            <table className="pf-v5-c-table pf-m-compact pf-m-grid-md" role="grid" id="hangar-images">
                <thead><tr><th>Name</th><th>OS</th><th>Format</th><th>State</th><th>Size</th><th>Virtual size</th><th>Created</th><th>Owner</th><th>Used by</th><th /></tr></thead>
                <tbody>
                    {inv.images().map(image => (
                        <tr key={image.path} data-image={image.Name}>
                            <td>{image.Name}{image.Description ? <div className="hangar-muted">{image.Description}</div> : null}</td>
                            <td className="hangar-image-os" data-os={image.OS || ""}>{image.OSName || "-"}</td>
                            <td>{image.Format}</td><td>{image.State}</td>
                            <td>{bytes(image.SizeBytes)}</td><td>{bytes(image.VirtualSizeBytes)}</td>
                            <td>{dateUsec(image.CreatedAt)}</td><td>{names[image.Owner] || image.Owner}</td>
                            <td className="hangar-used-by">{(image.UsedBy || []).map(vmName).join(", ") || "-"}</td>
                            <td><Button size="sm" variant="danger" data-action="delete-image" onClick={() => setDeleting(image)}>Delete</Button></td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {deleting && <ConfirmDialog title={`Delete image ${deleting.Name}?`} action="Delete" danger
                                        body="The image and its volume are deleted."
                                        run={() => inv.call(deleting.path, IFACE.image, "Delete", [{ "auth.no_user_interaction": { t: "b", v: true } }], "a{sv}")}
                                        onClose={() => setDeleting(null)} />}
        </>
    );
}

export function ImagesAdmin() {
    return (
        <>
            <Card><CardTitle>Upload an image</CardTitle><CardBody><UploadForm /></CardBody></Card>
            <h2 className="hangar-section-title">Images</h2>
            <ImageTable />
        </>
    );
}

