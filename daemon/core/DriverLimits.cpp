#include "core/DriverLimits.h"

#include "core/Error.h"

#include <fmt/format.h>

namespace hangar {

bool isTestDriver(std::string_view uri)
{
    const auto end = uri.find_first_of(":+");
    return end != std::string_view::npos && uri.substr(0, end) == "test";
}

void refuseOnTestDriver(std::string_view uri, std::string_view what)
{
    if (isTestDriver(uri))
        throw Error(ErrorCode::NotSupported,
                    fmt::format("the test driver ({}) cannot {}; use qemu:///system (or qemu:///session)", uri, what));
}

} // namespace hangar
