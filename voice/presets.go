package voice

import (
	"sort"
	"strings"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// presets are the named filters of /filter.
var presets = map[string]lavalink.Filters{
	"off": {},
	"bassboost": {Equalizer: []lavalink.EqualizerBand{
		{Band: 0, Gain: 0.25}, {Band: 1, Gain: 0.2}, {Band: 2, Gain: 0.15}, {Band: 3, Gain: 0.1}, {Band: 4, Gain: 0.05}, {Band: 5, Gain: -0.05},
	}},
	"nightcore": {Timescale: &lavalink.Timescale{Speed: 1.2, Pitch: 1.2, Rate: 1}},
	"8d":        {Rotation: &lavalink.Rotation{RotationHz: 0.2}},
}

// FilterNames lists the preset names accepted by Preset, sorted.
func FilterNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the named filter preset (bassboost, nightcore, 8d, off).
func Preset(name string) (lavalink.Filters, error) {
	f, ok := presets[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return lavalink.Filters{}, ErrBadArgument.Withf("There is no filter %q; choose %s.", name, strings.Join(FilterNames(), ", "))
	}
	return f, nil
}
