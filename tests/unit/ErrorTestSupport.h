// For tests that expect a hangar::Error: the error a call throws (errorOf), or just its code (codeOf). The one copy
// for the unit, contract and end-to-end tests.
#pragma once

#include "core/Error.h"

#include <functional>
#include <gtest/gtest.h>
#include <optional>

namespace hangar::testing {

// The code of the hangar::Error fn throws; a test failure (and Cancelled) when it throws none.
inline ErrorCode codeOf(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no hangar::Error thrown";
    return ErrorCode::Cancelled;
}

// The hangar::Error fn throws; nullopt when it throws none.
inline std::optional<Error> errorOf(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    return std::nullopt;
}

} // namespace hangar::testing
