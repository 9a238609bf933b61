#include "Usage.h"

#include "ExitCode.h"
#include "Words.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

namespace hangar::client {
namespace {

// Global options that take a value as the next word (`--bus X`); `--bus=X` is one word.
bool takesValue(const std::string& word)
{
    return word == "--bus";
}

std::vector<const CLI::App*> visibleSubcommands(const CLI::App& app)
{
    return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::string commandPath(const CLI::App& app)
{
    std::vector<std::string> words;
    for (const CLI::App* at = &app; at->get_parent() != nullptr; at = at->get_parent())
        words.insert(words.begin(), at->get_name());
    std::string path;
    for (const auto& word : words) {
        if (!path.empty())
            path += ' ';
        path += word;
    }
    return path;
}

int unknownCommand(const CLI::App& parent, const std::string& word)
{
    std::vector<std::string> names;
    for (const CLI::App* sub : visibleSubcommands(parent))
        names.push_back(sub->get_name());
    const std::string prefix = parent.get_parent() == nullptr ? "" : commandPath(parent) + " ";
    std::string text = "unknown command '" + prefix + word + "'";
    const std::string near = suggestWord(word, names);
    if (!near.empty())
        text += "; did you mean '" + prefix + near + "'?";
    else
        text += "; 'hangarctl help" + (prefix.empty() ? "" : " " + prefix.substr(0, prefix.size() - 1)) +
                "' lists the commands";
    printError(text);
    return toInt(ExitCode::Usage);
}

void printShortUsage(const CLI::App& app)
{
    std::string commands;
    for (const CLI::App* sub : visibleSubcommands(app))
        commands += (commands.empty() ? "" : " ") + sub->get_name();
    std::cerr << "Usage: hangarctl [--bus BUS] [--json] [--no-ask-password] COMMAND [ARGS...]\n"
              << "Commands: " << commands << "\n"
              << "'hangarctl help' describes the commands, options and exit codes; 'hangarctl help COMMAND' one "
                 "command.\n";
}

// One or two command lines that work as written against a hangard with an image debian-12 and a VM web.
const std::map<std::string, std::string, std::less<>> kExamples{
    {"list",
     "hangarctl list\n  hangarctl list --all --state running -o name,ip,cpus,memory\n  hangarctl list -q -o name"},
    {"info", "hangarctl info web\n  hangarctl --json info web | jq .Addresses"},
    {"status", "hangarctl status web"},
    {"create", "hangarctl create web --cpus 2 --memory 2G --disk 20G\n"
               "  hangarctl create web --image debian-12 --user alice:sudo --ssh-key ~/.ssh/id_ed25519.pub\n"
               "  hangarctl create scratch --image debian-12 --ephemeral --ttl 2h"},
    {"provisioning", "hangarctl provisioning web"},
    {"expire", "hangarctl expire web 4h\n  hangarctl expire web never"},
    {"set", "hangarctl set web --cpus 4 --memory 8G\n  hangarctl set web --disk 40G"},
    {"exec", "hangarctl exec web -- uname -a\n  hangarctl exec web --timeout 300 -- systemctl restart nginx"},
    {"adduser", "hangarctl adduser web deploy --sudo --ssh-key ~/.ssh/id_ed25519.pub"},
    {"install", "hangarctl install web nginx postgresql"},
    {"start", "hangarctl start web db\n  hangarctl start --wait web"},
    {"stop", "hangarctl stop web\n  hangarctl stop --wait --timeout 60 web\n  hangarctl stop --force web"},
    {"restart", "hangarctl restart web\n  hangarctl restart --wait web"},
    {"pause", "hangarctl pause web"},
    {"resume", "hangarctl resume web"},
    {"delete", "hangarctl delete web\n  hangarctl delete --force web db"},
    {"rename", "hangarctl rename web www"},
    {"events", "hangarctl events --since 1h --vm web\n  hangarctl events --severity warning --follow"},
    {"alerts", "hangarctl alerts\n  hangarctl alerts --json"},
    {"quota", "hangarctl quota\n  hangarctl quota set alice --vms 5 --memory 16G"},
    {"quota show", "hangarctl quota show\n  hangarctl quota show alice"},
    {"quota set", "hangarctl quota set alice --vms 5 --running 2 --cpus 8 --memory 16G\n"
                  "  hangarctl quota set alice --unset memory,disk\n  hangarctl quota set alice --reset"},
    {"console", "hangarctl console web\n  hangarctl console --force web"},
    {"logs", "hangarctl logs web\n  hangarctl logs -n 20 -f web"},
    {"vnc", "hangarctl vnc web\n  hangarctl vnc --listen 127.0.0.1:0 web"},
    {"image", "hangarctl image import debian-12.qcow2 --name debian-12\n  hangarctl image list"},
    {"image import", "hangarctl image import debian-12-genericcloud-amd64.qcow2 --name debian-12\n"
                     "  hangarctl image import debian.iso --name debian-installer --os debian12"},
    {"image list", "hangarctl image list\n  hangarctl --json image list"},
    {"image show", "hangarctl image show debian-12"},
    {"image delete", "hangarctl image delete debian-12"},
    {"publish", "hangarctl publish web web-golden --description \"web server, configured\""},
    {"snapshot", "hangarctl snapshot create web before-upgrade\n  hangarctl snapshot list web"},
    {"snapshot create", "hangarctl snapshot create web before-upgrade --description \"clean install\""},
    {"snapshot list", "hangarctl snapshot list web"},
    {"snapshot revert", "hangarctl snapshot revert web before-upgrade"},
    {"snapshot delete", "hangarctl snapshot delete web before-upgrade"},
    {"clone", "hangarctl clone web web-copy"},
    {"stats", "hangarctl stats\n  hangarctl --json stats web"},
    {"top", "hangarctl top\n  hangarctl top -d 5 -n 3"},
};

void addExamplesBelow(CLI::App& app)
{
    for (CLI::App* sub : app.get_subcommands({})) {
        if (auto it = kExamples.find(commandPath(*sub)); it != kExamples.end())
            sub->footer("Examples:\n  " + it->second);
        addExamplesBelow(*sub);
    }
}

} // namespace

std::optional<int> checkCommandWords(const CLI::App& app, std::vector<std::string>& args)
{
    const CLI::App* level = &app;
    bool sawCommand = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (word == "--")
            break;
        if (!word.empty() && word.front() == '-') {
            if (word == "-h" || word == "--help" || word == "--version")
                return std::nullopt; // CLI11 answers these
            if (takesValue(word))
                ++i;
            continue;
        }
        if (!sawCommand && word == "help") {
            // `help CMD SUB` is `CMD SUB --help`: check the words that follow as commands, then let CLI11 print.
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
            args.emplace_back("--help");
            --i;
            sawCommand = true; // a bare `help` is the main --help
            continue;
        }
        if (level->get_subcommands({}).empty())
            break; // a command's own arguments from here on
        const CLI::App* sub = nullptr;
        try {
            sub = level->get_subcommand(word);
        } catch (const CLI::OptionNotFound&) {
            return unknownCommand(*level, word);
        }
        sawCommand = true;
        level = sub;
    }
    if (!sawCommand) {
        printShortUsage(app);
        return toInt(ExitCode::Usage);
    }
    return std::nullopt;
}

void addExamples(CLI::App& app)
{
    addExamplesBelow(app);
}

} // namespace hangar::client
