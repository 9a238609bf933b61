// hangarctl's words before and around CLI11: `help [COMMAND...]`, a short usage for a bare `hangarctl`, "did you
// mean" for a mistyped command, and the examples at the end of each command's --help. Everything here reads the
// command tree CLI11 was given, so a command added in main.cpp is covered without a change here (its examples
// excepted: kExamples in Usage.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace hangar::client {

// Looks at the command words of args (argv without argv[0]) before CLI11 parses them. Rewrites
// `help [COMMAND...]` into `COMMAND... --help`. Returns an exit code when the run ends here: a bare hangarctl (short
// usage on stderr, 2) or an unknown command ("unknown command 'lsit'; did you mean 'list'?" on stderr, 2).
std::optional<int> checkCommandWords(const CLI::App& app, std::vector<std::string>& args);

// Sets each subcommand's footer to its examples (kExamples). Call after every command is defined.
void addExamples(CLI::App& app);

} // namespace hangar::client
