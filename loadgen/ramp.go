package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// RampStep is one rate of a ramp.
type RampStep struct {
	Rate         float64 `json:"rate"`
	AchievedRate float64 `json:"achieved_rate"`
	P99MS        float64 `json:"p99_ms"`
	Errors       int     `json:"errors"`
	OK           bool    `json:"ok"`
}

// RampTarget is what a rate must meet to pass a ramp: p99 at most this
// many milliseconds, no interaction past the deadline, errors under 1%,
// and the generator able to send at 95% of the rate.
const RampTarget = 250.0

// Ramp runs cfg at rising rates, from cfg.Rate up by half each step, until
// a step misses RampTarget or limit is passed, and returns the report of the
// highest rate that passed with every step in Ramp. It fails when even the
// first step misses.
func Ramp(ctx context.Context, t Target, cfg Config, limit float64, log io.Writer) (*Report, error) {
	var best *Report
	var steps []RampStep
	for rate := cfg.Rate; rate <= limit && ctx.Err() == nil; rate *= 1.5 {
		c := cfg
		c.Rate = rate
		rep, err := Run(ctx, t, c)
		if err != nil {
			return nil, err
		}
		s := RampStep{Rate: rate, AchievedRate: rep.AchievedRate, P99MS: rep.LatencyMS.P99, Errors: rep.Errors}
		s.OK = s.P99MS <= RampTarget && rep.PastDeadline == 0 && float64(rep.Errors) < 0.01*float64(rep.Interactions) &&
			rep.AchievedRate >= 0.95*rate
		steps = append(steps, s)
		if log != nil {
			fmt.Fprintf(log, "ramp: %.0f/s asked, %.1f/s sent, p99 %.1f ms, %d errors, %d past the deadline\n",
				rate, rep.AchievedRate, s.P99MS, rep.Errors, rep.PastDeadline)
		}
		if !s.OK {
			break
		}
		best = rep
	}
	if best == nil {
		return nil, errors.New("loadgen: the first rate of the ramp already missed the target; start lower")
	}
	best.Ramp = steps
	return best, nil
}
