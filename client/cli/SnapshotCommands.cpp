// snapshot create, list, revert and delete: a VM's internal snapshots (VM.CreateSnapshot, ListSnapshots,
// RevertToSnapshot, DeleteSnapshot). Creating or reverting a snapshot of a running VM writes or reads its whole
// memory before the call answers, so the changing calls get the long timeout that clone has.
#include "Commands.h"
#include "Output.h"
#include "common/Format.h"

#include <iostream>

namespace hangar::client {
namespace {

struct SnapshotVerb
{
    std::string doing; // "cannot <doing>: ..."
    std::string done;  // "<done>."
};

SnapshotVerb verbFor(SnapshotAction action, const SnapshotOptions& options)
{
    const std::string snapshot = "snapshot '" + options.name + "'";
    const std::string vm = "VM '" + options.vm + "'";
    switch (action) {
    case SnapshotAction::Create:
        return {"create " + snapshot + " of " + vm, "Created " + snapshot + " of " + vm};
    case SnapshotAction::Revert:
        return {"revert " + vm + " to " + snapshot, "Reverted " + vm + " to " + snapshot};
    case SnapshotAction::Delete:
        break;
    }
    return {"delete " + snapshot + " of " + vm, "Deleted " + snapshot + " of " + vm};
}

// ListSnapshots' time is signed (x); before the epoch means unknown, as 0 does.
std::uint64_t createdUsec(std::int64_t usec)
{
    return usec > 0 ? static_cast<std::uint64_t>(usec) : 0;
}

} // namespace

ExitCode runSnapshotList(Context& context, const std::string& vmName)
{
    std::vector<sdbus::Struct<std::string, std::string, std::int64_t, std::string, bool>> rows;
    try {
        VmProxy vm(context.connection().bus(), context.connection().vmPath(vmName));
        rows = vm.ListSnapshots();
    } catch (const sdbus::Error& e) {
        return context.reportVmError("list the snapshots of", vmName, e);
    }

    if (context.json()) {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& row : rows) {
            const std::uint64_t created = createdUsec(row.get<2>());
            array.push_back({{"name", row.get<0>()},
                             {"description", row.get<1>()},
                             {"created_usec", created},
                             {"created", created == 0 ? std::string() : formatIsoTime(created)},
                             {"state", row.get<3>()},
                             {"current", row.get<4>()}});
        }
        printJson(std::cout, array, true);
        return ExitCode::Ok;
    }
    if (rows.empty()) {
        std::cout << "VM '" << sanitize(vmName) << "' has no snapshots." << std::endl;
        return ExitCode::Ok;
    }
    Table table({"NAME", "CREATED", "STATE", "CURRENT", "DESCRIPTION"});
    for (const auto& row : rows)
        table.addRow({row.get<0>(), formatLocalTime(createdUsec(row.get<2>())), row.get<3>(),
                      row.get<4>() ? "yes" : "-", row.get<1>().empty() ? "-" : row.get<1>()});
    table.print(std::cout);
    std::cout.flush();
    return ExitCode::Ok;
}

ExitCode runSnapshotChange(Context& context, SnapshotAction action, const SnapshotOptions& options)
{
    const SnapshotVerb verb = verbFor(action, options);
    try {
        context.prepareAuthorizedCall(kLongCallTimeout);
        VmProxy vm(context.connection().bus(), context.connection().vmPath(options.vm));
        Options call = context.authOptions();
        switch (action) {
        case SnapshotAction::Create:
            if (options.description)
                call["description"] = sdbus::Variant(*options.description);
            vm.CreateSnapshot(options.name, call);
            break;
        case SnapshotAction::Revert:
            vm.RevertToSnapshot(options.name, call);
            break;
        case SnapshotAction::Delete:
            vm.DeleteSnapshot(options.name, call);
            break;
        }
    } catch (const sdbus::Error& e) {
        return context.reportError(verb.doing, e);
    }
    if (context.json())
        printJson(std::cout, {{"vm", options.vm}, {"snapshot", options.name}, {"ok", true}}, true);
    else
        std::cout << sanitize(verb.done) << "." << std::endl;
    return ExitCode::Ok;
}

} // namespace hangar::client
