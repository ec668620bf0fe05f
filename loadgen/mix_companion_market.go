package loadgen

// /market sellcompanion joins the default mix as a rare write: most load
// users own no companion, so it mostly takes the refusal path (the
// companion lookup and the listed-companion check) that players hit too.
func init() {
	DefaultMix = append(DefaultMix, Step{Name: "market sellcompanion", Weight: 1, Writes: true, Command: "market",
		Subcommand: "sellcompanion", Options: map[string]any{"companion": "#1", "price": 1000}})
}
