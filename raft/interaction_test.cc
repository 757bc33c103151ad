// Runs the interaction scripts in raft/testdata through InteractionEnv
// (raft/rafttest). Each script is its own test. Set KEEL_REWRITE=1 to
// regenerate the expected outputs, then review them as a diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>  // lint-determinism: allow (test harness lists golden files)

#include "raft/rafttest/datadriven.h"
#include "raft/rafttest/interaction_env.h"

namespace keel::raft::rafttest {
namespace {

std::vector<std::string> Scripts() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(  // lint-determinism: allow (test harness lists golden files)
           KEEL_RAFT_TESTDATA_DIR)) {
    if (entry.path().extension() == ".txt") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

class InteractionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InteractionTest, ScriptMatchesItsExpectedOutput) {
  const char* rewrite = std::getenv("KEEL_REWRITE");
  InteractionEnv env;
  absl::Status status =
      RunFile(GetParam(), rewrite != nullptr && std::string(rewrite) == "1",
              [&env](const TestData& data) { return env.Handle(data); });
  EXPECT_TRUE(status.ok()) << status.message();
}

INSTANTIATE_TEST_SUITE_P(
    Scripts, InteractionTest, ::testing::ValuesIn(Scripts()),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name = std::filesystem::path(info.param).stem().string();  // lint-determinism: allow (test names)
      for (char& c : name) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace keel::raft::rafttest
