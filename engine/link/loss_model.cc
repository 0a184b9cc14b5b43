// Loss models; see loss_model.h.
#include "engine/link/loss_model.h"

namespace tcpemu {

void LossModel::Configure(const LossSpec& spec) {
  if (spec.model != LossSpec::Model::kGilbertElliott ||
      spec_.model != LossSpec::Model::kGilbertElliott) {
    state_ = State::kGood;
  }
  spec_ = spec;
}

bool LossModel::Drop(Rng& rng) {
  switch (spec_.model) {
    case LossSpec::Model::kNone:
      return false;
    case LossSpec::Model::kRandom:
      return rng.Bernoulli(spec_.p);
    case LossSpec::Model::kGilbertElliott:
      if (state_ == State::kGood) {
        if (rng.Bernoulli(spec_.p)) state_ = State::kBad;
      } else {
        if (rng.Bernoulli(spec_.r)) state_ = State::kGood;
      }
      return rng.Bernoulli(state_ == State::kGood ? 1 - spec_.k : 1 - spec_.h);
  }
  return false;
}

}  // namespace tcpemu
