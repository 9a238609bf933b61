// hangarctl: the command-line client of hangard. Sets up the command line (CLI11) and turns every failure into
// one of the documented exit codes; the commands themselves live in *Command*.cpp. See docs/hangarctl.md.
#include "Commands.h"
#include "ExitCode.h"
#include "Usage.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

using namespace hangar::client;

namespace {

constexpr const char* kFooter =
    R"('hangarctl help COMMAND' (or 'hangarctl COMMAND --help') describes one command, with examples.

Exit codes:
  0  success
  1  hangard refused or failed the operation (e.g. Busy, InvalidArgument, AlreadyExists)
  2  usage error: bad command line, size, time or user, or an image FILE that cannot be opened
  3  cannot reach hangard: no bus, or nothing owns org.hangar.Hangar1 on it, or no reply
  4  no such VM, image or snapshot (NotFound)
  5  permission denied (polkit or the bus policy)
  6  --wait: the VM did not reach the state waited for before --wait-timeout
130  interrupted by SIGINT/SIGTERM while waiting (image import and publish: after cancelling the job)
With several names, each is processed in order; the exit code is the failures' shared code, or 1 if they differ.

Environment: HANGAR_BUS sets the bus when --bus is not given.
Authentication: when stdin is a terminal and polkit runs, a call that polkit must authorize starts pkttyagent so
polkit can ask for a password here; --no-ask-password turns that off.
Colour: only on a terminal, and never when NO_COLOR is set.)";

// CLI::PositiveNumber would print its range up to DBL_MAX; the daemon checks the upper bound with a better message.
const CLI::Validator kAtLeastOne(
    [](std::string& value) {
        return value.find_first_not_of("0123456789") == std::string::npos &&
                       value.find_first_not_of('0') != std::string::npos
                   ? std::string()
                   : "must be a whole number of at least 1, got '" + value + "'";
    },
    "N>=1");

// Everything the parsed command line selects; filled by CLI11, read once parsing succeeded.
struct CommandLine
{
    GlobalOptions global;
    ListOptions list;
    std::string statusName;
    std::string infoName;
    std::string provisioningName;
    CreateOptions create;
    std::vector<std::string> names;
    ActionOptions action;
    StopOptions stop;
    StopOptions start;
    StopOptions restart;
    std::string oldName;
    std::string newName;
    EventsOptions events;
    QuotaShowOptions quotaShow;
    QuotaSetOptions quotaSet;
    TopOptions top;
    ConsoleOptions console;
    LogsOptions logs;
    VncOptions vnc;
    CloneOptions clone;
    ImageImportOptions imageImport;
    std::string imageName;
    PublishOptions publish;
    SnapshotOptions snapshot;
    ExpireOptions expire;
    SetOptions set;
    ExecCommandOptions exec;
    AddUserOptions addUser;
    InstallOptions install;
};

struct Subcommands
{
    CLI::App* list;
    CLI::App* status;
    CLI::App* info;
    CLI::App* create;
    CLI::App* provisioning;
    CLI::App* start;
    CLI::App* stop;
    CLI::App* restart;
    CLI::App* pause;
    CLI::App* resume;
    CLI::App* remove;
    CLI::App* rename;
    CLI::App* events;
    CLI::App* alerts;
    CLI::App* quota;
    CLI::App* quotaSet;
    CLI::App* stats;
    CLI::App* top;
    CLI::App* console;
    CLI::App* logs;
    CLI::App* vnc;
    CLI::App* clone;
    CLI::App* image;
    CLI::App* imageImport;
    CLI::App* imageList;
    CLI::App* imageShow;
    CLI::App* imageDelete;
    CLI::App* publish;
    CLI::App* exec;
    CLI::App* addUser;
    CLI::App* install;
    CLI::App* snapshot;
    CLI::App* snapshotCreate;
    CLI::App* snapshotList;
    CLI::App* snapshotRevert;
    CLI::App* snapshotDelete;
    CLI::App* expire;
    CLI::App* set;
};

