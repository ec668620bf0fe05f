package loadgen

// init adds the seasonal events' steps (commands/event.go) to the default
// mix, in a file of their own: players look at the running event more
// often than they shop in it. Outside an event /event buy is refused,
// which the report counts as such.
func init() {
	DefaultMix = append(DefaultMix,
		Step{Name: "event now", Weight: 3, Command: "event", Subcommand: "now"},
		Step{Name: "event buy", Weight: 1, Writes: true, Command: "event", Subcommand: "buy",
			Options: map[string]any{"item": "coffee", "quantity": 1}},
	)
}
