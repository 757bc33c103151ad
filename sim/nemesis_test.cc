// Tests of the Nemesis: the --faults selector, that every fault kind is
// injected and has its effect, that StopAndHeal undoes everything in force,
// that max_down holds, and that the schedule is a function of the seed;
// and planned runs: a schedule drawn up front, then executed.
#include "sim/nemesis.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/env.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

TEST(FaultSetTest, ParsesAllNoneAndLists) {
  const FaultSet supported = FaultSet::All().Without(Fault::kCorrupt);
  EXPECT_EQ(*FaultSet::Parse("all", supported), supported);
  EXPECT_TRUE(FaultSet::Parse("none", supported)->empty());
  const FaultSet some = *FaultSet::Parse("kill,partition", supported);
  EXPECT_EQ(some, FaultSet::Of({Fault::kPartition, Fault::kKill}));
  EXPECT_EQ(some.ToString(), "partition,kill");
  EXPECT_EQ(*FaultSet::Parse(some.ToString(), supported), some);
  EXPECT_EQ(FaultSet::None().ToString(), "none");
  EXPECT_TRUE(absl::IsInvalidArgument(FaultSet::Parse("kill,bogus", supported).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FaultSet::Parse("corrupt", supported).status()));
}

// Machines that only idle; the tests look at their state, not their work.
class NemesisTest : public ::testing::Test {
 protected:
  explicit NemesisTest(uint64_t seed = 1) : world_({.seed = seed}) {}

  void AddMachines(int n) {
    for (int i = 0; i < n; i++) {
      SimMachine& m = world_.AddMachine(
          {.name = StrCat("n", i + 1), .boot = [](Env& env) -> Task<void> {
             co_await env.clock().Sleep(Seconds(1'000'000));
           }});
      m.Start();
      machines_.push_back(&m);
    }
  }

  // Machines killed, crashed or paused right now.
  int Down() const {
    int down = 0;
    for (SimMachine* m : machines_) down += (!m->running() || m->paused()) ? 1 : 0;
    return down;
  }

  bool AllHealed() {
    for (SimMachine* m : machines_) {
      if (!m->running() || m->paused()) return false;
      const DiskFaultRates& rates = m->disk().fault_rates();
      if (rates.sync_error != 0 || rates.write_io_error != 0 ||
          rates.write_no_space != 0 || rates.read_bit_flip != 0 ||
          rates.misdirected_write != 0) {
        return false;
      }
    }
    return world_.net().cut_count() == 0;
  }

  SimWorld world_;
  std::vector<SimMachine*> machines_;
};

TEST_F(NemesisTest, EachFaultKindIsInjectedAndStopAndHealUndoesIt) {
  AddMachines(4);
  for (Fault fault : FaultSet::All().list()) {
    bool saw_effect = false;
    Nemesis nemesis(world_, machines_,
                    {.faults = FaultSet::Of({fault}),
                     .heal_all_probability = 0,
                     .on_event = [&](const NemesisEvent& event) {
                       if (!event.begin) return;
                       switch (fault) {
                         case Fault::kPartition:
                         case Fault::kIsolate:
                         case Fault::kOneWay:
                           saw_effect |= world_.net().cut_count() > 0;
                           break;
                         case Fault::kKill:
                         case Fault::kCrash:
                         case Fault::kPause:
                           saw_effect |= Down() > 0;
                           break;
                         case Fault::kClog:
                           saw_effect |= event.description.find("clog") == 0;
                           break;
                         case Fault::kDisk:
                         case Fault::kCorrupt:
                           for (SimMachine* m : machines_) {
                             const DiskFaultRates& r = m->disk().fault_rates();
                             saw_effect |= r.sync_error + r.write_io_error +
                                               r.write_no_space + r.read_bit_flip +
                                               r.misdirected_write > 0;
                           }
                           saw_effect |= event.description.find(" rot ") !=
                                         std::string::npos;
                           break;
                       }
                     }});
    nemesis.Start();
    world_.RunFor(Seconds(20));
    EXPECT_GT(nemesis.counts().at(fault), 2u) << FaultName(fault);
    EXPECT_TRUE(saw_effect) << FaultName(fault);
    nemesis.StopAndHeal();
    EXPECT_TRUE(AllHealed()) << FaultName(fault);
    world_.RunFor(Seconds(10));
    EXPECT_TRUE(AllHealed()) << FaultName(fault) << ": nothing runs after the stop";
  }
}

