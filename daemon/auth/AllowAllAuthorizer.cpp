#include "auth/AllowAllAuthorizer.h"

namespace hangar::auth {

void AllowAllAuthorizer::check(const Caller&, Action, const AuthDetails&, AuthCallback done)
{
    done(std::nullopt);
}

} // namespace hangar::auth
