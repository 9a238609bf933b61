// The provisioning of a VM's cloud-init seed without a VM: each field's validation (the error names the field),
// the user-data, meta-data and network-config rendered (read back with Python's YAML parser, so the quoting is
// proven by a real parser), and the ISO that libisofs writes (read back with xorriso: label and files).
#include "core/Provisioning.h"

#include "core/CloudInit.h"
#include "core/Error.h"
#include "provision/IsoSeedBuilder.h"
#include "support/TempDir.h"

#include <cstdio>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hangar {
namespace {

const std::string kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f alice@laptop";
const std::string kRsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp"
                         "KissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1u"
                         "b3BxcnN0dXZ3eHl6e3x9fn+A";
const std::string kHash =
    "$6$rounds=5000$saltsalt$Vf3ZzQ1m7wJ5p3kqJ1u8J0bq9n3Q2wN3nqk1h7x8y9zA/B.CdEfGhIjKlMnOpQrStUvWx"
    "YzAbCdEfGhIjKlMnOpQrStU";

Provisioning sample()
{
    Provisioning p;
    p.hostname = "web-1";
    p.users.push_back({"alice", {kEd25519, kRsa}, true, kHash, "/bin/bash"});
    p.users.push_back({"bob", {}, false, "", ""});
    p.packages = {"nginx", "python3-yaml", "perl-Data-Dumper"};
    p.runcmd = {"echo \"hello\" > /tmp/x", "systemctl enable --now nginx"};
    p.writeFiles.push_back(
        {"/etc/motd", "Welcome: \"quotes\", \\backslash\\, tab\t, newline\n# not a comment\n", "0644"});
    return p;
}

// The message of the InvalidArgument validateProvisioning throws, or "" when it accepts p.
std::string refusal(const Provisioning& p)
{
    try {
        validateProvisioning(p);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
        return e.what();
    }
    return "";
}

bool startsWith(const std::string& text, const std::string& prefix)
{
    return text.rfind(prefix, 0) == 0;
}

std::string run(const std::string& command)
{
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return out;
    char buffer[4096];
    for (std::size_t n = 0; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        out.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0) << command << "\n" << out;
    return out;
}

using support::readFile;
using support::TempDir;

void writeFile(const std::string& path, const std::string& bytes)
{
    support::writeText(path, bytes);
}

// YAML parsed by PyYAML, as JSON.
nlohmann::json parseYaml(const std::string& yaml)
{
    TempDir dir;
    const std::string path = dir.path() + "/doc.yaml";
    writeFile(path, yaml);
    return nlohmann::json::parse(
        run("python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' " + path));
}

TEST(ProvisioningValidation, AcceptsAFullSample)
{
    EXPECT_EQ(refusal(sample()), "");
    EXPECT_EQ(refusal(Provisioning{}), "");
}

TEST(ProvisioningValidation, RefusesBadHostnames)
{
    for (const std::string& bad :
         std::vector<std::string>{"-web", "web-", "we_b", "a..b", std::string(64, 'a'), "web 1", "wéb"}) {
        Provisioning p;
        p.hostname = bad;
        EXPECT_TRUE(startsWith(refusal(p), "hostname: an RFC 1123 host name")) << bad << ": " << refusal(p);
    }
    Provisioning ok;
    ok.hostname = "db.example.org";
    EXPECT_EQ(refusal(ok), "");
}

TEST(ProvisioningValidation, RefusesBadUserNames)
{
    for (const std::string& bad :
         std::vector<std::string>{"", "Alice", "1alice", "al ice", "al/ice", std::string(33, 'a'), "-x"}) {
        Provisioning p = sample();
        p.users[1].name = bad;
        EXPECT_TRUE(startsWith(refusal(p), "users[1].name: a Linux user name")) << bad << ": " << refusal(p);
    }
    for (const std::string& reserved :
         std::vector<std::string>{"root", "daemon", "nobody", "systemd-network", "sshd"}) {
        Provisioning p = sample();
        p.users[0].name = reserved;
        EXPECT_EQ(refusal(p),
                  "users[0].name: '" + reserved + "' is a system account of the guest; choose another name");
    }
    Provisioning p = sample();
    p.users[1].name = "alice";
    EXPECT_EQ(refusal(p), "users[1].name: user 'alice' is given twice");
    Provisioning underscore = sample();
    underscore.users[1].name = "_svc-1";
    EXPECT_EQ(refusal(underscore), "");
}

TEST(ProvisioningValidation, RefusesWhatIsNotAnOpenSshPublicKey)
{
    const std::string blob = "AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
    for (const std::string& bad : std::vector<std::string>{
             std::string("ssh-ed25519"),                       // no data
             "ssh-dss " + blob,                                // type not allowed
             "ssh-rsa " + blob,                                // blob says ssh-ed25519
             "ssh-ed25519 AAAA!!!!",                           // not base64
             "ssh-ed25519 " + blob.substr(0, blob.size() - 4), // cut short: length not a multiple of 4 or truncated
             "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",               // the type and nothing after it
             "from=\"10.0.0.1\" ssh-ed25519 " + blob,          // authorized_keys options are not a key
             "ssh-ed25519 " + blob + " comment\nssh-ed25519 " + blob, // two lines
             std::string("-----BEGIN OPENSSH PRIVATE KEY-----"),
         }) {
        Provisioning p = sample();
        p.users[0].sshAuthorizedKeys[1] = bad;
        EXPECT_TRUE(startsWith(refusal(p), "users[0].ssh_authorized_keys[1]: ")) << bad << ": " << refusal(p);
    }
    Provisioning p = sample();
    p.users[0].sshAuthorizedKeys[1] = "ssh-rsa nonsense";
    EXPECT_TRUE(refusal(p).find("not an OpenSSH public key") != std::string::npos) << refusal(p);
    EXPECT_TRUE(refusal(p).find("ssh-ed25519 AAAA... comment") != std::string::npos) << refusal(p);
    Provisioning many = sample();
    many.users[0].sshAuthorizedKeys.assign(17, kEd25519);
    EXPECT_EQ(refusal(many), "users[0].ssh_authorized_keys: at most 16 keys, got 17");
    Provisioning noComment = sample();
    noComment.users[0].sshAuthorizedKeys = {"ssh-ed25519 " + blob};
    EXPECT_EQ(refusal(noComment), "");
}

TEST(ProvisioningValidation, AcceptsKeysMadeBySshKeygen)
{
    for (const std::string& key : std::vector<std::string>{
             "ecdsa-sha2-nistp521 "
             "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBADNIcYazqhh44XG3m/"
             "soLVU3NqH7BJccFtyXzaZGCy8WkEnRCAIaiz8Fh29lwncSoIGHq6tnWpuQBhKjT8VXf7XxwCUhGs3yuCtfrwghMp1rHyTQdZbYY3Zj32S"
             "jmnYUSJ4maJ68bZze89q72XIB4O11vxJ9UlUsFTq8IPsYEh8P4Gj+g== t@h",
             "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv t@h",
             "ssh-rsa "
             "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCr4LJ6IsY8a44k6ZF/4PV7MUuOfwvpcwKdUCrtwvaD7PVjWVRFV5VkdQdCF7/nrBYD/"
             "GS42V47PUUkDe2YslN3636qa9tr47UXNf7s8r7LY/"
             "XyZMpqeBnbgpM64GcvIwPrabuLlAjZgi0SWKB5AnAsUC06gJ2YLoRb+2tTb68M3w== t@h",
             "ecdsa-sha2-nistp256 "
             "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNgR5hhKRkMtDmgYNWMu9H/vkLV5sMMfLO88BwTwI0hjWm8v/"
             "uqluiNHk+LbghkkF5yr3YLh+7TF+lPYBX60fTg= t@h",
         }) {
        Provisioning p = sample();
        p.users[0].sshAuthorizedKeys = {key};
        EXPECT_EQ(refusal(p), "") << key;
    }
}

TEST(ProvisioningValidation, RefusesPlainTextPasswords)
{
    for (const std::string& bad :
         std::vector<std::string>{"hunter2", "$1$salt$md5isweak", "$6$", "$6$salt$", "$6$sa lt$hash", "$x$a$b"}) {
        Provisioning p = sample();
        p.users[0].passwordHash = bad;
        EXPECT_TRUE(startsWith(refusal(p), "users[0].passwd: not a crypt(3) password hash")) << bad;
    }
    for (const std::string& good :
         std::vector<std::string>{"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                                  "$5$salt$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"}) {
        Provisioning p = sample();
        p.users[0].passwordHash = good;
        EXPECT_EQ(refusal(p), "") << good;
    }
}

TEST(ProvisioningValidation, RefusesRelativeOrOddShells)
{
    for (const std::string& bad :
         std::vector<std::string>{"bash", "/bin/../bin/sh", "/bin/ba sh", "/bin/", "/bin//sh"}) {
        Provisioning p = sample();
        p.users[0].shell = bad;
        EXPECT_TRUE(startsWith(refusal(p), "users[0].shell: an absolute path")) << bad;
    }
}

TEST(ProvisioningValidation, RefusesBadPackageNames)
{
    for (const std::string& bad :
         std::vector<std::string>{"", "-rf", "nginx; rm -rf /", "a b", "pkg=1.0", "../x", "$(reboot)"}) {
        Provisioning p = sample();
        p.packages[2] = bad;
        EXPECT_TRUE(startsWith(refusal(p), "packages[2]: a Debian or RPM package name")) << bad;
    }
    Provisioning dup = sample();
    dup.packages[2] = "nginx";
    EXPECT_EQ(refusal(dup), "packages[2]: package 'nginx' is given twice");
    Provisioning many;
    for (int i = 0; i < 65; ++i)
        many.packages.push_back("pkg" + std::to_string(i));
    EXPECT_EQ(refusal(many), "packages: at most 64 entries, got 65");
}

TEST(ProvisioningValidation, RefusesBadCommands)
{
    Provisioning nul = sample();
    nul.runcmd[1] = std::string("echo a\0b", 8);
    EXPECT_TRUE(startsWith(refusal(nul), "runcmd[1]: control characters")) << refusal(nul);
    Provisioning blank = sample();
    blank.runcmd[0] = "  ";
    EXPECT_EQ(refusal(blank), "runcmd[0]: an empty command");
    Provisioning big = sample();
    big.runcmd[0] = std::string(4097, 'x');
    EXPECT_EQ(refusal(big), "runcmd[0]: at most 4096 bytes, got 4097");
    Provisioning many;
    many.runcmd.assign(33, "true");
    EXPECT_EQ(refusal(many), "runcmd: at most 32 entries, got 33");
}

TEST(ProvisioningValidation, RefusesBadFiles)
{
    for (const std::string& bad :
         std::vector<std::string>{"etc/motd", "/etc/../shadow", "/etc/", "/", "/etc//motd", "/etc/./motd"}) {
        Provisioning p = sample();
        p.writeFiles[0].path = bad;
        EXPECT_TRUE(startsWith(refusal(p), "write_files[0].path: ")) << bad << ": " << refusal(p);
    }
    for (const std::string& bad : std::vector<std::string>{"644x", "0888", "rw-r--r--", "", "01777x"}) {
        Provisioning p = sample();
        p.writeFiles[0].permissions = bad;
        EXPECT_TRUE(startsWith(refusal(p), "write_files[0].permissions: octal")) << bad;
    }
    Provisioning big = sample();
    big.writeFiles[0].content = std::string(16 * 1024 + 1, 'x');
    EXPECT_EQ(refusal(big), "write_files[0].content: at most 16384 bytes, got 16385");
    Provisioning binary = sample();
    binary.writeFiles[0].content = "\xff\xfe";
    EXPECT_EQ(refusal(binary), "write_files[0].content: not valid UTF-8");
    Provisioning twice = sample();
    twice.writeFiles.push_back(twice.writeFiles[0]);
    EXPECT_EQ(refusal(twice), "write_files[1].path: the same path is given twice");
    Provisioning many;
    for (int i = 0; i < 17; ++i)
        many.writeFiles.push_back({"/f" + std::to_string(i), "x", "0600"});
    EXPECT_EQ(refusal(many), "write_files: at most 16 entries, got 17");
}

TEST(ProvisioningValidation, BoundsTheWholeUserData)
{
    Provisioning p;
    for (int i = 0; i < 5; ++i)
        p.writeFiles.push_back({"/f" + std::to_string(i), std::string(16 * 1024, 'x'), "0600"});
    EXPECT_TRUE(startsWith(refusal(p), "user-data: the #cloud-config made of these keys is ")) << refusal(p);
}

TEST(CloudInitRendering, UserDataIsTheCloudConfigAsked)
{
    const Provisioning p = sample();
    const std::string text = renderUserData(p);
    EXPECT_TRUE(startsWith(text, "#cloud-config\n")) << text;
    const auto doc = parseYaml(text);
    EXPECT_EQ(doc["hostname"], "web-1");
    ASSERT_EQ(doc["users"].size(), 2U);
    const auto& alice = doc["users"][0];
    EXPECT_EQ(alice["name"], "alice");
    EXPECT_EQ(alice["sudo"], "ALL=(ALL) NOPASSWD:ALL");
    EXPECT_EQ(alice["passwd"], kHash);
    EXPECT_EQ(alice["lock_passwd"], false);
    EXPECT_EQ(alice["shell"], "/bin/bash");
    EXPECT_EQ(alice["ssh_authorized_keys"], nlohmann::json({kEd25519, kRsa}));
    const auto& bob = doc["users"][1];
    EXPECT_EQ(bob["name"], "bob");
    EXPECT_EQ(bob["lock_passwd"], true);
    EXPECT_FALSE(bob.contains("sudo"));
    EXPECT_FALSE(bob.contains("passwd"));
    EXPECT_EQ(doc["packages"], nlohmann::json({"nginx", "python3-yaml", "perl-Data-Dumper"}));
    EXPECT_EQ(doc["package_update"], true);
    EXPECT_EQ(doc["runcmd"], nlohmann::json(p.runcmd));
    ASSERT_EQ(doc["write_files"].size(), 1U);
    EXPECT_EQ(doc["write_files"][0]["path"], "/etc/motd");
    EXPECT_EQ(doc["write_files"][0]["content"], p.writeFiles[0].content);
    EXPECT_EQ(doc["write_files"][0]["permissions"], "0644");
}

TEST(CloudInitRendering, NothingTypedCanChangeTheStructure)
{
    Provisioning p;
    // YAML's own syntax, flow indicators, anchors, comment starts, Unicode line breaks and a BOM, in a command.
    const std::string hostile =
        "x\"\n- injected: true\n# c\r\n&a *a {b: [c]} \xc2\x85 \xe2\x80\xa8 \xe2\x80\xa9 \xef\xbb\xbf"
        "\x01\x1b[31m \\\\n '";
    p.runcmd = {hostile, "ok"};
    p.writeFiles.push_back({"/etc/x", hostile, "0600"});
    const auto doc = parseYaml(renderUserData(p));
    EXPECT_EQ(doc.size(), 2U) << doc.dump();
    EXPECT_EQ(doc["runcmd"], nlohmann::json({hostile, "ok"}));
    EXPECT_EQ(doc["write_files"][0]["content"], hostile);
}

TEST(CloudInitRendering, MetaDataAndNetworkConfig)
{
    const auto meta = parseYaml(renderMetaData("0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c", "web-1"));
    EXPECT_EQ(meta,
              nlohmann::json({{"instance-id", "0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c"}, {"local-hostname", "web-1"}}));
    const auto net = parseYaml(renderNetworkConfig());
    EXPECT_EQ(net["version"], 2);
    EXPECT_EQ(net["ethernets"]["nic0"]["dhcp4"], true);
    EXPECT_EQ(net["ethernets"]["nic0"]["match"]["name"], "e*");

    Provisioning noHost = sample();
    noHost.hostname.clear();
    const auto files = seedFiles(noHost, "uuid-1", "my-vm");
    ASSERT_EQ(files.size(), 3U);
    EXPECT_EQ(files[0].name, "meta-data");
    EXPECT_EQ(parseYaml(files[0].content)["local-hostname"], "my-vm");
    EXPECT_EQ(files[1].name, "user-data");
    EXPECT_EQ(files[2].name, "network-config");
    EXPECT_EQ(seedVolumeName("abc"), "vm-abc-seed.iso");
}

TEST(SeedIso, ReadsBackWithItsLabelAndFiles)
{
    const provision::IsoSeedBuilder builder;
    const auto files = seedFiles(sample(), "0b5a3c1e-7d2f-4e6a-8b9c-1d2e3f4a5b6c", "web");
    const std::string iso = builder.buildIso(kSeedVolumeLabel, files);
    ASSERT_GT(iso.size(), 16U * 2048);
    EXPECT_EQ(iso.size() % 2048, 0U);
    EXPECT_EQ(iso.substr(16 * 2048 + 1, 5), "CD001"); // the primary volume descriptor
    EXPECT_EQ(iso.substr(16 * 2048 + 40, 6), "cidata");

    TempDir dir;
    const std::string path = dir.path() + "/seed.iso";
    writeFile(path, iso);
    EXPECT_NE(run("xorriso -indev " + path + " -pvd_info 2>&1").find("Volume Id    : cidata"), std::string::npos);
    run("xorriso -osirrox on -indev " + path + " -extract / " + dir.path() + "/out 2>/dev/null");
    for (const auto& file : files)
        EXPECT_EQ(readFile(dir.path() + "/out/" + file.name), file.content) << file.name;
    EXPECT_EQ(parseYaml(readFile(dir.path() + "/out/user-data"))["users"][0]["name"], "alice");
}

} // namespace
} // namespace hangar
