package tcpemu

import (
	"context"
	"errors"
	"io"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
)

// ScenarioOption configures RunScenario.
type ScenarioOption func(*tcpemuv1.RunScenarioRequest, *scenarioConfig)

type scenarioConfig struct {
	progress func(virtual, duration time.Duration)
}

// WithOverrides applies "key.path=value" overrides, in order, before the
// file is read (tcpemu-sim --set; docs/experiments.md "Overrides (sweeps)").
func WithOverrides(set ...string) ScenarioOption {
	return func(r *tcpemuv1.RunScenarioRequest, _ *scenarioConfig) {
		r.Set = append(r.Set, set...)
	}
}

// WithScenarioSeed replaces the file's seed (WithSeed is the network option).
func WithScenarioSeed(seed uint64) ScenarioOption {
	return func(r *tcpemuv1.RunScenarioRequest, _ *scenarioConfig) {
		r.Seed = &seed
	}
}

// WithFiles sends the files the scenario names (a link's trace), by the name
// it uses: the daemon reads nothing from its own disk.
func WithFiles(files map[string]string) ScenarioOption {
	return func(r *tcpemuv1.RunScenarioRequest, _ *scenarioConfig) {
		if r.Files == nil {
			r.Files = make(map[string]string, len(files))
		}
		for k, v := range files {
			r.Files[k] = v
		}
	}
}

// WithScenarioProgress calls fn with the virtual time reached and the
// scenario's duration as the run advances.
func WithScenarioProgress(fn func(virtual, duration time.Duration)) ScenarioOption {
	return func(_ *tcpemuv1.RunScenarioRequest, c *scenarioConfig) {
		c.progress = fn
	}
}

// RunScenario runs a scenario file (its YAML text) on a virtual network of
// the daemon's own and returns its summary.json (docs/experiments.md), the
// same bytes tcpemu-sim --scenario writes for the same file, seed and
// overrides. The client's default timeout does not apply: a run takes as
// long as it takes unless ctx has a deadline. The daemon runs a bounded
// number of scenarios at once and answers RESOURCE_EXHAUSTED beyond it.
func (c *Client) RunScenario(ctx context.Context, scenarioYAML string, opts ...ScenarioOption) ([]byte, error) {
	req := &tcpemuv1.RunScenarioRequest{ScenarioYaml: scenarioYAML}
	var cfg scenarioConfig
	for _, o := range opts {
		o(req, &cfg)
	}
	stream, err := c.rpc.RunScenario(ctx, req)
	if err != nil {
		return nil, wrap(ctx, "RunScenario", err)
	}
	var summary string
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrap(ctx, "RunScenario", err)
		}
		if msg.GetSummaryJson() != "" {
			summary = msg.GetSummaryJson()
		} else if cfg.progress != nil {
			cfg.progress(msg.GetVirtualTime().AsDuration(), msg.GetDuration().AsDuration())
		}
	}
	if summary == "" {
		return nil, errors.New("tcpemu: RunScenario: the stream ended without a summary")
	}
	return []byte(summary), nil
}
