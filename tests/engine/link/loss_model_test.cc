// Tests for the loss models: random loss rate, Gilbert-Elliott bursts and
// stationary loss rate, against their closed forms.
#include "engine/link/loss_model.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

LossSpec Random(double p) {
  LossSpec s;
  s.model = LossSpec::Model::kRandom;
  s.p = p;
  return s;
}

LossSpec Gilbert(double p, double r, double h = 0, double k = 1) {
  LossSpec s;
  s.model = LossSpec::Model::kGilbertElliott;
  s.p = p;
  s.r = r;
  s.h = h;
  s.k = k;
  return s;
}

struct LossRun {
  double loss_rate = 0;
  double mean_burst = 0;  // consecutive losses
};

LossRun Simulate(LossModel& m, Rng& rng, int packets) {
  int lost = 0, bursts = 0;
  bool in_burst = false;
  for (int i = 0; i < packets; ++i) {
    const bool drop = m.Drop(rng);
    lost += drop;
    if (drop && !in_burst) ++bursts;
    in_burst = drop;
  }
  return {static_cast<double>(lost) / packets,
          bursts ? static_cast<double>(lost) / bursts : 0};
}

TEST(LossModelTest, NoneNeverDropsAndDrawsNothing) {
  LossModel m;
  Rng rng(1), reference(1);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(m.Drop(rng));
  EXPECT_EQ(rng.Next(), reference.Next());
}

TEST(LossModelTest, RandomZeroAndOneAreExactAndDrawNothing) {
  Rng rng(2), reference(2);
  LossModel never(Random(0)), always(Random(1));
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(never.Drop(rng));
    EXPECT_TRUE(always.Drop(rng));
  }
  EXPECT_EQ(rng.Next(), reference.Next());
}

TEST(LossModelTest, RandomLossRateWithinTolerance) {
  for (double p : {0.01, 0.1, 0.5}) {
    LossModel m(Random(p));
    Rng rng(42);
    const int n = 100'000;
    const LossRun run = Simulate(m, rng, n);
    // Five standard deviations of a binomial proportion.
    const double tolerance = 5 * std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(run.loss_rate, p, tolerance) << "p=" << p;
    // Independent losses: bursts have mean length 1/(1-p).
    EXPECT_NEAR(run.mean_burst, 1 / (1 - p), 0.05 * (1 / (1 - p)));
  }
}

TEST(LossModelTest, GilbertProducesBurstsOfMeanLengthOneOverR) {
  const double p = 0.01, r = 0.25;
  LossModel m(Gilbert(p, r));
  Rng rng(7);
  const LossRun run = Simulate(m, rng, 1'000'000);
  EXPECT_NEAR(run.mean_burst, 1 / r, 0.15);
  EXPECT_NEAR(run.loss_rate, p / (p + r), 0.004);

  // The same average loss, independent: bursts are far shorter.
  LossModel independent(Random(p / (p + r)));
  Rng rng2(7);
  EXPECT_LT(Simulate(independent, rng2, 1'000'000).mean_burst, 1.1);
}

TEST(LossModelTest, GilbertElliottLossRateMatchesClosedForm) {
  const double p = 0.05, r = 0.3, h = 0.2, k = 0.98;
  LossModel m(Gilbert(p, r, h, k));
  Rng rng(11);
  const LossRun run = Simulate(m, rng, 1'000'000);
  const double expected = p / (p + r) * (1 - h) + r / (p + r) * (1 - k);
  EXPECT_NEAR(run.loss_rate, expected, 0.005);
}

TEST(LossModelTest, GilbertStateStepsOncePerPacket) {
  // p = 1, r = 1: the chain alternates good -> bad -> good; the state is
  // changed before the loss decision, so every other packet is lost,
  // starting with the first.
  LossModel m(Gilbert(1, 1));
  Rng rng(3);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(m.Drop(rng), i % 2 == 0) << i;
  }
}

TEST(LossModelTest, ConfigureKeepsGilbertStateOnlyWithinGilbert) {
  LossModel m(Gilbert(1, 0));  // enters bad and stays there
  Rng rng(5);
  EXPECT_TRUE(m.Drop(rng));
  EXPECT_EQ(m.state(), LossModel::State::kBad);
  m.Configure(Gilbert(0, 0.5));
  EXPECT_EQ(m.state(), LossModel::State::kBad);
  m.Configure(Random(0));
  EXPECT_EQ(m.state(), LossModel::State::kGood);
}

TEST(LossModelTest, SameSeedSameDrops) {
  LossModel a(Gilbert(0.02, 0.3, 0.1, 0.99)), b(Gilbert(0.02, 0.3, 0.1, 0.99));
  Rng ra(99), rb(99);
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(a.Drop(ra), b.Drop(rb)) << i;
}

}  // namespace
}  // namespace tcpemu
