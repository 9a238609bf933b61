// VmResources: SetResources, a stopped VM's vCPUs, memory and disk (grow only), within the owner's quota and the
// ranges CreateVM allows. Crash safety by recording the intent first: the row takes the new spec before the domain
// or the volume is touched; the domain's definition follows, then the disk grows, then the domain's metadata block
// is rewritten last. A crash anywhere in between leaves a row whose spec differs from the metadata's, which start-up
// reconciliation (core/Reconciler) finishes: it applies the row's vCPUs and memory to the domain, grows a volume
// smaller than the row says and rewrites the metadata. A failure while running undoes the domain's change and puts
// the row back (a disk that grew stays grown, and the row says so). Loop thread only.
#pragma once

#include "core/Validation.h"
#include "core/VmContext.h"

#include <optional>
#include <string>

namespace hangar {

class VmResources
{
public:
    explicit VmResources(VmContext& context) : m_ctx(context) {}

    void set(const Caller& caller, const std::string& uuid, const ResourceRequest& request, Done<> done);

private:
    void proceed(const Ticket& ticket, Vm& vm, const ResourceRequest& request,
                 const std::optional<QuotaLimits>& limits);

    VmContext& m_ctx;
};

} // namespace hangar
