// The Authorizer decides whether a caller may perform an action. It is asked before any state changes. The check
// is asynchronous because polkit may ask the user for a password: the answer arrives later, on the loop thread,
// while the daemon keeps serving other callers. Implementations: auth/AllowAllAuthorizer (session mode, tests),
// auth/PolkitAuthorizer (system bus).
#pragma once

#include "core/Error.h"
#include "core/Types.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hangar {

enum class Action
{
    CreateVm,
    ManageOwnVms,
    ManageAllVms,
    ManageImages,
    ManageHosts,
};

// The polkit action id, "org.hangar.hangar1.create-vm", ...
std::string_view actionId(Action action);

using AuthDetails = std::map<std::string, std::string>;
// Called with nullopt when allowed, with Error(PermissionDenied) naming the action otherwise.
using AuthCallback = std::function<void(std::optional<Error>)>;

class Authorizer
{
public:
    virtual ~Authorizer() = default;
    // done is called exactly once, on the loop thread (possibly before check returns).
    virtual void check(const Caller& caller, Action action, const AuthDetails& details, AuthCallback done) = 0;
};

} // namespace hangar
