package main

import (
	"fmt"
	"io"
	"sort"
)

// metric is one figure measured for each target in every repetition.
type metric struct {
	key    string
	title  string
	unit   string
	format string // of one value
	// values[target name] holds one value per repetition that measured it;
	// reps[target name] the repetition of each.
	values map[string][]float64
	reps   map[string][]int
}

// results holds the metrics in the order they were first recorded.
type results struct {
	order   []string
	metrics map[string]*metric
	// failures[key][target name]: what went wrong, one line per failed run.
	failures map[string]map[string][]string
}

func newResults() *results {
	return &results{metrics: map[string]*metric{}, failures: map[string]map[string][]string{}}
}

// fail records that a measurement of key for targetName failed in run rep.
func (r *results) fail(key, targetName string, rep int, err error) {
	if r.failures[key] == nil {
		r.failures[key] = map[string][]string{}
	}
	r.failures[key][targetName] = append(r.failures[key][targetName],
		fmt.Sprintf("run %d: %v", rep+1, err))
}

// define declares a metric before any value is added.
func (r *results) define(key, title, unit, format string) {
	r.order = append(r.order, key)
	r.metrics[key] = &metric{key: key, title: title, unit: unit, format: format,
		values: map[string][]float64{}, reps: map[string][]int{}}
}

// add records the value of key for targetName in run rep.
func (r *results) add(key, targetName string, rep int, v float64) {
	m := r.metrics[key]
	m.values[targetName] = append(m.values[targetName], v)
	m.reps[targetName] = append(m.reps[targetName], rep)
}

// median of the values of key for targetName; ok is false without values.
func (r *results) median(key, targetName string) (float64, bool) {
	m, ok := r.metrics[key]
	if !ok || len(m.values[targetName]) == 0 {
		return 0, false
	}
	return median(m.values[targetName]), true
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// write prints every metric: per target the median of the repetitions and
// every repetition's value, then tcpemu's ratios to toxiproxy.
func (r *results) write(w io.Writer, targets []string) {
	for _, key := range r.order {
		m := r.metrics[key]
		fmt.Fprintf(w, "\n%s [%s]\n", m.title, m.unit)
		for _, t := range targets {
			vs := m.values[t]
			if len(vs) == 0 {
				continue
			}
			fmt.Fprintf(w, "  %-11s median "+m.format+"   runs:", t, median(vs))
			for _, v := range vs {
				fmt.Fprintf(w, " "+m.format, v)
			}
			fmt.Fprintln(w)
		}
		for _, t := range targets {
			for _, f := range r.failures[key][t] {
				fmt.Fprintf(w, "  %-11s FAILED %s\n", t, f)
			}
		}
		tox, ok := r.median(key, nameToxiproxy)
		if !ok || tox == 0 {
			continue
		}
		for _, t := range []string{nameTcpemu, nameTcpemuBig, nameJumbo} {
			if v, ok := r.median(key, t); ok {
				fmt.Fprintf(w, "  ratio %s/toxiproxy: %.2f\n", t, v/tox)
			}
		}
	}
}

// goal is one of the benchmark's targets for tcpemu against toxiproxy.
type goal struct {
	text string
	// met compares tcpemu's median with toxiproxy's; margin says by how much
	// it is met (positive) or missed (negative), in the metric's unit.
	check func(tcpemu, toxiproxy float64) (met bool, margin float64)
	key   string
}

func writeGoals(w io.Writer, r *results, goals []goal) {
	fmt.Fprintln(w, "\nGoals (medians):")
	for _, g := range goals {
		tox, ok := r.median(g.key, nameToxiproxy)
		if !ok {
			continue
		}
		for _, t := range []string{nameTcpemu, nameTcpemuBig, nameJumbo} {
			v, ok := r.median(g.key, t)
			if !ok {
				fmt.Fprintf(w, "  %-6s %-11s %s: %s not measured\n", "FAILED", t, g.text, g.key)
				continue
			}
			met, margin := g.check(v, tox)
			verdict := "MET"
			if !met {
				verdict = "MISSED"
			}
			fmt.Fprintf(w, "  %-6s %-11s %s: %s %.1f vs toxiproxy %.1f (margin %+.1f %s)\n",
				verdict, t, g.text, g.key, v, tox, margin, r.metrics[g.key].unit)
		}
	}
}
