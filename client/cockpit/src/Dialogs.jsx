// The dialogs the actions need: a confirmation, a one-field prompt (rename, clone, snapshot name), and a form of
// several fields (extend an expiry, add a user to a guest, install packages).
import React, { useState } from "react";
import { Alert, Button, Form, FormGroup, Modal, TextInput } from "@patternfly/react-core";

import { errorText } from "./hangar.js";

// run() returns a promise; the dialog stays open with the daemon's message when it fails.
export function ConfirmDialog({ title, body, action, danger, run, onClose }) {
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const go = () => {
        setBusy(true);
        run().then(onClose)
                .catch(e => { setError(e); setBusy(false) });
    };
    return (
        <Modal isOpen variant="small" title={title} onClose={onClose} id="hangar-confirm"
               actions={[
                   <Button key="go" variant={danger ? "danger" : "primary"} onClick={go} isLoading={busy}
                           isDisabled={busy} id="confirm-go">{action}</Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>Cancel</Button>,
               ]}>
            {body}
            {error && <Alert variant="danger" isInline title={`${action} failed`} id="confirm-error">{errorText(error)}</Alert>}
        </Modal>
    );
}

export function PromptDialog({ title, label, initial, action, run, onClose }) {
    const [value, setValue] = useState(initial || "");
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const go = event => {
        event?.preventDefault();
        setBusy(true);
        run(value).then(onClose)
                .catch(e => { setError(e); setBusy(false) });
    };
    return (
        <Modal isOpen variant="small" title={title} onClose={onClose} id="hangar-prompt"
               actions={[
                   <Button key="go" onClick={go} isLoading={busy} isDisabled={busy || !value} id="prompt-go">{action}</Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>Cancel</Button>,
               ]}>
            <Form onSubmit={go}>
                <FormGroup label={label} fieldId="prompt-value">
                    <TextInput id="prompt-value" value={value} onChange={(e, v) => setValue(v)} autoFocus />
                </FormGroup>
            </Form>
            {error && <Alert variant="danger" isInline title={`${action} failed`} id="prompt-error">{errorText(error)}</Alert>}
        </Modal>
    );
}

// run() returns a promise; fields are the form's contents; ready says whether they can be submitted.
export function FormDialog({ id, title, action, ready, run, onClose, children }) {
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const go = event => {
        event?.preventDefault();
        setBusy(true);
        run().then(onClose)
                .catch(e => { setError(e); setBusy(false) });
    };
    return (
        <Modal isOpen variant="small" title={title} onClose={onClose} id={id}
               actions={[
                   <Button key="go" onClick={go} isLoading={busy} isDisabled={busy || !ready} id={`${id}-go`}>{action}</Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>Cancel</Button>,
               ]}>
            <Form onSubmit={go}>{children}</Form>
            {error && <Alert variant="danger" isInline title={`${action} failed`} id={`${id}-error`}>{errorText(error)}</Alert>}
        </Modal>
    );
}
