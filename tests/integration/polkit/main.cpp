// Entry point of the authorization tests. They need root (they add Unix users, start polkitd and run clients as
// other users) and run-hermetic.sh's private copies of /etc and polkit's directories:
//   - not root: print why and exit 77 (ctest's SKIP_RETURN_CODE), or fail with 1 when CI=true;
//   - root outside run-hermetic.sh: run again through it, so the host is never changed;
//   - root inside: create the test users in the private /etc, then run the tests.
#include "PolkitHarness.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv)
{
    using namespace hangar::it::polkit;
    const std::vector<std::string> originalArgs(argv + 1, argv + argc);
    ::testing::InitGoogleTest(&argc, argv);
    if (GTEST_FLAG_GET(list_tests))
        return RUN_ALL_TESTS();

    if (geteuid() != 0) {
        const char* ci = std::getenv("CI");
        std::cerr << "hangar_polkit_tests: these tests need root: they create Unix users (in a private copy of "
                     "/etc), run the real polkitd and call hangard as those users. Run them as root, e.g. "
                     "`sudo ctest -L integration`.\n";
        if (ci && std::strcmp(ci, "true") == 0) {
            std::cerr << "hangar_polkit_tests: CI=true, so this is a failure, not a skip.\n";
            return 1;
        }
        std::cerr << "hangar_polkit_tests: SKIPPED (not root).\n";
        return 77;
    }

    if (const std::string problem = hermeticProblem(); !problem.empty()) {
        if (std::getenv("HANGAR_HERMETIC_ROOT")) {
            std::cerr << "hangar_polkit_tests: inside run-hermetic.sh but " << problem << '\n';
            return 1;
        }
        const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
        std::vector<std::string> args{HANGAR_RUN_HERMETIC, self};
        args.insert(args.end(), originalArgs.begin(), originalArgs.end());
        std::vector<char*> cargs;
        for (auto& a : args)
            cargs.push_back(a.data());
        cargs.push_back(nullptr);
        std::cerr << "hangar_polkit_tests: " << problem << "; running again through " << HANGAR_RUN_HERMETIC << '\n';
        execv(HANGAR_RUN_HERMETIC, cargs.data());
        std::cerr << "hangar_polkit_tests: cannot run " << HANGAR_RUN_HERMETIC << ": " << std::strerror(errno) << '\n';
        return 1;
    }

    try {
        const TestUsers& u = testUsers();
        std::cerr << "hangar_polkit_tests: users in the private /etc: " << u.admin.name << " (" << u.admin.uid
                  << ", hangar-admin), " << u.guest1.name << " (" << u.guest1.uid << ", hangar), " << u.guest2.name
                  << " (" << u.guest2.uid << ", hangar), " << u.outsider.name << " (" << u.outsider.uid << "), "
                  << u.service.name << " (" << u.service.uid << ", libvirt); hangard: " << hangardBinary() << '\n';
    } catch (const std::exception& e) {
        std::cerr << "hangar_polkit_tests: cannot set up the test users: " << e.what() << '\n';
        return 1;
    }
    return RUN_ALL_TESTS();
}
