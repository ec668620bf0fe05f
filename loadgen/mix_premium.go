package loadgen

// /premium joins the default mix as a read: players look at their status
// and perks now and then (the entitlements of every interaction are
// recorded whatever the command).
func init() {
	DefaultMix = append(DefaultMix, Step{Name: "premium", Weight: 2, Command: "premium"})
}
