// VmReads: the read side of VM management, which changes nothing: lookup by name, listing, the audit log, a VM's
// provisioning.
// Loop thread only.
#pragma once

#include "core/VmContext.h"

#include <optional>
#include <string>
#include <vector>

namespace hangar {

struct ListFilter
{
    bool all = false;
    std::optional<std::uint32_t> owner;
    std::optional<VmState> state;
};

struct EventQuery
{
    std::optional<std::string> vm; // name or UUID
    std::optional<std::uint32_t> uid;
    std::optional<std::int64_t> sinceUsec;
    std::optional<std::uint32_t> limit;
    std::optional<Severity> minSeverity;
};

class VmReads
{
public:
    explicit VmReads(VmContext& context) : m_ctx(context) {}

    // Throws Error(InvalidArgument) for a malformed name, Error(NotFound) for an unknown one.
    const Vm& getByName(const std::string& name) const;
    std::vector<const Vm*> list(const Caller& caller, const ListFilter& filter) const;
    // Administrators (manage-all-vms, asked without interaction) read every event; others only their own.
    void events(const Caller& caller, const EventQuery& query, const Done<std::vector<EventRecord>>& done);
    // The VM's provisioning (keys and password hashes included): manage-own-vms for its owner, manage-all-vms for
    // anyone else (verb "provisioning"), like the console. A denial is audited; a read is not.
    void provisioning(const Caller& caller, const std::string& uuid, const Done<Provisioning>& done);

private:
    VmContext& m_ctx;
};

} // namespace hangar
