// For unit tests that expect a hangar::Error: the code a call throws.
#pragma once

#include "core/Error.h"

#include <functional>
#include <gtest/gtest.h>

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

} // namespace hangar::testing
