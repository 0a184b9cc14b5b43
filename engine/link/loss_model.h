// Packet loss models of an emulated path: independent (Bernoulli) loss and
// the Gilbert-Elliott two-state Markov chain, with netem's `loss random` and
// `loss gemodel p r 1-h 1-k` semantics (tc-netem(8); Hasslinger & Hohlfeld,
// "The Gilbert-Elliott Model for Packet Loss in Real Time Services").
#pragma once

#include "engine/base/rng.h"
#include "engine/link/path_spec.h"

namespace tcpemu {

class LossModel {
 public:
  enum class State { kGood, kBad };

  LossModel() = default;
  explicit LossModel(const LossSpec& spec) : spec_(spec) {}

  // Takes new parameters. The Gilbert-Elliott state is kept when the model
  // stays Gilbert-Elliott (so a live update does not end a burst early) and
  // reset to good otherwise.
  void Configure(const LossSpec& spec);

  // Decides the fate of one packet. Gilbert-Elliott steps the chain once per
  // call and then applies the loss probability of the new state, as netem
  // does; so a bad-state sojourn, and with h = 0 a loss burst, lasts 1/r
  // packets on average, and the long-run loss rate is
  // p/(p+r)*(1-h) + r/(p+r)*(1-k). Draws nothing for kNone, and nothing for a
  // probability of exactly 0 or 1.
  bool Drop(Rng& rng);

  State state() const { return state_; }
  const LossSpec& spec() const { return spec_; }

 private:
  LossSpec spec_;
  State state_ = State::kGood;
};

}  // namespace tcpemu
