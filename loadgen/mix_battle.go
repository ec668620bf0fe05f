package loadgen

// /battle and /companion train join the default mix as rare writes. Load
// users own no companion (a capsule costs more than they earn), so both
// mostly take the refusal path players without one hit too: the account
// and companion lookups and the private reply. The battle's buttons are
// not in the mix: the load generator sends slash commands only
// (bench/battles measures the battles' moves and settlements).
func init() {
	DefaultMix = append(DefaultMix,
		Step{Name: "battle", Weight: 1, Writes: true, Command: "battle", Options: map[string]any{"user": "$other", "wager": "100"}},
		Step{Name: "companion train", Weight: 1, Writes: true, Command: "companion", Subcommand: "train",
			Options: map[string]any{"companion": "#1"}},
	)
}