TEST_F(NemesisTest, NoMoreThanMaxDownMachinesAreHeldDown) {
  AddMachines(5);
  int most_down = 0;
  Nemesis nemesis(world_, machines_,
                  {.faults = FaultSet::Of({Fault::kKill, Fault::kCrash, Fault::kPause}),
                   .quiet_min = Milliseconds(10),
                   .quiet_max = Milliseconds(100),
                   .max_down = 2,
                   .on_event = [&](const NemesisEvent&) {
                     most_down = std::max(most_down, Down());
                   }});
  nemesis.Start();
  world_.RunFor(Seconds(60));
  EXPECT_EQ(most_down, 2);
  EXPECT_GT(nemesis.faults_injected(), 50u);
}

// A schedule drawn up front (Nemesis::Schedule) is executed step by step:
// each begins at its time; a process fault on a machine already down, or
// beyond max_down, is skipped; StopAndHeal undoes what is in force.
TEST_F(NemesisTest, APlannedScheduleRunsEachStepAtItsTime) {
  AddMachines(3);
  const NemesisOptions options{.faults = FaultSet::All(), .max_down = 1};
  const std::vector<FaultStep> drawn = Nemesis::Schedule(options, 3, 77, Seconds(30));
  EXPECT_GT(drawn.size(), 10u);
  EXPECT_EQ(drawn, Nemesis::Schedule(options, 3, 77, Seconds(30)));
  for (const FaultStep& step : drawn) EXPECT_LT(step.at, Seconds(30));
  // Two kills of one machine at once: the second is skipped.
  std::vector<FaultStep> steps = {
      {.at = Seconds(1), .fault = Fault::kKill, .targets = {1}, .lasts = Seconds(5)},
      {.at = Seconds(2), .fault = Fault::kPause, .targets = {1}, .lasts = Seconds(1)},
      {.at = Seconds(3), .fault = Fault::kCrash, .targets = {2}, .lasts = Seconds(1)},
      {.at = Seconds(4), .fault = Fault::kPartition, .targets = {0}, .lasts = Seconds(10)},
  };
  std::vector<std::string> begun;
  Nemesis nemesis(world_, machines_,
                  {.faults = FaultSet::All(),
                   .max_down = 1,
                   .on_event = [&](const NemesisEvent& event) {
                     if (event.begin) {
                       begun.push_back(StrCat(ToNanoseconds(event.at) / 1'000'000'000, " ",
                                              event.description));
                     }
                   }});
  nemesis.StartPlanned(steps);
  world_.RunFor(Milliseconds(1500));
  EXPECT_FALSE(machines_[1]->running());
  world_.RunFor(Seconds(3));
  EXPECT_EQ(begun, (std::vector<std::string>{"1 kill n2", "4 partition [ n1 ] | [ n2 n3 ]"}));
  EXPECT_GT(world_.net().cut_count(), 0u);
  nemesis.StopAndHeal();
  EXPECT_TRUE(AllHealed());
}

std::vector<std::string> Schedule(uint64_t seed) {
  SimWorld world({.seed = seed});
  std::vector<SimMachine*> machines;
  for (int i = 0; i < 3; i++) {
    SimMachine& m = world.AddMachine(
        {.name = StrCat("n", i + 1), .boot = [](Env& env) -> Task<void> {
           co_await env.clock().Sleep(Seconds(1'000'000));
         }});
    m.Start();
    machines.push_back(&m);
  }
  std::vector<std::string> events;
  Nemesis nemesis(world, machines,
                  {.on_event = [&](const NemesisEvent& event) {
                     events.push_back(StrCat(ToNanoseconds(event.at), " ",
                                             event.description));
                   }});
  nemesis.Start();
  world.RunFor(Seconds(30));
  return events;
}

TEST(NemesisScheduleTest, TheScheduleIsAFunctionOfTheSeed) {
  const std::vector<std::string> one = Schedule(11);
  EXPECT_GT(one.size(), 10u);
  EXPECT_EQ(one, Schedule(11));
  EXPECT_NE(one, Schedule(12));
}

}  // namespace
}  // namespace keel::sim
