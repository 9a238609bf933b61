// An Authorizer that allows everything. Used in session-bus mode, where the bus itself admits only one user, and
// by tests that are not about authorization.
#pragma once

#include "core/Authorizer.h"

namespace hangar::auth {

class AllowAllAuthorizer final : public Authorizer
{
public:
    void check(const Caller& caller, Action action, const AuthDetails& details, AuthCallback done) override;
};

} // namespace hangar::auth
