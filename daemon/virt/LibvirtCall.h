// How LibvirtHypervisor makes one libvirt API call: it takes the current session of the connection for the call's
// duration, and turns what libvirt reports on failure into hangar::Error, after letting the connection check
// whether the failure means it was lost. Shared by virt/LibvirtHypervisor.cpp and virt/LibvirtSnapshots.cpp.
// Internal to daemon/virt.
#pragma once

#include "core/Error.h"
#include "core/Validation.h"
#include "virt/LibvirtConnection.h"
#include "virt/LibvirtSupport.h"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace hangar::virt {

inline void requireUuid(const std::string& uuid)
{
    if (!looksLikeUuid(uuid))
        throw Error(ErrorCode::InvalidArgument, "uuid must be in lower-case 8-4-4-4-12 form, got '" + uuid + "'");
}

// One API call: holds the connection open for its duration and turns libvirt failures into hangar::Error.
class Call
{
public:
    Call(LibvirtConnection& connection, std::string uuid, std::string_view what)
        : m_connection(connection), m_session(connection.session()), m_uuid(std::move(uuid)), m_what(what)
    {}
    // A call about one domain on the connection `parent` already holds.
    Call(const Call& parent, std::string uuid, std::string_view what)
        : m_connection(parent.m_connection), m_session(parent.m_session), m_uuid(std::move(uuid)), m_what(what)
    {}

    virConnectPtr conn() const { return m_session->get(); }
    const LibvirtSession& session() const { return *m_session; }
    const std::string& uuid() const { return m_uuid; }

    // Throws the error of the libvirt call that just failed on this thread.
    [[noreturn]] void fail() const
    {
        const auto failure = lastFailure(); // before checkAlive's own calls overwrite it
        m_connection.checkAlive(*m_session);
        throw toError(failure, m_uuid, m_what);
    }
    void check(int rc) const
    {
        if (rc < 0)
            fail();
    }
    // For a call that changes the run state. Drivers disagree on how they say "wrong state" (qemu:
    // OPERATION_INVALID; the test driver: INTERNAL_ERROR), so when the domain turns out not to be in a state the
    // operation accepts, the failure is Busy whatever the code, and callers see the same error on every host.
    void checkTransition(int rc, virDomainPtr dom, std::initializer_list<DomainState> accepted) const
    {
        if (rc >= 0)
            return;
        auto failure = lastFailure();
        if (failure.code == VIR_ERR_INTERNAL_ERROR || failure.code == VIR_ERR_OPERATION_FAILED) {
            int state = 0;
            int reason = 0;
            if (virDomainGetState(dom, &state, &reason, 0) == 0 &&
                std::find(accepted.begin(), accepted.end(), toDomainState(state)) == accepted.end())
                failure.code = VIR_ERR_OPERATION_INVALID;
        }
        m_connection.checkAlive(*m_session);
        throw toError(failure, m_uuid, m_what);
    }
    DomainPtr lookup() const
    {
        DomainPtr dom(virDomainLookupByUUIDString(conn(), m_uuid.c_str()));
        if (!dom)
            fail();
        return dom;
    }

private:
    LibvirtConnection& m_connection;
    const std::shared_ptr<LibvirtSession> m_session;
    const std::string m_uuid;
    const std::string_view m_what;
};

inline Call domainCall(LibvirtConnection& connection, const std::string& uuid, std::string_view what)
{
    requireUuid(uuid);
    return Call(connection, uuid, what);
}

} // namespace hangar::virt
