package loadgen

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func latencyOf(ds []time.Duration) Latency {
	f := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		P50: f(percentile(ds, 0.50)), P95: f(percentile(ds, 0.95)),
		P99: f(percentile(ds, 0.99)), Max: f(percentile(ds, 1)),
	}
}

// CommandReport is one step of the mix.
type CommandReport struct {
	Name         string         `json:"name"`
	Writes       bool           `json:"writes"`
	Interactions int            `json:"interactions"`
	Outcomes     map[string]int `json:"outcomes"`
	LatencyMS    Latency        `json:"latency_ms"`
}

// NodeReport is one node's resources: RSS at the end of the run, CPU
// seconds spent during it.
type NodeReport struct {
	ID         string  `json:"id"`
	RSSBytes   int64   `json:"rss_bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Report is a run's outcome; its JSON form is for operators' scripts.
type Report struct {
	Machine      string  `json:"machine"`
	Rate         float64 `json:"rate"`          // asked for, per second
	AchievedRate float64 `json:"achieved_rate"` // sent, per second
	DurationS    float64 `json:"duration_s"`
	WriteShare   float64 `json:"write_share"`
	// Interactions counts every interaction sent; each has one outcome.
	Interactions int            `json:"interactions"`
	Outcomes     map[string]int `json:"outcomes"`
	// Errors counts outcomes that are not an answer: errors, no response
	// in time, and interactions discordsim refused to create.
	Errors       int `json:"errors"`
	PastDeadline int `json:"past_deadline"`
	// LatencyMS is over every answered interaction, from the dispatch of
	// INTERACTION_CREATE to discordsim's receipt of the first response.
	LatencyMS                Latency         `json:"latency_ms"`
	Commands                 []CommandReport `json:"commands"`
	Nodes                    []NodeReport    `json:"nodes"`
	InvokeErrors             map[string]int  `json:"invoke_errors,omitempty"`
	PostgresTxPerInteraction *float64        `json:"postgres_tx_per_interaction,omitempty"`
	RedisCmdsPerInteraction  *float64        `json:"redis_commands_per_interaction,omitempty"`
	// Ramp lists the steps of a ramp run, lowest rate first.
	Ramp []RampStep `json:"ramp,omitempty"`
}

// report turns the samples into a Report.
func (c *collector) report(cfg Config, sendTime time.Duration) *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	rep := &Report{
		Machine: machine(), Rate: cfg.Rate, DurationS: sendTime.Seconds(),
		WriteShare: WriteShare(c.mix), Interactions: c.nSent, Outcomes: map[string]int{},
		InvokeErrors: c.invokeErr,
	}
	if s := sendTime.Seconds(); s > 0 {
		rep.AchievedRate = float64(c.nSent) / s
	}
	cmds := make([]CommandReport, len(c.mix))
	lat := make([][]time.Duration, len(c.mix))
	var all []time.Duration
	for i, s := range c.mix {
		cmds[i] = CommandReport{Name: s.Name, Writes: s.Writes, Outcomes: map[string]int{}}
	}
	for _, s := range c.samples {
		rep.Outcomes[s.kind]++
		cmds[s.step].Interactions++
		cmds[s.step].Outcomes[s.kind]++
		switch s.kind {
		case kindOK, kindRefused, kindRateLimited:
			lat[s.step] = append(lat[s.step], s.latency)
			all = append(all, s.latency)
		case kindNoResponse:
			rep.Errors++
			rep.PastDeadline++
		default:
			rep.Errors++
		}
	}
	for i := range cmds {
		cmds[i].LatencyMS = latencyOf(lat[i])
		if cmds[i].Interactions > 0 {
			rep.Commands = append(rep.Commands, cmds[i])
		}
	}
	rep.LatencyMS = latencyOf(all)
	return rep
}

// machine names the machine the run was measured on.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}

// Print writes the human table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	fmt.Fprintf(w, "rate: %.0f/s asked, %.1f/s sent over %.1fs; %d interactions (%.0f%% of the mix writes)\n",
		r.Rate, r.AchievedRate, r.DurationS, r.Interactions, 100*r.WriteShare)
	kinds := make([]string, 0, len(r.Outcomes))
	for k := range r.Outcomes {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Outcomes[k]))
	}
	fmt.Fprintf(w, "outcomes: %s; errors %d; past the 3 s deadline %d\n", strings.Join(parts, ", "), r.Errors, r.PastDeadline)
	fmt.Fprintf(w, "latency (dispatch to first response): p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		r.LatencyMS.P50, r.LatencyMS.P95, r.LatencyMS.P99, r.LatencyMS.Max)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "command\twrites\tcount\tp50 ms\tp95 ms\tp99 ms\tmax ms\tnot ok\t")
	for _, c := range r.Commands {
		notOK := c.Interactions - c.Outcomes[kindOK]
		fmt.Fprintf(tw, "%s\t%v\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", c.Name, c.Writes, c.Interactions,
			c.LatencyMS.P50, c.LatencyMS.P95, c.LatencyMS.P99, c.LatencyMS.Max, notOK)
	}
	tw.Flush()
	for _, n := range r.Nodes {
		fmt.Fprintf(w, "node %s: RSS %.1f MB, %.2f CPU seconds during the run\n", n.ID, float64(n.RSSBytes)/(1<<20), n.CPUSeconds)
	}
	if r.PostgresTxPerInteraction != nil {
		fmt.Fprintf(w, "PostgreSQL: %.2f transactions per interaction\n", *r.PostgresTxPerInteraction)
	}
	if r.RedisCmdsPerInteraction != nil {
		fmt.Fprintf(w, "Redis: %.2f commands per interaction\n", *r.RedisCmdsPerInteraction)
	}
	for msg, n := range r.InvokeErrors {
		fmt.Fprintf(w, "discordsim refused %d: %s\n", n, msg)
	}
	if len(r.Ramp) > 0 {
		fmt.Fprintln(w, "ramp:")
		for _, s := range r.Ramp {
			verdict := "ok"
			if !s.OK {
				verdict = "over"
			}
			fmt.Fprintf(w, "  %6.0f/s asked, %6.1f/s sent: p99 %.1f ms, errors %d: %s\n", s.Rate, s.AchievedRate, s.P99MS, s.Errors, verdict)
		}
	}
}
