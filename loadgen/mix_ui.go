package loadgen

// The interface commands of issue 22 join the default mix: players check
// their timers between shifts (a public reply, so the report counts it as
// answered). Button presses and menus are not in the mix: the load
// generator sends slash commands only.
func init() {
	DefaultMix = append(DefaultMix, Step{Name: "cooldowns", Weight: 3, Command: "cooldowns"})
}