void addWaitOptions(CLI::App& command, const std::string& what, StopOptions& options)
{
    CLI::Option* wait = command.add_flag("-w,--wait", options.wait, what);
    command.add_option("--wait-timeout", options.waitTimeoutSec, "give up waiting after SEC seconds (exit code 6)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 86400u * 7))
        ->needs(wait);
}

CLI::App* addNamesCommand(CLI::App& app, const char* name, const char* description, CommandLine& line)
{
    CLI::App* command = app.add_subcommand(name, description);
    command->add_option("NAME", line.names, "VM names, processed in order")->required();
    return command;
}

void defineQuotaCommands(CLI::App& app, Subcommands& s, CommandLine& line)
{
    s.quota = app.add_subcommand("quota", "Show a user's quota (default: yours), or set it");
    s.quota->require_subcommand(0, 1);
    CLI::App* show = s.quota->add_subcommand("show", "Show a user's limits, usage and where the limits come from");
    show->add_option("USER", line.quotaShow.user, "user name or uid (default: you)");

    QuotaSetOptions& set = line.quotaSet;
    s.quotaSet = s.quota->add_subcommand("set", "Set a user's limits (needs org.hangar.hangar1.manage-hosts)");
    s.quotaSet->add_option("USER", set.user, "user name or uid")->required();
    std::vector<CLI::Option*> changes{
        s.quotaSet->add_option("--vms", set.vms, "at most N VMs (0: none)"),
        s.quotaSet->add_option("--running", set.running, "at most N VMs running at once"),
        s.quotaSet->add_option("--cpus", set.cpus, "at most N vCPUs over all the user's VMs"),
        s.quotaSet->add_option("--memory", set.memory,
                               "at most this much memory over all VMs: 16G, 512M, ...; a plain number is MiB"),
        s.quotaSet->add_option("--disk", set.disk,
                               "at most this much disk over all VMs: 100G, 1T, ...; a plain number is GiB"),
        s.quotaSet
            ->add_option("--unset", set.unset,
                         "remove these limits (unlimited): vms, running, cpus, memory, disk; several at once with "
                         "spaces or commas")
            ->delimiter(',')
            ->check(CLI::IsMember({"vms", "running", "cpus", "memory", "disk"}))};
    CLI::Option* reset = s.quotaSet->add_flag(
        "--reset", set.reset, "remove the user's own quota: the defaults apply again (not with other options)");
    for (CLI::Option* change : changes)
        reset->excludes(change);
}

void defineAccessCommands(CLI::App& app, Subcommands& s, CommandLine& line)
{
    s.console = app.add_subcommand("console", "Attach this terminal to a running VM's serial console (Ctrl-] leaves)");
    s.console->add_option("NAME", line.console.name, "VM name")->required();
    s.console->add_flag("-f,--force", line.console.force, "take the console over from another session");
    s.logs = app.add_subcommand("logs", "Show the hypervisor's log of a VM (QEMU's command line and messages)");
    s.logs->add_option("NAME", line.logs.name, "VM name")->required();
    s.logs->add_flag("-f,--follow", line.logs.follow,
                     "keep printing what is appended, until Ctrl-C or the VM is deleted");
    s.logs->add_option("-n,--lines", line.logs.lines, "print only the last LINES lines")->type_name("LINES");
    s.vnc = app.add_subcommand("vnc", "Serve a running VM's display to VNC viewers on a local port, until Ctrl-C");
    s.vnc->add_option("NAME", line.vnc.name, "VM name")->required();
    s.vnc->add_option("--listen", line.vnc.listen, "HOST:PORT to listen on; port 0 picks a free one")
        ->capture_default_str();
}

void defineImageCommands(CLI::App& app, Subcommands& s, CommandLine& line)
{
    s.image = app.add_subcommand("image", "Import, list, show and delete the images VMs are made from");
    s.image->require_subcommand(1);
    ImageImportOptions& import = line.imageImport;
    s.imageImport = s.image->add_subcommand(
        "import", "Import an image from a file you can read; shows the progress, Ctrl-C cancels (manage-images)");
    s.imageImport->add_option("FILE", import.file, "a qcow2, raw or ISO image file, or a block device")->required();
    s.imageImport->add_option("--name", import.name, "the image's name: a-z, 0-9 and '-', 1-63 characters")->required();
    s.imageImport
        ->add_option("--format", import.format,
                     "what the file must be: qcow2, raw or iso (hangard decides from the content; a mismatch is "
                     "refused)")
        ->check(CLI::IsMember({"qcow2", "raw", "iso"}));
    s.imageImport->add_option("--description", import.description, "free text, at most 1024 characters");
    s.imageImport->add_option("--os", import.os,
                              "the image's operating system as libosinfo's short id, e.g. debian11 (`osinfo-query "
                              "os` lists what this host knows); \"\" for none. Default: detected from an ISO");
    s.imageList = s.image->add_subcommand("list", "List every image, with its state and how many VMs use it");
    s.imageShow = s.image->add_subcommand("show", "Show every property of an image, and the VMs that use it");
    s.imageShow->add_option("NAME", line.imageName, "image name")->required();
    s.imageDelete = s.image->add_subcommand("delete", "Delete images that no VM uses (manage-images)");
    s.imageDelete->add_option("NAME", line.names, "image names, processed in order")->required();

    s.publish = app.add_subcommand(
        "publish", "Make a stopped VM's disk a new image; shows the progress, Ctrl-C cancels (manage-images)");
    s.publish->add_option("VM", line.publish.vm, "VM name")->required();
    s.publish->add_option("IMAGE", line.publish.image, "the new image's name")->required();
    s.publish->add_option("--description", line.publish.description,
                          "the image's description (default: \"published from VM <VM>\")");
    s.publish->add_option("--os", line.publish.os,
                          "the image's operating system as libosinfo's short id, e.g. debian11; \"\" for none "
                          "(default: the OS of the VM's image)");

    // Commands in a running guest, through its QEMU guest agent (manage-own-vms / manage-all-vms).
    s.exec = app.add_subcommand("exec", "Run a command in a running guest (needs qemu-guest-agent in it); prints "
                                        "its output and exits with its exit code");
    s.exec->add_option("VM", line.exec.vm, "VM name")->required();
    s.exec->add_option("--timeout", line.exec.timeoutSec, "seconds before the job gives up (1..3600, default 60)");
    s.exec->add_option("CMD", line.exec.argv, "the command and its arguments, after --")->required();
    s.addUser = app.add_subcommand("adduser", "Add a user to a running guest (needs qemu-guest-agent in it)");
    s.addUser->add_option("VM", line.addUser.vm, "VM name")->required();
    s.addUser->add_option("NAME", line.addUser.name, "the user name")->required();
    s.addUser->add_flag("--sudo", line.addUser.sudo, "passwordless sudo");
    s.addUser->add_option("--ssh-key", line.addUser.sshKeyFiles, "an OpenSSH public key file (repeatable)");
    s.addUser->add_option("--password-hash", line.addUser.passwordHash, "a crypt(3) hash (mkpasswd -m sha-512)");
    s.addUser->add_option("--shell", line.addUser.shell, "the login shell, an absolute path");
    s.install = app.add_subcommand("install", "Install packages in a running guest with its package manager");
    s.install->add_option("VM", line.install.vm, "VM name")->required();
    s.install->add_option("PKG", line.install.packages, "package names")->required();
}

void defineSnapshotCommands(CLI::App& app, Subcommands& s, CommandLine& line)
{
    SnapshotOptions& snapshot = line.snapshot;
    s.snapshot = app.add_subcommand("snapshot", "Create, list, revert to and delete the snapshots of a VM");
    s.snapshot->require_subcommand(1);
    s.snapshotCreate =
        s.snapshot->add_subcommand("create", "Take a snapshot of a VM's disk (and of its memory, when it runs)");
    s.snapshotList = s.snapshot->add_subcommand("list", "List a VM's snapshots, oldest first");
    s.snapshotRevert =
        s.snapshot->add_subcommand("revert", "Put a VM back to a snapshot: whatever changed since is lost");
    s.snapshotDelete = s.snapshot->add_subcommand("delete", "Delete a snapshot; the VM itself is unchanged");
    for (CLI::App* command : {s.snapshotCreate, s.snapshotList, s.snapshotRevert, s.snapshotDelete})
        command->add_option("VM", snapshot.vm, "VM name")->required();
    for (CLI::App* command : {s.snapshotCreate, s.snapshotRevert, s.snapshotDelete})
        command->add_option("NAME", snapshot.name, "snapshot name: a-z, 0-9 and '-', 1-63 characters")->required();
    s.snapshotCreate->add_option("--description", snapshot.description, "free text, at most 1024 characters");

    s.clone = app.add_subcommand("clone", "Make a new stopped VM like a stopped one, with a copy of its disk");
    s.clone->add_option("SOURCE", line.clone.source, "the VM to clone")->required();
    s.clone->add_option("NEW", line.clone.name, "the new VM's name")->required();
}

Subcommands defineCommands(CLI::App& app, CommandLine& line)
{
    Subcommands s{};
    s.list = app.add_subcommand("list", "List VMs: yours, or everyone's with --all");
    s.list->add_flag("-a,--all", line.list.all, "show the VMs of all users");
    s.list->add_option("--state", line.list.state, "only VMs in this state (running, stopped, paused, ...)");
    s.list
        ->add_option("-o,--columns", line.list.columns,
                     "the columns, in this order, separated by commas: " + listColumnNames() +
                         " (default: " + kDefaultListColumns + ")")
        ->delimiter(',')
        ->check(CLI::IsMember(listColumns()).description(""));
    s.list->add_flag("-q,--no-legend", line.list.noLegend, "print the rows only, without the header line");

    s.info = app.add_subcommand("info", "Show everything about one VM, like virsh dominfo: sizes, addresses, disk use");
    s.info->add_option("NAME", line.infoName, "VM name")->required();

    s.status = app.add_subcommand("status", "Show every property of a VM");
    s.status->add_option("NAME", line.statusName, "VM name")->required();

    s.create = app.add_subcommand("create", "Create a VM (it starts out stopped)");
    s.create->add_option("NAME", line.create.name, "VM name: a-z, 0-9 and '-', 1-63 characters")->required();
    s.create->add_option("--cpus", line.create.cpus, "virtual CPUs (default: the daemon's, 1)")->check(kAtLeastOne);
    s.create->add_option("--memory", line.create.memory,
                         "memory: 512M, 2G, 2GiB, ...; a plain number is MiB (default: the daemon's, 512M)");
    s.create->add_option("--disk", line.create.disk,
                         "system disk: 20G, 1T, ...; a plain number is GiB (default: the daemon's, 10G)");
    s.create->add_option("--description", line.create.description, "free text, at most 1024 characters");
    s.create->add_option("--kernel", line.create.kernel,
                         "boot this kernel directly: a file name in the daemon's boot directory ([Guest] boot_dir)");
    s.create->add_option("--initrd", line.create.initrd, "with --kernel: an initramfs in the boot directory");
    s.create->add_option("--cmdline", line.create.cmdline,
                         "with --kernel: the kernel command line, e.g. \"console=ttyS0\"");
    s.create->add_option("--image", line.create.image,
                         "make the VM from this image (see image list); --disk then defaults to the image's size");
    ProvisioningOptions& p = line.create.provisioning;
    s.create->add_option("--hostname", p.hostname, "cloud-init: the guest's host name (default: the VM's name)");
    s.create->add_option("--user", p.users, "cloud-init: create user NAME, with passwordless sudo as NAME:sudo")
        ->allow_extra_args(false);
    s.create
        ->add_option("--ssh-key", p.sshKeys,
                     "cloud-init: [NAME=]FILE, the public keys in FILE for user NAME (default: the --user before it)")
        ->allow_extra_args(false);
    s.create
        ->add_option("--password-hash", p.passwordHashes,
                     "cloud-init: [NAME=]HASH, a crypt(3) hash such as `mkpasswd -m yescrypt` prints")
        ->allow_extra_args(false);
    s.create->add_option("--package", p.packages, "cloud-init: install this package at first boot")
        ->delimiter(',')
        ->allow_extra_args(false);
    s.create->add_option("--runcmd", p.runcmd, "cloud-init: run this shell command at first boot")
        ->allow_extra_args(false);
    s.create->add_option("--write-file", p.writeFiles, "cloud-init: GUESTPATH=LOCALFILE, write LOCALFILE's content")
        ->allow_extra_args(false);

    s.provisioning = app.add_subcommand("provisioning", "Show what a VM was provisioned with (owner and admins)");
    s.provisioning->add_option("NAME", line.provisioningName, "VM name")->required();

    s.create->add_flag("--ephemeral", line.create.ephemeral, "delete the VM once it has run and then stopped");
    s.create->add_option("--ttl", line.create.ttl, "power off and delete the VM after this long: 30s, 15m, 2h, 1d");

    s.expire = app.add_subcommand("expire", "Set when a VM is powered off and deleted, or 'never'");
    s.expire->add_option("NAME", line.expire.name, "VM name")->required();
    s.expire->add_option("WHEN", line.expire.when, "how long from now (30s, 15m, 4h, 1d, 1w) or never")->required();
    s.set = app.add_subcommand("set", "Change a stopped VM's vCPUs, memory or disk size (the disk only grows)");
    s.set->add_option("NAME", line.set.name, "VM name")->required();
    s.set->add_option("--cpus", line.set.cpus, "virtual CPUs")->check(kAtLeastOne);
    s.set->add_option("--memory", line.set.memory, "memory: 512M, 2G, ...; a plain number is MiB");
    s.set->add_option("--disk", line.set.disk, "system disk: 20G, 1T, ...; a plain number is GiB; only grows");

    s.start = addNamesCommand(app, "start", "Start VMs", line);
    addWaitOptions(*s.start, "return only once the VM is running", line.start);
    s.stop = addNamesCommand(app, "stop", "Stop VMs: ask the guest to power off, or pull the plug with --force", line);
    s.stop->add_flag("-f,--force", line.stop.force, "power off at once instead of asking the guest");
    s.stop
        ->add_option("--timeout", line.stop.timeoutSec,
                     "power off at once if the guest has not stopped after SEC seconds (0 = never, default)")
        ->check(CLI::Range(0u, 86400u));
    addWaitOptions(*s.stop, "return only once the VM is stopped (or deleted)", line.stop);
    s.restart = addNamesCommand(app, "restart", "Ask running VMs to reboot; --wait: stop, then start again", line);
    addWaitOptions(*s.restart,
                   "instead of a guest reboot, stop the VM (asking the guest, --timeout as for stop), wait until it is "
                   "stopped, start it and wait until it runs",
                   line.restart);
    s.restart
        ->add_option("--timeout", line.restart.timeoutSec,
                     "with --wait: power off at once if the guest has not stopped after SEC seconds")
        ->check(CLI::Range(0u, 86400u));
    s.pause = addNamesCommand(app, "pause", "Freeze running VMs", line);
    s.resume = addNamesCommand(app, "resume", "Let paused VMs run again", line);
    s.remove = addNamesCommand(app, "delete", "Delete VMs and their disks", line);
    s.remove->add_flag("-f,--force", line.action.force, "power a running VM off first");

    s.rename = app.add_subcommand("rename", "Rename a VM (allowed in any state)");
    s.rename->add_option("OLD", line.oldName, "current name")->required();
    s.rename->add_option("NEW", line.newName, "new name")->required();

    s.events = app.add_subcommand("events", "Show the audit log; --follow keeps printing new events");
    s.events->add_option("--vm", line.events.vm, "only events about this VM (name or UUID)");
    s.events->add_option("--uid", line.events.uid, "only events caused by this uid");
    s.events->add_option("--since", line.events.since,
                         "only events since: 10m, 1h30m, 2d (ago), 2026-11-22T11:40 (ISO 8601), @1763808000");
    s.events->add_option("--limit", line.events.limit, "at most N, the newest (1-10000, default: the daemon's, 100)")
        ->check(CLI::Range(1u, 10000u));
    s.events->add_option("--severity", line.events.severity, "only events of at least LEVEL: info, warning, error")
        ->check(CLI::IsMember({"info", "warning", "error"}));
    s.events->add_flag("-f,--follow", line.events.follow, "keep printing events as they happen, until interrupted");
    s.alerts = app.add_subcommand("alerts", "Show the active resource alerts (thresholds: [Alerts] in hangard.conf)");
    defineQuotaCommands(app, s, line);
    defineAccessCommands(app, s, line);
    defineImageCommands(app, s, line);
    defineSnapshotCommands(app, s, line);

    s.stats = app.add_subcommand("stats", "Show live CPU, memory, disk and network figures of VMs");
    s.stats->add_option("NAME", line.names, "VM names (default: every running VM)");
    s.top = app.add_subcommand("top", "Show the running VMs' figures, refreshed until Ctrl-C (like virt-top)");
    s.top->add_option("-d,--delay", line.top.delaySec, "seconds between refreshes")
        ->capture_default_str()
        ->check(CLI::Range(0.2, 3600.0));
    s.top->add_option("-n,--iterations", line.top.iterations, "refresh N times, then exit")->check(kAtLeastOne);
    return s;
}

ExitCode dispatch(const CLI::App& app, const Subcommands& s, CommandLine& line)
{
    Context context(line.global);
    if (app.got_subcommand(s.list))
        return runList(context, line.list);
    if (app.got_subcommand(s.status))
        return runStatus(context, line.statusName);
    if (app.got_subcommand(s.info))
        return runInfo(context, line.infoName);
    if (app.got_subcommand(s.create)) {
        // Which --user each --ssh-key and --password-hash follows: CLI11 keeps the order options came in.
        ProvisioningOptions& p = line.create.provisioning;
        std::size_t users = 0;
        for (const CLI::Option* option : s.create->parse_order()) {
            if (option->get_name() == "--user")
                ++users;
            else if (option->get_name() == "--ssh-key")
                p.keyUsersBefore.push_back(users);
            else if (option->get_name() == "--password-hash")
                p.hashUsersBefore.push_back(users);
        }
        return runCreate(context, line.create);
    }
    if (app.got_subcommand(s.provisioning))
        return runProvisioning(context, line.provisioningName);
    if (app.got_subcommand(s.start))
        return line.start.wait ? runStartWait(context, line.names, line.start)
                               : runAction(context, Action::Start, line.names, line.action);
    if (app.got_subcommand(s.stop))
        return runStop(context, line.names, line.stop);
    if (app.got_subcommand(s.restart))
        return line.restart.wait ? runRestartWait(context, line.names, line.restart)
                                 : runAction(context, Action::Restart, line.names, line.action);
    if (app.got_subcommand(s.pause))
        return runAction(context, Action::Pause, line.names, line.action);
    if (app.got_subcommand(s.resume))
        return runAction(context, Action::Resume, line.names, line.action);
    if (app.got_subcommand(s.remove))
        return runAction(context, Action::Delete, line.names, line.action);
    if (app.got_subcommand(s.rename))
        return runRename(context, line.oldName, line.newName);
    if (app.got_subcommand(s.alerts))
        return runAlerts(context);
    if (app.got_subcommand(s.stats))
        return runStats(context, line.names);
    if (app.got_subcommand(s.top))
        return runTop(context, line.top);
    if (app.got_subcommand(s.console))
        return runConsole(context, line.console);
    if (app.got_subcommand(s.logs))
        return runLogs(context, line.logs);
    if (app.got_subcommand(s.vnc))
        return runVnc(context, line.vnc);
    if (app.got_subcommand(s.clone))
        return runClone(context, line.clone);
    if (app.got_subcommand(s.expire))
        return runExpire(context, line.expire);
    if (app.got_subcommand(s.set))
        return runSet(context, line.set);
    if (app.got_subcommand(s.publish))
        return runPublish(context, line.publish);
    if (app.got_subcommand(s.exec))
        return runExec(context, line.exec);
    if (app.got_subcommand(s.addUser))
        return runAddUser(context, line.addUser);
    if (app.got_subcommand(s.install))
        return runInstall(context, line.install);
    if (app.got_subcommand(s.image)) {
        if (s.image->got_subcommand(s.imageImport))
            return runImageImport(context, line.imageImport);
        if (s.image->got_subcommand(s.imageShow))
            return runImageShow(context, line.imageName);
        if (s.image->got_subcommand(s.imageDelete))
            return runImageDelete(context, line.names);
        return runImageList(context);
    }
    if (app.got_subcommand(s.snapshot)) {
        if (s.snapshot->got_subcommand(s.snapshotList))
            return runSnapshotList(context, line.snapshot.vm);
        if (s.snapshot->got_subcommand(s.snapshotCreate))
            return runSnapshotChange(context, SnapshotAction::Create, line.snapshot);
        if (s.snapshot->got_subcommand(s.snapshotRevert))
            return runSnapshotChange(context, SnapshotAction::Revert, line.snapshot);
        return runSnapshotChange(context, SnapshotAction::Delete, line.snapshot);
    }
    if (app.got_subcommand(s.quota)) {
        if (s.quota->got_subcommand(s.quotaSet))
            return runQuotaSet(context, line.quotaSet);
        return runQuotaShow(context, line.quotaShow);
    }
    return runEvents(context, line.events);
}

} // namespace

