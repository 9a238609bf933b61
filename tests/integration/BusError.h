// errorOf for D-Bus calls, the one every integration suite uses: the name of the D-Bus error a call ends with. (Core's
// hangar::Error has its own, testing::errorOf in tests/unit/ErrorTestSupport.h.)
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <string>

namespace hangar::it {

// The D-Bus error name of what fn throws ("" when it does not), its message in *message.
template <typename Fn> std::string errorOf(Fn&& fn, std::string* message = nullptr)
{
    try {
        fn();
    } catch (const sdbus::Error& e) {
        if (message)
            *message = e.getMessage();
        return e.getName();
    }
    return "";
}

} // namespace hangar::it
