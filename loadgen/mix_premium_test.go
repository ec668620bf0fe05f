package loadgen

import "testing"

func TestDefaultMixHasPremium(t *testing.T) {
	for _, s := range DefaultMix {
		if s.Command == "premium" && !s.Writes && s.Weight > 0 {
			return
		}
	}
	t.Fatal("/premium is not in the default mix")
}
