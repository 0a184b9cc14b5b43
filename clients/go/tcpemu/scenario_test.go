package tcpemu_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
)

const shortScenario = `version: 1
name: go-test
seed: 1
duration: 2s
links:
  - name: l
    both: {delay: 10ms}
    forward: {rate: 2mbit, queue_packets: 20, loss: 1%}
sessions:
  - name: a
    link: l
    tcp: {cc: newreno}
    workload: {kind: bulk}
`

func TestRunScenarioAppliesSeedAndOverrides(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last time.Duration
	got, err := c.RunScenario(ctx, shortScenario,
		tcpemu.WithScenarioSeed(7),
		tcpemu.WithOverrides("sessions[0].tcp.cc=cubic"),
		tcpemu.WithScenarioProgress(func(v, d time.Duration) { last = d }))
	if err != nil {
		t.Fatalf("RunScenario: %v", err)
	}
	var s struct {
		Format   string `json:"format"`
		Scenario struct {
			Seed      uint64   `json:"seed"`
			Overrides []string `json:"overrides"`
		} `json:"scenario"`
		Flows []struct {
			CC         string  `json:"cc"`
			GoodputBps float64 `json:"goodput_bps"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatalf("summary is not JSON: %v", err)
	}
	if s.Format != "tcpemu-scenario-summary/1" || s.Scenario.Seed != 7 ||
		len(s.Scenario.Overrides) != 2 || s.Scenario.Overrides[0] != "sessions[0].tcp.cc=cubic" || len(s.Flows) != 1 || s.Flows[0].CC != "cubic" ||
		s.Flows[0].GoodputBps <= 0 {
		t.Errorf("unexpected summary: %+v", s)
	}
	if last != 2*time.Second {
		t.Errorf("progress duration = %v, want 2s", last)
	}
	again, err := c.RunScenario(ctx, shortScenario, tcpemu.WithScenarioSeed(7),
		tcpemu.WithOverrides("sessions[0].tcp.cc=cubic"))
	if err != nil {
		t.Fatalf("RunScenario again: %v", err)
	}
	if string(again) != string(got) {
		t.Error("the same scenario, seed and overrides gave different summaries")
	}
}

func TestRunScenarioBadOverrideIsInvalidArgument(t *testing.T) {
	c := dial(t)
	_, err := c.RunScenario(context.Background(), shortScenario,
		tcpemu.WithOverrides("sessions[0].tcp.cc=nosuchcc"))
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
}
