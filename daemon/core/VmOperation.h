// The operations that can be in flight on a VM (Vm::operation): one at a time per VM, so a second request finds
// the VM busy. operationName is what the audit log records as the action and what a Busy message names.
#pragma once

#include <string_view>

namespace hangar {

enum class VmOperation
{
    Create,
    Clone,
    Start,
    Stop,
    ForceStop,
    Reboot,
    Pause,
    Resume,
    Delete,
    Rename,
    SnapshotCreate,
    SnapshotRevert,
    SnapshotDelete,
    Publish,
    SetExpiry,
    SetResources,
    Exec,
    AddUser,
    InstallPackages,
};

// "create", "force-stop", "snapshot-create", ...: the audit log's action names, part of the API (GetEvents).
constexpr std::string_view operationName(VmOperation operation)
{
    switch (operation) {
    case VmOperation::Create:
        return "create";
    case VmOperation::Clone:
        return "clone";
    case VmOperation::Start:
        return "start";
    case VmOperation::Stop:
        return "stop";
    case VmOperation::ForceStop:
        return "force-stop";
    case VmOperation::Reboot:
        return "reboot";
    case VmOperation::Pause:
        return "pause";
    case VmOperation::Resume:
        return "resume";
    case VmOperation::Delete:
        return "delete";
    case VmOperation::Rename:
        return "rename";
    case VmOperation::SnapshotCreate:
        return "snapshot-create";
    case VmOperation::SnapshotRevert:
        return "snapshot-revert";
    case VmOperation::SnapshotDelete:
        return "snapshot-delete";
    case VmOperation::Publish:
        return "publish";
    case VmOperation::SetExpiry:
        return "set-expiry";
    case VmOperation::SetResources:
        return "set-resources";
    case VmOperation::Exec:
        return "exec";
    case VmOperation::AddUser:
        return "add-user";
    case VmOperation::InstallPackages:
        return "install-packages";
    }
    return "unknown";
}

} // namespace hangar