namespace {

int run(int argc, char** argv)
{
    // Named here: CLI11 would otherwise show argv[0], a build path as often as not.
    CLI::App app{"hangarctl — control the VMs of hangard (org.hangar.Hangar1)", "hangarctl"};
    app.set_version_flag("--version", "hangarctl " HANGAR_VERSION);
    app.require_subcommand(1);
    // Global options may follow the command too: `hangarctl list --json`.
    app.fallthrough();

    CommandLine line;
    app.add_option("--bus", line.global.bus,
                   "system (default), session, or a D-Bus address such as unix:path=/run/hangar/bus")
        ->envname("HANGAR_BUS");
    app.add_flag("--json", line.global.json, "machine-readable output (JSON)");
    app.add_flag("--no-ask-password", line.global.noAskPassword,
                 "do not let polkit ask for a password; fail with PermissionDenied instead");
    const Subcommands subcommands = defineCommands(app, line);
    // After the commands: a subcommand copies its parent's footer when it is made, and the exit codes belong in the
    // main help only. Each command's own help ends with its examples instead.
    app.footer(kFooter);
    addExamples(app);

    std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
    if (auto code = checkCommandWords(app, args))
        return *code;
    std::reverse(args.begin(), args.end()); // CLI11 takes a vector last word first
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" with code 0; every real parse error is a usage error.
        int code = app.exit(e);
        return code == 0 ? 0 : toInt(ExitCode::Usage);
    }

    try {
        return toInt(dispatch(app, subcommands, line));
    } catch (const UsageError& e) {
        printError(e.what());
        return toInt(ExitCode::Usage);
    } catch (const UnreachableError& e) {
        printError(e.what());
        return toInt(ExitCode::Unreachable);
    } catch (const sdbus::Error& e) {
        // Only calls outside the per-command handling land here; classify them the same way.
        if (isUnreachable(e)) {
            printError("cannot reach hangard: " + describe(e));
            return toInt(ExitCode::Unreachable);
        }
        printError(describe(e));
        return toInt(exitCodeFor(e));
    } catch (const std::exception& e) {
        printError(e.what());
        return toInt(ExitCode::Failed);
    }
}

} // namespace

// Whatever escapes run() (CLI11's own errors are handled inside it) ends the program with a message, not
// std::terminate.
int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << '\n';
    } catch (...) {
        std::cerr << argv[0] << ": unexpected error\n";
    }
    return 1;
}
